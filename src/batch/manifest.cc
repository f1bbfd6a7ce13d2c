#include "batch/manifest.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "batch/check_job.h"
#include "check/estimate.h"
#include "sql/interrupt.h"
#include "util/error.h"
#include "util/files.h"
#include "util/text.h"

namespace hyperdefrag::batch {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
namespace {

// A JSON library error for a person: the position for text that is not
// JSON (not the bytes read, which may be binary), the cause without the
// library's "[json.exception...]" tag otherwise.
std::string json_cause(const std::exception& error) {
  if (const auto* parse = dynamic_cast<const Json::parse_error*>(&error)) {
    return fmt::format("not JSON (at byte {})", parse->byte);
  }
  std::string text = error.what();
  if (text.starts_with("[json.exception.")) {
    if (const auto end = text.find("] "); end != std::string::npos) text.erase(0, end + 2);
  }
  return one_line(text);
}

}  // namespace

Json to_json(const ManifestEntry& entry) {
  Json json = {{"path", entry.path.string()},
               {"kind", entry.package ? "package" : "hyper"},
               {"size", entry.identity.size},
               {"mtime_ns", entry.identity.mtime_ns},
               {"format_version", entry.format_version}};
  if (entry.package) json["extracts"] = entry.extracts;
  json["estimated_size"] = static_cast<long long>(entry.estimated_size);
  json["estimated_saving"] = static_cast<long long>(entry.estimated_saving);
  json["estimated_saving_percent"] =
      entry.identity.size == 0
          ? 0.0
          : 100.0 * entry.estimated_saving / static_cast<double>(entry.identity.size);
  json["estimate_uncertainty"] = static_cast<long long>(entry.uncertainty);
  return json;
}

ManifestFile read_manifest(const fs::path& manifest) {
  std::ifstream in(manifest, std::ios::binary);
  if (!in) {
    throw Error(ExitCode::bad_input, manifest,
                fmt::format("cannot read the manifest: {}", std::strerror(errno)));
  }
  ManifestFile file;
  std::string line;
  std::size_t number = 0;
  std::string first_cause;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", manifest.string(), number);
    try {
      const auto json = Json::parse(line);
      if (!json.is_object()) throw std::runtime_error("not a JSON object");
      if (!json.contains("path") || !json.contains("size") || !json.contains("mtime_ns")) {
        throw std::runtime_error("a manifest line needs \"path\", \"size\" and \"mtime_ns\"");
      }
      ManifestEntry entry;
      entry.path = json.at("path").get<std::string>();
      if (entry.path.empty()) throw std::runtime_error("\"path\" is empty");
      entry.identity.size = json.at("size").get<std::uintmax_t>();
      entry.identity.mtime_ns = json.at("mtime_ns").get<std::int64_t>();
      entry.package = json.value("kind", "hyper") == "package";
      entry.format_version = json.value("format_version", 0);
      entry.estimated_size = json.value("estimated_size", 0.0);
      entry.estimated_saving = json.value("estimated_saving", 0.0);
      file.entries.push_back(std::move(entry));
    } catch (const std::exception& error) {
      const auto cause = fmt::format("not a manifest line: {}", json_cause(error));
      if (first_cause.empty()) first_cause = fmt::format("line {}: {}", number, cause);
      FileResult rejected;
      rejected.input = where;
      rejected.exit_code = static_cast<int>(ExitCode::bad_input);
      rejected.error = Error(ExitCode::bad_input, where, cause).what();
      file.rejected.push_back(std::move(rejected));
    }
  }
  if (file.entries.empty()) {
    throw Error(
        ExitCode::bad_input, manifest,
        first_cause.empty()
            ? std::string("the manifest lists no files")
            : fmt::format("is not a manifest (JSON lines from hyperdefrag plan): {}", first_cause));
  }
  return file;
}

ManifestBuild build_manifest(const std::vector<Job>& jobs, engine::HyperProcess& engine,
                             int jobs_at_once, const std::optional<check::Threshold>& min_gain) {
  struct Slot {
    std::optional<ManifestEntry> entry;
    std::optional<FileResult> failed;
    bool below = false;
  };
  std::vector<Slot> slots(jobs.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const auto& job = jobs[i];
      const auto identity = identity_of(job.input);
      auto outcome = check_job(engine, job, {});
      if (!outcome.result.error.empty() || !identity) {
        if (outcome.result.error.empty()) {
          outcome.result.exit_code = static_cast<int>(ExitCode::bad_input);
          outcome.result.error = fmt::format("{}: is gone", job.input.string());
        }
        slots[i].failed = std::move(outcome.result);
        continue;
      }
      ManifestEntry entry;
      entry.path = job.input;
      entry.package = job.package;
      entry.identity = {identity->size, identity->mtime_ns, 0};
      entry.extracts = outcome.checks.size();
      for (const auto& checked : outcome.checks) {
        entry.format_version = std::max(entry.format_version, checked.estimate.version);
        entry.estimated_saving += check::saving_bytes(checked.size, checked.estimate.size.bytes);
        entry.uncertainty += checked.estimate.size.uncertainty;
      }
      entry.estimated_size = static_cast<double>(entry.identity.size) - entry.estimated_saving;
      if (min_gain && !check::reaches(*min_gain, entry.estimated_saving, entry.identity.size)) {
        slots[i].below = true;
        continue;
      }
      slots[i].entry = std::move(entry);
    }
  };
  const auto workers =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs_at_once, 1)), jobs.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();

  ManifestBuild build;
  for (auto& slot : slots) {
    if (slot.entry) build.entries.push_back(std::move(*slot.entry));
    if (slot.failed) build.failed.push_back(std::move(*slot.failed));
    if (slot.below) ++build.below_threshold;
  }
  std::sort(build.entries.begin(), build.entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
  return build;
}

void write_manifest(const fs::path& path, const std::vector<ManifestEntry>& entries) {
  std::string text;
  for (const auto& entry : entries) text += to_json(entry).dump() + "\n";
  write_file_atomically(fs::absolute(path), text, "the manifest");
}

}  // namespace hyperdefrag::batch
