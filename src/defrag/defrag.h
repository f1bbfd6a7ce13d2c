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
  // Replace the input with its compacted copy (docs/SAFETY.md); `output`
  // must then be empty.
  bool in_place = false;
  // With in_place: keep the original under this name (a hard link); an
  // empty path means default_backup_path(input).
  std::optional<std::filesystem::path> backup;
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
  double seconds = 0;
  // Where the original was kept (in place with a backup).
  std::optional<std::filesystem::path> backup;
  // Temporary files of earlier, killed runs found in the output directory
  // and removed (their pid was no longer running).
  std::vector<std::filesystem::path> removed_temporaries;
};

// Called after each table is copied, while the run goes on.
using TableCallback = std::function<void(const TableResult&)>;

// The default output path for an input: <dir>/<stem>.new.hyper.
std::filesystem::path default_output_path(const std::filesystem::path& input);

// The default backup path for --in-place --backup: <dir>/<stem>.bak.hyper.
std::filesystem::path default_backup_path(const std::filesystem::path& input);

// Runs the whole job. Throws hyperdefrag::Error with the exit code for the
// cause; on any failure nothing is left behind and the input is untouched
// (docs/SAFETY.md lists every fault and what happens).
DefragReport defragment(const DefragOptions& options, const TableCallback& on_table = {});

}  // namespace hyperdefrag
