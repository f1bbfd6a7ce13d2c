// The job: write a compacted copy of a .hyper file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "defrag/hooks.h"
#include "defrag/prepare.h"

namespace hyperdefrag {
namespace engine {
struct EngineOptions;
}  // namespace engine

struct DefragOptions {
  std::filesystem::path input;
  // Default: default_output_path(input) (<stem>.new.hyper, like Tableau's sample).
  std::optional<std::filesystem::path> output;
  // Replace an existing output (or backup) file; skip the free-space check.
  Force force = Force::no;
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

// How to start the engine for a run with these options (memory limit).
engine::EngineOptions engine_options(const std::filesystem::path& hyperd,
                                     const DefragOptions& options);

// The output and backup paths of a run with these options
// (defrag/prepare.h resolve_destination).
Destination destination_for(const DefragOptions& options);

// Step 1 of the algorithm for a .hyper input (defrag/prepare.h): the input is
// a Hyper file, then the output, locks, free space and the temporary name.
// A dry run (DryRun::yes) gives the same answer and leaves nothing. Throws
// hyperdefrag::Error naming the file and the cause.
std::unique_ptr<Prepared> preflight(const DefragOptions& options, DryRun dry_run);

// Runs the whole job. Throws hyperdefrag::Error with the exit code for the
// cause; on any failure nothing is left behind and the input is untouched
// (docs/SAFETY.md lists every fault and what happens).
DefragReport defragment(const DefragOptions& options, const TableCallback& on_table = {});
DefragReport defragment(const DefragOptions& options, const DefragHooks& hooks);

}  // namespace hyperdefrag
