#include "util/text.h"

namespace hyperdefrag {

std::string with_commas(std::uintmax_t number) {
  std::string digits = std::to_string(number);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

std::string count_of(std::uintmax_t number, std::string_view one, std::string_view many) {
  return with_commas(number) + " " + std::string(number == 1 ? one : many);
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace hyperdefrag
