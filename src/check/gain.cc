#include "check/gain.h"

#include <chrono>

#include "check/check.h"
#include "defrag/defrag.h"
#include "sql/attach.h"
#include "util/compacted_mark.h"
#include "util/files.h"
#include "util/hyper_file.h"
#include "util/private_dir.h"

namespace hyperdefrag::check {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAlias = "weighed";

}  // namespace

std::string method_name(GainMethod method) {
  switch (method) {
    case GainMethod::compacted_mark:
      return "unchanged since compacted";
    case GainMethod::live_share:
      return "live share";
    case GainMethod::sample:
      return "sample";
  }
  return "sample";
}

double GainEstimate::saving_bytes() const { return check::saving_bytes(size, compacted.bytes); }

double GainEstimate::saving_percent() const { return check::saving_percent(size, compacted.bytes); }

bool reaches(const Threshold& threshold, const GainEstimate& estimate) {
  return reaches(threshold, estimate.saving_bytes(), estimate.size);
}

std::optional<GainEstimate> gain_from_mark(const fs::path& path,
                                           std::optional<int> target_version) {
  const auto mark = compacted_mark(path);
  if (!mark) return std::nullopt;
  if (target_version && mark->version != target_version) return std::nullopt;
  GainEstimate estimate;
  estimate.size = hyperdefrag::file_size(path);
  estimate.compacted = {static_cast<double>(estimate.size), 0};
  estimate.method = GainMethod::compacted_mark;
  estimate.version = mark->version;
  return estimate;
}

GainEstimate estimate_gain(engine::HyperProcess& engine, const fs::path& path,
                           const DefragOptions& options, const Threshold& threshold) {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  GainEstimate estimate;
  const auto file = fs::absolute(path).lexically_normal();
  check_hyper_file(file);
  estimate.size = hyperdefrag::file_size(file);
  std::optional<PrivateDir> scratch;  // kept until a failure is explained (refusal)
  try {
    sql::Connection connection(engine.endpoint());
    sql::Attached attached = sql::attach_input(connection, file, kAlias);
    const auto counted = count_tables(connection, kAlias, file);
    const int version = options.target_version.value_or(counted.catalog.format_version);
    estimate.version = version;
    // Refused as the defrag would refuse it, before anything is estimated.
    check_version(file, counted.catalog, version, options);

    // Step 2, in the file's own version only: a newer version may compress
    // differently, which the live share knows nothing of.
    if (version == counted.catalog.format_version) {
      estimate.method = GainMethod::live_share;
      estimate.compacted = {live_share_size(estimate.size, counted.rows(), counted.row_versions()),
                            0};
      if (reaches(threshold, estimate)) {
        attached.detach();
        estimate.seconds = seconds();
        return estimate;
      }
    }

    // Step 3: check's estimate.
    scratch.emplace(temp_base(), "hyperdefrag-check-");
    const auto sampled = estimate_compacted(
        {connection, engine.endpoint(), file, kAlias}, counted.catalog, counted.rows_by_table(),
        counted.row_versions_by_table(), version, scratch->path());
    attached.detach();
    estimate.method = GainMethod::sample;
    estimate.compacted = cap_at_input(sampled.size, estimate.size);
    estimate.seconds = seconds();
    return estimate;
  } catch (const sql::SqlError& error) {
    throw refusal(error, file, engine);
  }
}

}  // namespace hyperdefrag::check
