// Text for people: numbers with thousands separators, and one-line messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hyperdefrag {

// "1,234,567"
std::string with_commas(std::uintmax_t number);

// A count and what it counts, singular for one: "1 table", "2 tables",
// "1,000 rows".
std::string count_of(std::uintmax_t number, std::string_view one, std::string_view many);

// Replaces line breaks and other control characters by spaces: errors from
// the engine can span lines, a report line never does.
std::string one_line(std::string text);

}  // namespace hyperdefrag
