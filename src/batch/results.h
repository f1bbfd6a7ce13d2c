// --results-dir: one small JSON file per input, saying which file it was (its
// identity) and what happened to it, written atomically (a temporary file,
// then a rename), so that a run killed at any point leaves each result either
// whole or absent. Many processes on many machines may write into one
// directory: each input has its own file, named after its path.
//
// Resuming: a run with the same directory skips an input whose result says
// done (or skipped) and whose identity is still the one recorded. The
// identity recorded is the input's as the next run will find it:
//  - writing a copy beside the input: the input's before the run (a run
//    reads it only, so an input changed since is done again);
//  - --in-place: the file put in place, after the run (the compacted file is
//    a new file with its own inode, size and time; the original's identity
//    would never match again and every resumed run would redo it).
// A run killed between putting its output in place and writing the result
// does that file again: writing beside the input, it then fails because the
// output exists (exit 4; --force replaces it); in place, it compacts the
// already compacted file once more.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batch/batch.h"
#include "batch/identity.h"

namespace hyperdefrag::batch::results {

// The JSON shape's version (docs/USAGE.md, "Many machines").
constexpr int kResultSchemaVersion = 1;

// Makes the directory (and its parents) if needed and proves that a result
// can be written there, by creating and removing a temporary file. Throws
// hyperdefrag::Error (bad output) naming the directory and the cause.
void prepare_directory(const std::filesystem::path& dir);

// The result file of an input: <dir>/<input's file name>-<hash of its path>.json.
std::filesystem::path result_path(const std::filesystem::path& dir,
                                  const std::filesystem::path& input);

// Writes the result of `input` atomically, replacing an earlier one.
// `identity` is what a resumed run will compare (see above); `shard` is "K/N"
// or empty. Throws hyperdefrag::Error (bad output) naming the file.
void record(const std::filesystem::path& dir, const std::filesystem::path& input,
            const FileResult& result, const std::optional<FileIdentity>& identity,
            const std::string& shard);

// The identity to record for a job's result: the input's before the run
// (`before`), or after it for an in-place run that replaced the input.
std::optional<FileIdentity> identity_to_record(const FileResult& result, bool in_place,
                                               const std::optional<FileIdentity>& before);

// If an earlier run's result for `input` says done (or skipped) and the file
// is still the one it recorded: that result, marked as skipped for this run.
std::optional<FileResult> finished_earlier(const std::filesystem::path& dir,
                                           const std::filesystem::path& input);

// One result file, read back.
struct Record {
  std::filesystem::path file;  // the result file
  std::filesystem::path input;
  std::string status;  // "done", "skipped" or "failed"
  int exit_code = 0;
  std::string error;
  std::string reason;  // why it was skipped
  std::uintmax_t size_before = 0;
  std::uintmax_t size_after = 0;
  nlohmann::ordered_json json;  // the whole document
};

// Every result in a directory, and the files there that are not one.
struct Merged {
  std::vector<Record> records;  // by input path
  std::vector<std::pair<std::filesystem::path, std::string>> unreadable;  // file, cause
  std::size_t done = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  std::uintmax_t bytes_before = 0;  // of the files done
  std::uintmax_t bytes_after = 0;
};

// Reads every *.json in `dir` (the temporaries of a run killed mid-write are
// not). Throws hyperdefrag::Error (bad input) if `dir` is not a readable
// directory.
Merged merge(const std::filesystem::path& dir);

// `hyperdefrag results`: the summary for people, and as JSON.
std::vector<std::string> summary_lines(const std::filesystem::path& dir, const Merged& merged);
nlohmann::ordered_json summary_json(const std::filesystem::path& dir, const Merged& merged);
// 0 when every result is done or skipped; ExitCode::some_failed otherwise
// (a failed file, or a file that is not a result).
int exit_code(const Merged& merged);

}  // namespace hyperdefrag::batch::results
