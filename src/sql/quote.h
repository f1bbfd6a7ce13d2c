// Quoting for SQL text sent to Hyper. Every name that comes from a file
// (schema, table, column, database path) reaches SQL only through these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hyperdefrag::sql {

// "name" with every " doubled. Hyper also writes database paths this way
// (ATTACH DATABASE "/path/file.hyper"). Throws std::invalid_argument for a
// name holding a NUL byte, which no SQL text can carry.
std::string quote_identifier(std::string_view name);

// 'text' with every ' doubled (Hyper uses standard-conforming strings, so a
// backslash is an ordinary character). Throws like quote_identifier.
std::string quote_literal(std::string_view text);

// "a"."b"."c": each part quoted on its own.
std::string quote_qualified(const std::vector<std::string>& parts);

}  // namespace hyperdefrag::sql
