// Text for people: numbers with thousands separators, and one-line messages.
#pragma once

#include <cstdint>
#include <string>

namespace hyperdefrag {

// "1,234,567"
std::string with_commas(std::uintmax_t number);

// Replaces line breaks and other control characters by spaces: errors from
// the engine can span lines, a report line never does.
std::string one_line(std::string text);

}  // namespace hyperdefrag
