// A manifest: the list of files a sharded run works on, made once by
// `hyperdefrag plan` and read by every shard (--manifest), so that all shards
// split the same list even if the tree changes in between. JSON lines, one
// object per file, sorted by path:
//   {"path": "/data/a.hyper", "kind": "hyper", "size": 123, "mtime_ns": ...,
//    "format_version": 2, "estimated_size": ..., "estimated_saving": ...,
//    "estimated_saving_percent": ..., "estimate_uncertainty": ...}
// The estimate is check's (check/estimate.h). Reading needs only "path",
// "size" and "mtime_ns"; a run from a manifest reports a file whose size or
// time differs from the recorded one, or that is gone, as failed (exit code 3)
// and does not copy it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "batch/batch.h"
#include "batch/identity.h"
#include "check/threshold.h"
#include "engine/hyper_process.h"

namespace hyperdefrag::batch {

struct ManifestEntry {
  std::filesystem::path path;  // absolute
  bool package = false;
  FileIdentity identity;  // size and time (no inode)
  int format_version = 0;  // a package's: the highest of its extracts
  std::size_t extracts = 0;  // a package's
  double estimated_size = 0;
  double estimated_saving = 0;  // bytes (a package's: its extracts' savings added up)
  double uncertainty = 0;
};

nlohmann::ordered_json to_json(const ManifestEntry& entry);

// A manifest read back: its files, and its lines that are not a manifest
// line, as failed results ("manifest.jsonl:7: ...", exit code 3) that the
// run reports beside the files'.
struct ManifestFile {
  std::vector<ManifestEntry> entries;
  std::vector<FileResult> rejected;
};

// Throws hyperdefrag::Error (bad input) naming the manifest when it cannot be
// read or when none of its lines is a manifest line (it is not JSON lines).
ManifestFile read_manifest(const std::filesystem::path& manifest);

// What `plan` made: the entries (sorted by path) and the inputs that could
// not be checked.
struct ManifestBuild {
  std::vector<ManifestEntry> entries;
  std::vector<FileResult> failed;
  std::size_t below_threshold = 0;  // left out by min_gain
};

// Checks every job (up to `jobs` at once) through `engine` and keeps those
// whose estimated saving reaches `min_gain` (all without it).
ManifestBuild build_manifest(const std::vector<Job>& jobs, engine::HyperProcess& engine, int jobs_at_once,
                             const std::optional<check::Threshold>& min_gain);

// Writes the entries as JSON lines, atomically (a temporary file, then a
// rename). Throws hyperdefrag::Error (bad output) naming the file.
void write_manifest(const std::filesystem::path& path, const std::vector<ManifestEntry>& entries);

}  // namespace hyperdefrag::batch
