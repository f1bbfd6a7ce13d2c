#include "batch/results.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "util/error.h"
#include "util/files.h"
#include "util/text.h"

namespace hyperdefrag::batch::results {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
namespace {

// FNV-1a, 64 bits: a short, stable name for a path.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string status_of(const FileResult& result) {
  if (!result.ok()) return "failed";
  return result.skipped() ? "skipped" : "done";
}

Json identity_json(const std::optional<FileIdentity>& identity) {
  if (!identity) return nullptr;
  return {{"size", identity->size}, {"mtime_ns", identity->mtime_ns}, {"inode", identity->inode}};
}

std::optional<FileIdentity> identity_from(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  return FileIdentity{json.at("size").get<std::uintmax_t>(),
                      json.at("mtime_ns").get<std::int64_t>(),
                      json.at("inode").get<std::uintmax_t>()};
}

std::string now_utc() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// Reads one result file; throws std::exception when it is not one.
Record read_record(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(std::strerror(errno));
  Record record;
  record.file = file;
  record.json = Json::parse(in);
  const auto& json = record.json;
  if (!json.is_object() || !json.contains("hyperdefrag_result")) {
    throw std::runtime_error("not a hyperdefrag result (no \"hyperdefrag_result\")");
  }
  record.input = json.at("input").get<std::string>();
  record.status = json.at("status").get<std::string>();
  if (record.status != "done" && record.status != "skipped" && record.status != "failed") {
    throw std::runtime_error(fmt::format("unknown status \"{}\"", record.status));
  }
  record.exit_code = json.at("exit_code").get<int>();
  if (json.at("error").is_string()) record.error = json.at("error").get<std::string>();
  if (json.at("skipped").is_string()) record.reason = json.at("skipped").get<std::string>();
  record.size_before = json.at("size_before").get<std::uintmax_t>();
  record.size_after = json.at("size_after").get<std::uintmax_t>();
  return record;
}

}  // namespace

void prepare_directory(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw Error(ExitCode::bad_output, dir,
                fmt::format("cannot make the results directory: {}", error.message()));
  }
  if (!fs::is_directory(dir, error)) {
    throw Error(ExitCode::bad_output, dir, "the results directory is not a directory");
  }
  try {
    TempFile probe(dir / "probe.json");
    probe.create();
  } catch (const Error& failure) {
    throw Error(ExitCode::bad_output, dir,
                fmt::format("cannot write results there: {}", failure.cause()));
  }
}

fs::path result_path(const fs::path& dir, const fs::path& input) {
  std::string name = input.filename().string();
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  if (name.size() > 100) name.resize(100);
  return dir / fmt::format("{}-{:016x}.json", name, fnv1a(input.string()));
}

void record(const fs::path& dir, const fs::path& input, const FileResult& result,
            const std::optional<FileIdentity>& identity, const std::string& shard) {
  const Json json = {
      {"hyperdefrag_result", kResultSchemaVersion},
      {"tool_version", HYPERDEFRAG_VERSION},
      {"input", input.string()},
      {"kind", result.package ? "package" : "hyper"},
      {"identity", identity_json(identity)},
      {"status", status_of(result)},
      {"exit_code", result.exit_code},
      {"error", result.ok() ? Json(nullptr) : Json(result.error)},
      {"skipped", result.skipped() ? Json(result.skip_reason) : Json(nullptr)},
      {"output", result.output.empty() ? Json(nullptr) : Json(result.output.string())},
      {"size_before", result.size_before},
      {"size_after", result.size_after},
      {"seconds", result.seconds},
      {"shard", shard.empty() ? Json(nullptr) : Json(shard)},
      {"host", host_name()},
      {"pid", getpid()},
      {"finished_at", now_utc()}};
  write_file_atomically(result_path(dir, input), json.dump(2) + "\n", "the result");
}

std::optional<FileIdentity> identity_to_record(const FileResult& result, bool in_place,
                                               const std::optional<FileIdentity>& before) {
  if (in_place && result.ok() && !result.skipped()) return identity_of(result.input);
  return before;
}

std::optional<FileResult> finished_earlier(const fs::path& dir, const fs::path& input) {
  Record earlier;
  std::optional<FileIdentity> recorded;
  try {
    earlier = read_record(result_path(dir, input));
    recorded = identity_from(earlier.json.at("identity"));
  } catch (const std::exception&) {
    return std::nullopt;  // none, or unreadable: the file is done again, and its result rewritten
  }
  const auto now = identity_of(input);
  if (earlier.status == "failed" || earlier.input != input || !recorded || !now ||
      !now->same_as(*recorded)) {
    return std::nullopt;
  }
  FileResult result;
  result.input = input;
  if (earlier.json.at("output").is_string()) {
    result.output = earlier.json.at("output").get<std::string>();
  }
  result.package = earlier.json.value("kind", "hyper") == "package";
  result.size_before = earlier.size_before;
  result.size_after = earlier.size_after;
  result.skip_reason = fmt::format("{} by an earlier run ({}), and unchanged since", earlier.status,
                                   earlier.file.filename().string());
  return result;
}

