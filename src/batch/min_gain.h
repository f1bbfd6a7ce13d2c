// --min-gain: whether compacting a file is worth it, decided for each job
// after its preflight and before anything is written (batch::run, and the
// dry run). A file whose estimated saving (check/gain.h, check's own
// estimate) is below the threshold is skipped; a package is skipped only
// when every extract is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "check/gain.h"
#include "check/threshold.h"
#include "defrag/defrag.h"
#include "engine/hyper_process.h"
#include "package/package.h"

namespace hyperdefrag::batch {

// The estimate of one .hyper file, or of one extract of a package.
struct EntryGain {
  std::string entry;  // inside a package: the archive entry's name; else empty
  check::GainEstimate estimate;
  bool below = false;  // the saving is below the threshold
};

struct GainDecision {
  check::Threshold threshold;
  // One for a .hyper file; one per extract of a package (or one, with an
  // empty entry, when the package's own note answered for all of them).
  std::vector<EntryGain> entries;
  bool skip = false;  // every entry is below the threshold

  // Totals over the entries: their bytes and the estimated saving.
  std::uintmax_t size() const;
  double saving_bytes() const;
  double saving_percent() const;
};

// Gives the engine to estimate on; called only when a note does not answer.
using EngineSource = std::function<engine::HyperProcess&()>;

// The note hyperdefrag left on the input of `options` (a package's on the
// package), when it answers for options.target_version: no engine is
// started, nothing is opened.
std::optional<GainDecision> gain_from_note(const DefragOptions& options,
                                           const check::Threshold& threshold);

// The extracts of the package `options.input`, unpacked (by its run, through
// package::ExtractsCheck, or by weigh_gain), each estimated on its own; the
// package is skipped only when every extract is below the threshold.
GainDecision weigh_extracts(const std::vector<package::Unpacked::Extract>& extracts,
                            const DefragOptions& options, const check::Threshold& threshold,
                            const EngineSource& engine);

// Weighs the input of `options` (a package when `package`, then unpacked for
// it), to be written in options.target_version (default: each file's own):
// the note, else the estimate. Throws hyperdefrag::Error naming the file (or
// the package and the entry) and the cause, as the defrag would for the same
// input.
GainDecision weigh_gain(bool package, const DefragOptions& options,
                        const check::Threshold& threshold, const EngineSource& engine);

// Why a file below the threshold is skipped:
// "estimated saving 0.3% (below --min-gain 10%)" (FileResult::skip_reason).
std::string skip_reason(const GainDecision& decision);

}  // namespace hyperdefrag::batch
