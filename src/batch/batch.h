// Many files in one run: expanding the inputs (files, glob patterns,
// directories walked with -r), planning each file's output, running them on
// one shared engine with up to N at once, and collecting each file's result.
// A failure in one file does not stop the others.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "batch/identity.h"
#include "batch/shard.h"
#include "defrag/defrag.h"
#include "package/package.h"

namespace hyperdefrag::batch {

struct BatchOptions {
  std::vector<std::string> inputs;              // as given on the command line
  std::optional<std::filesystem::path> output;  // only with exactly one file
  // The options every file is defragmented with (force, hyperd, ...); its
  // input and output are set per file.
  DefragOptions defrag;
  bool recursive = false;
  int jobs = 1;  // files at once
  // Start one engine for the run even for a single file (for -v, which shows its log).
  bool shared_engine = false;
  // The inputs are this manifest's files (batch/manifest.h), not `inputs`.
  std::optional<std::filesystem::path> manifest;
  // Only this shard's files of the expanded list (batch/shard.h).
  std::optional<Shard> shard;
  // One result per input is written here, and inputs done by an earlier run
  // are skipped (batch/results.h). The CLI prepares it before the run.
  std::optional<std::filesystem::path> results_dir;
};

// What happened to one input.
struct FileResult {
  std::filesystem::path input;
  std::filesystem::path output;
  bool package = false;  // a .twbx / .tdsx rather than a .hyper
  int exit_code = 0;     // 0 on success, else util/error.h's code for the cause
  std::string error;     // one line naming the file and the cause; empty on success
  std::uintmax_t size_before = 0;
  std::uintmax_t size_after = 0;
  double seconds = 0;
  std::optional<DefragReport> hyper;             // a .hyper input that succeeded
  std::vector<package::ExtractResult> extracts;  // a package input that succeeded
  // Why the file was not worked on this time (done by an earlier run), or
  // empty; a skipped file is ok.
  std::string skipped;
  bool ok() const { return exit_code == 0; }
};

struct Job {
  std::filesystem::path input;
  std::filesystem::path output;
  bool package = false;
  std::uintmax_t size = 0;  // the input's bytes when planned (a manifest's), for sharding
  // From a manifest: the file it recorded; another one there now fails the job.
  std::optional<FileIdentity> expected;
};

// What expanding the inputs gave: the jobs, and inputs that gave none (a
// directory without .hyper files), as failed results.
struct Plan {
  std::vector<Job> jobs;
  std::vector<FileResult> rejected;
  // With a shard: how the whole list was split (jobs and rejected hold only
  // this shard's share).
  struct Sharding {
    Shard shard;
    Balance balance;
  };
  std::optional<Sharding> sharding;
};

// The job for one file, named exactly: its absolute path and its output
// (defrag/prepare.h resolve_destination). Throws hyperdefrag::Error (usage)
// for an output path in place, or a backup without in place.
Job job_for(const std::filesystem::path& file, const BatchOptions& options);

// Expands the inputs (or reads the manifest), then keeps only the shard's
// share when there is one. A glob pattern that names no existing file is expanded
// with glob(3); a directory is walked when `recursive` (for .hyper, .twbx and
// .tdsx files, skipping hyperdefrag's own outputs and temporary files) and is
// otherwise kept, to fail as an input. Throws hyperdefrag::Error (usage) when
// -o is given with more than one file, or inputs beside a manifest; Error
// (bad input) for a manifest that cannot be read or is not one.
Plan plan(const BatchOptions& options);

// Called from the worker threads; `slot` is the job's index in the plan.
struct Observer {
  std::function<void(const std::filesystem::path& log_directory)> on_engine_started;
  std::function<void(std::size_t slot, const Job& job)> on_file_start;
  std::function<void(std::size_t slot, const TableStart& table)> on_table_start;
  std::function<void(std::size_t slot, const TableResult& table)> on_table;
  std::function<void(std::size_t slot, const FileResult& result)> on_file_done;
  sql::StatementObserver on_statement;
};

// Runs every job; results in the plan's order. With a results directory, a
// job done by an earlier run is skipped, and each job's result is recorded
// there before on_file_done.
std::vector<FileResult> run(const std::vector<Job>& jobs, const BatchOptions& options,
                            const Observer& observer);

// Records the plan's rejected inputs in the results directory, if there is one.
void record_rejected(const std::vector<FileResult>& rejected, const BatchOptions& options);

// "K/N" (1-based, as --shard takes it), or empty without a shard.
std::string shard_text(const BatchOptions& options);

// The exit code of a run: a signal's code if interrupted; the file's own
// code when there was one file; else 0 if all succeeded, some_failed if not.
int exit_code(const std::vector<FileResult>& results);

// --dry-run: what each job needs and whether it could run, from the real
// run's preflight (defrag/prepare.h) without its side effects: nothing is
// changed, no lock stays, no engine starts.
struct DryRunItem {
  Job job;
  std::uintmax_t input_size = 0;
  std::uintmax_t output_space = 0;  // at most this much, beside the output
  std::uintmax_t temp_space = 0;    // in the temporary directory (packages)
  std::uintmax_t output_free = 0;   // free bytes where the output goes
  std::uintmax_t temp_free = 0;
  int exit_code = 0;  // the failure foreseen, or 0
  std::string error;
};
std::vector<DryRunItem> dry_run(const std::vector<Job>& jobs, const BatchOptions& options);

}  // namespace hyperdefrag::batch
