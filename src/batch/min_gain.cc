#include "batch/min_gain.h"

#include <fmt/format.h>

#include <algorithm>

#include "package/package.h"
#include "util/error.h"

namespace hyperdefrag::batch {
namespace fs = std::filesystem;
namespace {

// check's estimate of one .hyper file, its errors about `subject` (a
// package's entry rather than its private copy).
check::GainEstimate estimate(const fs::path& file, const fs::path& subject,
                             const DefragOptions& options, const check::Threshold& threshold,
                             const EngineSource& engine) {
  try {
    return check::estimate_gain(engine(), file, options, threshold);
  } catch (const Error& error) {
    throw error.about(subject);
  }
}

}  // namespace

std::uintmax_t GainDecision::size() const {
  std::uintmax_t total = 0;
  for (const auto& entry : entries) total += entry.estimate.size;
  return total;
}

double GainDecision::saving_bytes() const {
  double total = 0;
  for (const auto& entry : entries) total += entry.estimate.saving_bytes();
  return total;
}

double GainDecision::saving_percent() const {
  const auto bytes = size();
  return bytes == 0 ? 0.0 : 100.0 * saving_bytes() / static_cast<double>(bytes);
}

GainDecision weigh_gain(bool package, const DefragOptions& options,
                        const check::Threshold& threshold, const EngineSource& engine) {
  GainDecision decision;
  decision.threshold = threshold;
  const auto input = fs::absolute(options.input).lexically_normal();
  const auto add = [&](std::string entry, check::GainEstimate estimate) {
    const bool below = !check::reaches(threshold, estimate);
    decision.entries.push_back({std::move(entry), std::move(estimate), below});
  };
  if (auto marked = check::gain_from_mark(input, options.target_version)) {
    add("", std::move(*marked));
  } else if (package) {
    package::Unpacked unpacked(input);
    for (const auto& extract : unpacked.extracts()) {
      add(extract.entry, estimate(extract.path, package::entry_subject(input, extract.entry),
                                  options, threshold, engine));
    }
  } else {
    add("", estimate(input, input, options, threshold, engine));
  }
  decision.skip =
      !decision.entries.empty() && std::all_of(decision.entries.begin(), decision.entries.end(),
                                               [](const EntryGain& entry) { return entry.below; });
  return decision;
}

std::string skip_reason(const GainDecision& decision) {
  return fmt::format("estimated saving {:.1f}% (below --min-gain {})", decision.saving_percent(),
                     check::describe(decision.threshold));
}

}  // namespace hyperdefrag::batch
