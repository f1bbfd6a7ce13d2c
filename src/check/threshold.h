// A saving threshold as a person writes it: a share of the file ("10%",
// "2.5%") or an amount of bytes ("64MiB", "1.5 GB", "4096"). Used by check
// and by defrag's --min-gain to decide whether compacting a file is worth it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hyperdefrag::check {

struct Threshold {
  enum class Kind { percent, bytes };
  Kind kind = Kind::percent;
  double value = 0;  // percent of the input's size (0..100), or bytes
};

// Reads "10%", "0.5%", "64MiB", "64 MiB", "100MB", "2g", "4096" (bytes).
// Units: B; k/K, KB, KiB; M, MB, MiB; G, GB, GiB; T, TB, TiB, any case. KB,
// MB, ... are decimal (1000^n), KiB, MiB, ... and the one-letter forms are
// binary (1024^n). Throws hyperdefrag::Error (usage) naming the text and the
// expected form for anything else, a negative number, or a percent above 100.
Threshold parse_threshold(std::string_view text);

// Whether saving `saved_bytes` of an input of `input_size` bytes reaches the
// threshold (a saving equal to the threshold reaches it).
bool reaches(const Threshold& threshold, double saved_bytes, std::uintmax_t input_size);

// "10%", "64.0 MiB": for messages.
std::string describe(const Threshold& threshold);

}  // namespace hyperdefrag::check
