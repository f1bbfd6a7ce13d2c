// Steps 5 (the tables) and 6 of the algorithm in defrag.cc, overlapped:
// creating every table in the output and copying its rows inside the engine.
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
  std::string output_alias;  // the output, attached on `main`, its schemas created
  std::string output_path;
  // Per table (in the catalog's order): columns to ORDER BY while writing, or empty.
  std::vector<std::vector<std::string>> sort_columns;
};

// Creates every table of `source` in the output and copies its rows with
// INSERT ... SELECT, as a pipeline. `main` creates the tables one after
// another in the catalog's order (catalog::create_table_sql, then the column
// descriptions), so the output numbers them as the input does. Meanwhile
// `jobs` other connections to the same engine (0: the machine's cores, at
// most 4; never more than there are tables) each attach the input (read-only)
// and the output, and take the next table not yet taken as soon as `main` has
// created it; they detach before returning. So the tables are created and
// copied at the same time, and at most `jobs` tables are copied at once.
//
// Each table's rows are counted in the input before its copy (with the next
// tables of its group of catalog::kTablesPerCount, by the first connection to
// reach the group), and the INSERT must report as many (else hyperdefrag::Error, ExitCode::verify_failed);
// TableResult::rows is that count. The hooks' on_table_start and on_table are
// called for each table (never from two threads at once; `row_versions` is
// passed on in TableStart), and
// on_statement observes every connection (`main` too: its observer is
// hooks.on_statement again when this returns). Results come back in the tables'
// order. The first failure, on `main` or on a copying connection, stops the
// others and is rethrown once every connection has stopped.
std::vector<TableResult> create_and_copy_tables(sql::Connection& main,
                                                const sql::Endpoint& endpoint,
                                                const catalog::Catalog& source,
                                                const CopyTarget& target, int jobs,
                                                const DefragHooks& hooks, long long row_versions);

// The INSERT ... SELECT for one table, naming every column in order, with
// ORDER BY `sort_columns` if any.
std::string copy_table_sql(const CopyTarget& target, const catalog::Table& table,
                           const std::vector<std::string>& sort_columns);

}  // namespace hyperdefrag
