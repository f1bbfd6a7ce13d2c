#include "raw_zip.h"

#include <zlib.h>

#include <fstream>
#include <stdexcept>

namespace hyperdefrag::testing {
namespace {

void put16(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
}
void put32(std::string& out, std::uint32_t value) {
  put16(out, value & 0xffff);
  put16(out, value >> 16);
}

// Raw deflate of `input` with `flush`, continuing `stream`.
std::string deflate_more(z_stream& stream, const std::string& input, int flush) {
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  char buffer[1 << 16];
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    if (deflate(&stream, flush) == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out.append(buffer, sizeof buffer - stream.avail_out);
  } while (stream.avail_out == 0);
  return out;
}

struct Deflater {
  z_stream stream{};
  Deflater() {
    if (deflateInit2(&stream, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  ~Deflater() { deflateEnd(&stream); }
};

std::uint32_t crc_of(const std::string& content) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
}

}  // namespace

RawEntry deflated_entry(const std::string& name, const std::string& content) {
  Deflater deflater;
  return {name, 8, deflate_more(deflater.stream, content, Z_FINISH), crc_of(content),
          content.size()};
}

RawEntry stored_entry(const std::string& name, const std::string& content) {
  return {name, 0, content, crc_of(content), content.size()};
}

RawEntry zeros_entry(const std::string& name, int blocks) {
  const std::string zeros(64u << 20, '\0');
  Deflater deflater;
  // A full flush ends the block byte-aligned and forgets the history, so the
  // same bytes may follow themselves: each copy inflates to the same zeros.
  const std::string block = deflate_more(deflater.stream, zeros, Z_FULL_FLUSH);
  const std::string end = deflate_more(deflater.stream, "", Z_FINISH);
  RawEntry entry{name, 8, {}, 0, 0};
  const uLong block_crc =
      crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), static_cast<uInt>(zeros.size()));
  uLong crc = 0;
  for (int i = 0; i < blocks; ++i) {
    entry.data += block;
    crc = crc32_combine(crc, block_crc, static_cast<z_off_t>(zeros.size()));
  }
  entry.data += end;
  entry.crc = static_cast<std::uint32_t>(crc);
  entry.size = static_cast<std::uint64_t>(blocks) * zeros.size();
  return entry;
}

void write_raw_zip(const std::filesystem::path& path, const std::vector<RawEntry>& entries) {
  std::string out;
  std::string central;
  for (const auto& entry : entries) {
    if (entry.size >= 0xffffffffull || entry.data.size() >= 0xffffffffull)
      throw std::runtime_error("write_raw_zip makes no zip64 entries");
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto name_size = static_cast<std::uint32_t>(entry.name.size());
    const auto compressed = static_cast<std::uint32_t>(entry.data.size());
    const auto size = static_cast<std::uint32_t>(entry.size);
    // Local file header.
    put32(out, 0x04034b50);
    put16(out, 20);            // version needed
    put16(out, 0);             // flags
    put16(out, entry.method);  // method
    put16(out, 0);             // time
    put16(out, 0x5021);        // date: 2020-01-01
    put32(out, entry.crc);
    put32(out, compressed);
    put32(out, size);
    put16(out, name_size);
    put16(out, 0);  // extra
    out += entry.name;
    out += entry.data;
    // Central directory header.
    put32(central, 0x02014b50);
    put16(central, 0x0314);  // made by: Unix, 2.0
    put16(central, 20);
    put16(central, 0);
    put16(central, entry.method);
    put16(central, 0);
    put16(central, 0x5021);
    put32(central, entry.crc);
    put32(central, compressed);
    put32(central, size);
    put16(central, name_size);
    put16(central, 0);               // extra
    put16(central, 0);               // comment
    put16(central, 0);               // disk
    put16(central, 0);               // internal attributes
    put32(central, 0100644u << 16);  // external: a regular file, rw-r--r--
    put32(central, offset);
    central += entry.name;
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);  // comment
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out;
  if (!file.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace hyperdefrag::testing
