#include "sql/quote.h"

#include <stdexcept>

namespace hyperdefrag::sql {
namespace {

std::string quote_with(std::string_view text, char quote) {
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("a name or text holds a NUL byte");
  }
  std::string out;
  out.reserve(text.size() + 2);
  out += quote;
  for (char c : text) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}

}  // namespace

std::string quote_identifier(std::string_view name) { return quote_with(name, '"'); }

std::string quote_literal(std::string_view text) { return quote_with(text, '\''); }

std::string quote_qualified(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += '.';
    out += quote_identifier(part);
  }
  return out;
}

}  // namespace hyperdefrag::sql
