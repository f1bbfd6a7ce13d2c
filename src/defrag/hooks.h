// Ways to watch a run while it goes on, and to share one engine between runs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "sql/connection.h"

namespace hyperdefrag {
namespace engine {
class HyperProcess;
}

// One table, copied.
struct TableResult {
  std::string schema;
  std::string name;
  long long rows = 0;
  double seconds = 0;
};

// A table about to be copied (for progress displays).
struct TableStart {
  std::string schema;
  std::string name;
  std::size_t index = 0;  // 0-based, of `count` tables
  std::size_t count = 0;
  long long rows = 0;                 // rows in the input table
  long long file_row_versions = 0;    // row versions ever stored in the input (catalog::row_versions)
  std::filesystem::path output_temp;  // the output file being written, under its temporary name
};

// Called after each table is copied, while the run goes on.
using TableCallback = std::function<void(const TableResult&)>;

// All optional. Called on the thread that runs the step, never two at once.
struct DefragHooks {
  // A running engine to use instead of starting one; it is left running.
  engine::HyperProcess* engine = nullptr;
  // Before each table's rows are copied (the input's rows are counted first).
  std::function<void(const TableStart&)> on_table_start;
  TableCallback on_table;
  // After every statement sent to the engine, with its duration.
  sql::StatementObserver on_statement;
  // Once the copy is complete on disk (detached, under its temporary name),
  // just before step 8 compares it with the input.
  std::function<void(const std::filesystem::path& copy)> before_verify;
};

}  // namespace hyperdefrag
