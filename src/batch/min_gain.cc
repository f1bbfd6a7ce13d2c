#include "batch/min_gain.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

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

// The decision on these estimates: each entry below the threshold or not,
// and skipped when every entry is.
GainDecision decide(const check::Threshold& threshold,
                    const std::vector<std::pair<std::string, check::GainEstimate>>& estimates) {
  GainDecision decision;
  decision.threshold = threshold;
  for (const auto& [entry, estimate] : estimates) {
    decision.entries.push_back({entry, estimate, !check::reaches(threshold, estimate)});
  }
  decision.skip =
      !decision.entries.empty() && std::all_of(decision.entries.begin(), decision.entries.end(),
                                               [](const EntryGain& entry) { return entry.below; });
  return decision;
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

std::optional<GainDecision> gain_from_note(const DefragOptions& options,
                                           const check::Threshold& threshold) {
  auto marked =
      check::gain_from_mark(fs::absolute(options.input).lexically_normal(), options.target_version);
  if (!marked) return std::nullopt;
  return decide(threshold, {{"", *marked}});
}

GainDecision weigh_extracts(const std::vector<package::Unpacked::Extract>& extracts,
                            const DefragOptions& options, const check::Threshold& threshold,
                            const EngineSource& engine) {
  const auto input = fs::absolute(options.input).lexically_normal();
  std::vector<std::pair<std::string, check::GainEstimate>> estimates;
  estimates.reserve(extracts.size());
  for (const auto& extract : extracts) {
    estimates.emplace_back(
        extract.entry, estimate(extract.path, package::entry_subject(input, extract.entry), options,
                                threshold, engine));
  }
  return decide(threshold, estimates);
}

GainDecision weigh_gain(bool package, const DefragOptions& options,
                        const check::Threshold& threshold, const EngineSource& engine) {
  if (auto noted = gain_from_note(options, threshold)) return *noted;
  const auto input = fs::absolute(options.input).lexically_normal();
  if (package) {
    const package::Unpacked unpacked(input);
    return weigh_extracts(unpacked.extracts(), options, threshold, engine);
  }
  return decide(threshold, {{"", estimate(input, input, options, threshold, engine)}});
}

std::string skip_reason(const GainDecision& decision) {
  return fmt::format("estimated saving {:.1f}% (below --min-gain {})", decision.saving_percent(),
                     check::describe(decision.threshold));
}

}  // namespace hyperdefrag::batch
