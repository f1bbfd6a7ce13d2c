#include "corrupt.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace hyperdefrag::testing {
namespace {

constexpr std::size_t kBlock = 4096;

std::size_t block_count(const std::string& bytes) { return (bytes.size() + kBlock - 1) / kBlock; }

// The byte range of block `index`, the last one possibly short.
std::pair<std::size_t, std::size_t> block_range(const std::string& bytes, std::size_t index) {
  const std::size_t begin = index * kBlock;
  return {begin, std::min(bytes.size(), begin + kBlock)};
}

}  // namespace

const char* damage_name(Damage damage) {
  switch (damage) {
    case Damage::bit_flips:
      return "bit flips";
    case Damage::zero_block:
      return "zeroed block";
    case Damage::random_block:
      return "random block";
    case Damage::copied_block:
      return "copied block";
    case Damage::truncation:
      return "truncation";
  }
  return "?";
}

std::uint64_t Random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Corrupted corrupt(const std::string& bytes, Damage damage, std::uint64_t seed) {
  if (bytes.size() < 2) throw std::invalid_argument("corrupt: the file is too short to damage");
  Random random(seed);
  Corrupted out{bytes, ""};
  const std::size_t blocks = block_count(bytes);
  switch (damage) {
    case Damage::bit_flips: {
      const int flips = 1 + static_cast<int>(random.below(8));
      std::vector<std::string> where;
      for (int i = 0; i < flips; ++i) {
        const std::size_t offset = random.below(bytes.size());
        const int bit = static_cast<int>(random.below(8));
        out.bytes[offset] = static_cast<char>(out.bytes[offset] ^ (1 << bit));
        where.push_back(fmt::format("{}.{}", offset, bit));
      }
      out.description = fmt::format("flipped {} bits (byte.bit): {}", flips, fmt::join(where, " "));
      break;
    }
    case Damage::zero_block:
    case Damage::random_block: {
      std::size_t block = random.below(blocks);
      auto [begin, end] = block_range(bytes, block);
      const bool zero = damage == Damage::zero_block;
      // A block that is zero already would stay unchanged: take the next one that is not.
      for (std::size_t tries = 0;
           zero && tries < blocks &&
           std::all_of(bytes.begin() + begin, bytes.begin() + end, [](char c) { return c == 0; });
           ++tries) {
        block = (block + 1) % blocks;
        std::tie(begin, end) = block_range(bytes, block);
      }
      for (std::size_t i = begin; i < end; ++i) {
        out.bytes[i] = zero ? '\0' : static_cast<char>(random.next() & 0xff);
      }
      out.description = fmt::format("{} block {} (bytes {}..{})", zero ? "zeroed" : "randomised",
                                    block, begin, end - 1);
      break;
    }
    case Damage::copied_block: {
      if (blocks < 2) return corrupt(bytes, Damage::bit_flips, seed);
      const std::size_t from = random.below(blocks - (bytes.size() % kBlock != 0 ? 1 : 0));
      std::size_t to = random.below(blocks - 1);
      if (to >= from) ++to;
      auto [to_begin, to_end] = block_range(bytes, to);
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(from * kBlock), to_end - to_begin,
                  out.bytes.begin() + static_cast<std::ptrdiff_t>(to_begin));
      out.description = fmt::format("copied block {} over block {}", from, to);
      if (out.bytes == bytes) out.bytes[to_begin] = static_cast<char>(out.bytes[to_begin] ^ 1);
      break;
    }
    case Damage::truncation: {
      std::size_t length = 0;
      if (blocks > 1 && random.below(2) == 0) {
        length = (1 + random.below(blocks - 1)) * kBlock;  // a block boundary
        if (length >= bytes.size()) length = bytes.size() - 1;
      } else {
        length = 1 + random.below(bytes.size() - 1);
      }
      out.bytes.resize(length);
      out.description = fmt::format("truncated to {} of {} bytes", length, bytes.size());
      break;
    }
  }
  return out;
}

}  // namespace hyperdefrag::testing
