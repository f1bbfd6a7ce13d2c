// The job: write a compacted copy of a .hyper file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hyperdefrag {

struct DefragOptions {
  std::filesystem::path input;
  // Default: <input's directory>/<input's stem>.new.hyper, like Tableau's sample.
  std::optional<std::filesystem::path> output;
  // Replace an existing output file.
  bool force = false;
  // The hyperd to use; see engine/locate.h for how one is found otherwise.
  std::optional<std::filesystem::path> hyperd;
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
  // Connections copying tables at once (docs/BENCHMARKS.md has the measurements).
  int jobs = 1;
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
  bool verified = false;
  double copy_seconds = 0;    // creating the tables and copying the rows
  double verify_seconds = 0;  // proving the copy equal, when asked
  double seconds = 0;         // the whole run
};

// Called after each table is copied, while the run goes on.
using TableCallback = std::function<void(const TableResult&)>;

// The default output path for an input: <dir>/<stem>.new.hyper.
std::filesystem::path default_output_path(const std::filesystem::path& input);

// Runs the whole job. Throws hyperdefrag::Error with the exit code for the
// cause; on any failure nothing is left behind and the input is untouched.
DefragReport defragment(const DefragOptions& options, const TableCallback& on_table = {});

}  // namespace hyperdefrag