Merged merge(const fs::path& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw Error(ExitCode::bad_input, dir,
                error ? error.message() : std::string("is not a results directory"));
  }
  Merged merged;
  fs::directory_iterator it(dir, error);
  if (error) throw Error(ExitCode::bad_input, dir, error.message());
  std::vector<fs::path> files;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) throw Error(ExitCode::bad_input, dir, error.message());
    const auto name = it->path().filename().string();
    if (name.starts_with(".") || it->path().extension() != ".json") continue;
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    try {
      merged.records.push_back(read_record(file));
    } catch (const std::exception& failure) {
      merged.unreadable.emplace_back(file, one_line(failure.what()));
    }
  }
  std::sort(merged.records.begin(), merged.records.end(),
            [](const Record& a, const Record& b) { return a.input < b.input; });
  for (const auto& record : merged.records) {
    if (record.status == "done") {
      ++merged.done;
      merged.bytes_before += record.size_before;
      merged.bytes_after += record.size_after;
    } else if (record.status == "skipped") {
      ++merged.skipped;
    } else {
      ++merged.failed;
    }
  }
  return merged;
}

namespace {

std::map<int, std::size_t> failures_by_code(const Merged& merged) {
  std::map<int, std::size_t> codes;
  for (const auto& record : merged.records) {
    if (record.status == "failed") ++codes[record.exit_code];
  }
  return codes;
}

long long saved(const Merged& merged) {
  return static_cast<long long>(merged.bytes_before) - static_cast<long long>(merged.bytes_after);
}

}  // namespace

std::vector<std::string> summary_lines(const fs::path& dir, const Merged& merged) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("Results in {}: {} files, {} done, {} skipped, {} failed",
                              dir.string(), merged.records.size(), merged.done, merged.skipped,
                              merged.failed));
  const double percent = merged.bytes_before == 0 ? 0.0
                                                  : 100.0 * static_cast<double>(saved(merged)) /
                                                        static_cast<double>(merged.bytes_before);
  lines.push_back(
      fmt::format("Saved {} of {} ({:.1f}%) in the files done",
                  saved(merged) < 0 ? "-" + human_size(-saved(merged)) : human_size(saved(merged)),
                  human_size(merged.bytes_before), percent));
  for (const auto& [code, count] : failures_by_code(merged)) {
    lines.push_back(fmt::format("Exit code {}: {} {}", code, count, count == 1 ? "file" : "files"));
  }
  for (const auto& record : merged.records) {
    if (record.status == "failed") {
      lines.push_back(fmt::format("  FAILED  {} (exit code {}): {}", record.input.string(),
                                  record.exit_code, record.error));
    } else if (record.status == "skipped") {
      lines.push_back(fmt::format("  skipped {}: {}", record.input.string(), record.reason));
    }
  }
  for (const auto& [file, cause] : merged.unreadable) {
    lines.push_back(fmt::format("  NOT A RESULT  {}: {}", file.string(), cause));
  }
  return lines;
}

Json summary_json(const fs::path& dir, const Merged& merged) {
  Json by_code = Json::object();
  for (const auto& [code, count] : failures_by_code(merged)) by_code[std::to_string(code)] = count;
  Json files = Json::array();
  for (const auto& record : merged.records) files.push_back(record.json);
  Json unreadable = Json::array();
  for (const auto& [file, cause] : merged.unreadable) {
    unreadable.push_back({{"file", file.string()}, {"error", cause}});
  }
  return {{"hyperdefrag_results", kResultSchemaVersion},
          {"directory", dir.string()},
          {"files", merged.records.size()},
          {"done", merged.done},
          {"skipped", merged.skipped},
          {"failed", merged.failed},
          {"failed_by_exit_code", std::move(by_code)},
          {"bytes_before", merged.bytes_before},
          {"bytes_after", merged.bytes_after},
          {"bytes_saved", saved(merged)},
          {"exit_code", exit_code(merged)},
          {"results", std::move(files)},
          {"not_results", std::move(unreadable)}};
}

int exit_code(const Merged& merged) {
  return merged.failed == 0 && merged.unreadable.empty() ? 0
                                                         : static_cast<int>(ExitCode::some_failed);
}

}  // namespace hyperdefrag::batch::results
