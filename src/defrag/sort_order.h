// --sort: the order in which a table's rows are written. Rows of a table have
// no order in SQL, so this changes no query's result; it can only change how
// well the engine compresses the blocks it writes.
#pragma once

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "sql/connection.h"

namespace hyperdefrag {

// "auto": columns whose values repeat (at most half as many distinct values
// as rows in a sample of the first 100,000 rows), fewest distinct values
// first, of types the engine can sort. Empty when no column qualifies.
std::vector<std::string> choose_sort_columns(sql::Connection& connection, const std::string& alias,
                                             const catalog::Table& table);

// The columns of `wanted` (a comma-separated list) that `table` has, in order.
std::vector<std::string> listed_sort_columns(const std::string& wanted,
                                             const catalog::Table& table);

}  // namespace hyperdefrag
