// A deterministic corruptor of files, for the corruption campaign
// (tests/corruption_test.cc): the same file, kind and seed always give the
// same damaged bytes, on every machine (its generator is SplitMix64, its
// arithmetic integer only).
#pragma once

#include <cstdint>
#include <string>

namespace hyperdefrag::testing {

// The kinds of damage, all on the 4 KiB pages a .hyper file is made of.
enum class Damage {
  bit_flips,     // 1 to 8 single bits flipped anywhere in the file
  zero_block,    // one aligned 4 KiB block set to zero bytes
  random_block,  // one aligned 4 KiB block overwritten with random bytes
  copied_block,  // one aligned 4 KiB block copied over another
  truncation,    // the file cut short, at a block boundary or anywhere
};
inline constexpr int kDamageKinds = 5;

const char* damage_name(Damage damage);

// SplitMix64: small, fast, and the same sequence everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // A number in [0, bound); bound > 0.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

struct Corrupted {
  std::string bytes;        // the damaged file
  std::string description;  // what was done, e.g. "zeroed block 5 (bytes 20480..24575)"
};

// Damages `bytes` (at least 2 bytes long) with `damage`, as `seed` decides.
// The result always differs from `bytes`.
Corrupted corrupt(const std::string& bytes, Damage damage, std::uint64_t seed);

}  // namespace hyperdefrag::testing
