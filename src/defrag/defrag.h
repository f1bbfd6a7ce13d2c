// The job: write a compacted copy of a .hyper file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sql/connection.h"

namespace hyperdefrag {
namespace engine {
class HyperProcess;
struct EngineOptions;
}  // namespace engine

struct DefragOptions {
  std::filesystem::path input;
  // Default: <input's directory>/<input's stem>.new.hyper, like Tableau's sample.
  std::optional<std::filesystem::path> output;
  // Replace an existing output file.
  bool force = false;
  // The hyperd to use; see engine/locate.h for how one is found otherwise.
  std::optional<std::filesystem::path> hyperd;
  // Replace the input with its compacted copy (docs/SAFETY.md); `output`
  // must then be empty.
  bool in_place = false;
  // With in_place: keep the original under this name (a hard link); an
  // empty path means default_backup_path(input).
  std::optional<std::filesystem::path> backup;
  // Write this file-format version instead of the input's.
  std::optional<int> target_version;
  // Prove, after the copy, that the output holds exactly the input's catalog
  // and rows (verify/verify.h); on a mismatch the output is not kept.
  bool verify = false;
  // hyperd's memory_limit setting, e.g. "2g" or "40%"; absent: the engine's
  // default (80% of the machine's memory).
  std::optional<std::string> memory_limit;
  // Row order while writing: empty (as read), "auto" (defrag/sort_order.h) or
  // a comma-separated column list.
  std::string sort;
  // Connections copying tables at once; 0: as many as the machine has cores,
  // at most 4 (docs/BENCHMARKS.md has the measurements).
  int jobs = 0;
};

struct TableResult {
  std::string schema;
  std::string name;
  long long rows = 0;
  double seconds = 0;
};

struct DefragReport {
  std::filesystem::path input;
  std::filesystem::path output;
  std::uintmax_t size_before = 0;
  std::uintmax_t size_after = 0;
  int version_before = 0;
  int version_after = 0;
  std::size_t schemas = 0;
  std::vector<TableResult> tables;
  bool verified = false;      // every row was compared (--verify)
  double copy_seconds = 0;    // creating the tables and copying the rows
  double verify_seconds = 0;  // checking the copy (counts always, rows with --verify)
  double seconds = 0;         // the whole run
  // Where the original was kept (in place with a backup).
  std::optional<std::filesystem::path> backup;
  // Temporary files of earlier, killed runs found in the output directory
  // and removed (their pid was no longer running).
  std::vector<std::filesystem::path> removed_temporaries;
};

// A table about to be copied (for progress displays).
struct TableStart {
  std::string schema;
  std::string name;
  std::size_t index = 0;  // 0-based, of `count` tables
  std::size_t count = 0;
  long long rows = 0;                 // rows in the input table
  long long file_row_versions = 0;    // row versions ever stored in the input (defrag/observe.h)
  std::filesystem::path output_temp;  // the output file being written, under its temporary name
};

// Called after each table is copied, while the run goes on.
using TableCallback = std::function<void(const TableResult&)>;

// Ways to watch a run, and to share one engine between runs. All optional.
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

// How to start the engine for a run with these options (memory limit).
engine::EngineOptions engine_options(const std::filesystem::path& hyperd,
                                     const DefragOptions& options);

// Step 1 of the algorithm for an output path (also a package's): it is not
// the input (same device and inode), not a directory, does not exist unless
// `force`, and its directory exists and is writable. Throws
// hyperdefrag::Error (ExitCode::bad_output) naming the output and the cause.
void check_output_path(const std::filesystem::path& input, const std::filesystem::path& output,
                       bool force);

// The default output path for an input: <dir>/<stem>.new.hyper.
std::filesystem::path default_output_path(const std::filesystem::path& input);

// The default backup path for --in-place --backup: <dir>/<stem>.bak.hyper.
std::filesystem::path default_backup_path(const std::filesystem::path& input);

// Runs the whole job. Throws hyperdefrag::Error with the exit code for the
// cause; on any failure nothing is left behind and the input is untouched
// (docs/SAFETY.md lists every fault and what happens).
DefragReport defragment(const DefragOptions& options, const TableCallback& on_table = {});
DefragReport defragment(const DefragOptions& options, const DefragHooks& hooks);

}  // namespace hyperdefrag
