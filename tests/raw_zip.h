// Zip archives written byte by byte, for packages libzip would not make: a
// zip bomb, entries whose declared size is a lie, names with ../ or an
// absolute path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hyperdefrag::testing {

struct RawEntry {
  std::string name;
  int method = 0;          // 0 stored, 8 deflated
  std::string data;        // as stored in the archive (compressed for method 8)
  std::uint32_t crc = 0;   // CRC-32 of the uncompressed content
  std::uint64_t size = 0;  // the declared uncompressed size (below 4 GiB)
};

// An entry holding `content`, deflated; its size and CRC are the true ones.
RawEntry deflated_entry(const std::string& name, const std::string& content);
// An entry holding `content`, stored.
RawEntry stored_entry(const std::string& name, const std::string& content);
// An entry of `blocks` times 64 MiB of zeros, deflated (about 64 KiB per
// block), with its true size and CRC: a zip bomb made in well under a second.
RawEntry zeros_entry(const std::string& name, int blocks);

// Writes a zip archive (local headers, data, central directory) with the
// entries as given, sizes and CRCs included, whether true or not.
void write_raw_zip(const std::filesystem::path& path, const std::vector<RawEntry>& entries);

}  // namespace hyperdefrag::testing
