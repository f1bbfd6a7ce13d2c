// What --min-gain decides on: the saving a defrag of one .hyper file would
// give, from check's own estimate (check/estimate.h), reached by the cheapest
// of three steps that can answer it:
//  1. the note hyperdefrag leaves on what it writes (util/compacted_mark.h):
//     a file unchanged since hyperdefrag compacted it, in the version the
//     run would write, gains nothing. No engine is needed.
//  2. the share of live rows (check/estimate.h live_share_size): measured, it
//     always predicts too little saving (docs/CHECK.md), so when even that
//     saving reaches the threshold the file is worth compacting without
//     sampling. It can say "worth it", never "skip".
//  3. check's estimate (estimate_compacted, capped at the input's size).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "check/estimate.h"
#include "check/threshold.h"
#include "defrag/defrag.h"
#include "engine/hyper_process.h"

namespace hyperdefrag::check {

enum class GainMethod {
  compacted_mark,  // step 1
  live_share,      // step 2: an upper bound of the compacted size
  sample,          // step 3
};

// "unchanged since compacted", "live share", "sample".
std::string method_name(GainMethod method);

struct GainEstimate {
  std::uintmax_t size = 0;  // the file's bytes
  Sized compacted;          // the estimated size after compaction
  GainMethod method = GainMethod::sample;
  // The format version estimated for; empty when step 1 answered for a
  // package written in its extracts' own versions.
  std::optional<int> version;
  double seconds = 0;

  double saving_bytes() const;
  double saving_percent() const;
};

// Whether the estimated saving reaches `threshold` (a file that does not is skipped).
bool reaches(const Threshold& threshold, const GainEstimate& estimate);

// Step 1: the estimate from the note on `path`, when there is one that holds
// and `target_version` is empty or the version it names. Never opens the file.
std::optional<GainEstimate> gain_from_mark(const std::filesystem::path& path,
                                           std::optional<int> target_version);

// Steps 2 and 3 for the .hyper file `path`, compacted in
// options.target_version (default: its own): attached read-only through
// `engine`; scratch databases in a private temporary directory. Throws
// hyperdefrag::Error naming the file (bad input; incompatible version, exit
// 11, when the version cannot hold a column: defrag's own check_version; and
// check::refusal's when the engine refuses a statement of the estimate).
GainEstimate estimate_gain(engine::HyperProcess& engine, const std::filesystem::path& path,
                           const DefragOptions& options, const Threshold& threshold);

}  // namespace hyperdefrag::check
