// Step 6 of the algorithm in defrag.cc: copying every table's rows inside the
// engine, on one connection or several at once.
#pragma once

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "defrag/defrag.h"
#include "sql/connection.h"

namespace hyperdefrag {

struct CopyTarget {
  std::string input_alias;  // the input, attached read-only on `main`
  std::string input_path;
  std::string output_alias;  // the output, attached on `main`, every table created
  std::string output_path;
  // Per table (in the catalog's order): columns to ORDER BY while writing, or empty.
  std::vector<std::vector<std::string>> sort_columns;
};

// Copies the rows of every table of `source` with INSERT ... SELECT. With
// jobs > 1 (0: the machine's cores, at most 4), that many extra connections to the same engine each
// attach the input (read-only) and the output and take the next table not yet taken; they detach
// before returning. The hooks' on_table_start and on_table are called for each table (never from
// two threads at once; `row_versions` is passed on in TableStart), and on_statement observes every
// connection. Results come back in the tables' order. The first failure stops the other workers and
// is rethrown.
std::vector<TableResult> copy_rows(sql::Connection& main, const sql::Endpoint& endpoint,
                                   const catalog::Catalog& source, const CopyTarget& target,
                                   int jobs, const DefragHooks& hooks, long long row_versions);

// The INSERT ... SELECT for one table, naming every column in order, with
// ORDER BY `sort_columns` if any.
std::string copy_table_sql(const CopyTarget& target, const catalog::Table& table,
                           const std::vector<std::string>& sort_columns);

}  // namespace hyperdefrag
