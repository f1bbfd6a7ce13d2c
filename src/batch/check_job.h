// `check` of one planned input: a .hyper file, or each extract of a package.
// Used by `hyperdefrag check` and by `hyperdefrag plan` (batch/manifest.h).
#pragma once

#include <vector>

#include "batch/batch.h"
#include "check/check.h"
#include "engine/hyper_process.h"

namespace hyperdefrag::batch {

struct CheckOutcome {
  FileResult result;  // the input, and the exit code and error if it failed
  std::vector<check::FileCheck> checks;  // one per .hyper file or extract
};

// Checks `job`'s input through `engine`. Never throws: a failure is in
// result (exit code, one-line error naming the file, or the package and entry).
// Values the engine cannot read (deep) give ExitCode::unreadable_values.
CheckOutcome check_job(engine::HyperProcess& engine, const Job& job,
                       const check::CheckOptions& options);

}  // namespace hyperdefrag::batch
