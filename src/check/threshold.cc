#include "check/threshold.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/files.h"

namespace hyperdefrag::check {
namespace {

[[noreturn]] void bad(std::string_view text) {
  throw Error(ExitCode::usage,
              fmt::format("'{}' is not a saving threshold: expected a percent (10%) or a size "
                          "(64MiB, 100MB, 4096)",
                          text));
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// The factor of a unit, lower-cased; 0 for an unknown unit.
double unit_factor(const std::string& unit) {
  static const std::vector<std::pair<std::string, double>> units = {
      {"", 1.0},
      {"b", 1.0},
      {"k", 1024.0},
      {"kib", 1024.0},
      {"kb", 1e3},
      {"m", 1024.0 * 1024},
      {"mib", 1024.0 * 1024},
      {"mb", 1e6},
      {"g", 1024.0 * 1024 * 1024},
      {"gib", 1024.0 * 1024 * 1024},
      {"gb", 1e9},
      {"t", 1024.0 * 1024 * 1024 * 1024},
      {"tib", 1024.0 * 1024 * 1024 * 1024},
      {"tb", 1e12},
  };
  for (const auto& [name, factor] : units) {
    if (name == unit) return factor;
  }
  return 0;
}

}  // namespace

Threshold parse_threshold(std::string_view text) {
  const auto trimmed = trim(text);
  std::size_t digits = 0;
  while (digits < trimmed.size() &&
         (std::isdigit(static_cast<unsigned char>(trimmed[digits])) || trimmed[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) bad(text);
  double number = 0;
  const auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + digits, number);
  if (error != std::errc() || end != trimmed.data() + digits || !std::isfinite(number)) bad(text);
  auto unit = trim(std::string_view(trimmed).substr(digits));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (unit == "%") {
    if (number > 100) bad(text);
    return {Threshold::Kind::percent, number};
  }
  const double factor = unit_factor(unit);
  if (factor == 0) bad(text);
  return {Threshold::Kind::bytes, std::round(number * factor)};
}

bool reaches(const Threshold& threshold, double saved_bytes, std::uintmax_t input_size) {
  if (threshold.kind == Threshold::Kind::bytes) return saved_bytes >= threshold.value;
  if (input_size == 0) return threshold.value <= 0;
  return saved_bytes * 100.0 / static_cast<double>(input_size) >= threshold.value;
}

std::string describe(const Threshold& threshold) {
  if (threshold.kind == Threshold::Kind::percent) return fmt::format("{:g}%", threshold.value);
  return human_size(static_cast<std::uintmax_t>(threshold.value));
}

}  // namespace hyperdefrag::check
