#include "report/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "check/gain.h"
#include "sql/quote.h"
#include "util/files.h"
#include "util/private_dir.h"
#include "util/text.h"

namespace hyperdefrag::report {
namespace {

std::string size_change(std::uintmax_t before, std::uintmax_t after) {
  const long double saved = saved_bytes(before, after);
  const double percent = saved_percent(before, after);
  return fmt::format("{} bytes ({}) -> {} bytes ({}), {} {} bytes ({:.1f}%)", with_commas(before),
                     human_size(before), with_commas(after), human_size(after),
                     saved >= 0 ? "saved" : "grew by",
                     with_commas(static_cast<std::uintmax_t>(saved >= 0 ? saved : -saved)),
                     saved >= 0 ? percent : -percent);
}

nlohmann::ordered_json defrag_json(const DefragReport& report) {
  nlohmann::ordered_json tables = nlohmann::ordered_json::array();
  for (const auto& table : report.tables) {
    tables.push_back({{"schema", table.schema},
                      {"table", table.name},
                      {"rows", table.rows},
                      {"seconds", table.seconds}});
  }
  return {
      {"size_before", report.size_before},
      {"size_after", report.size_after},
      {"saved_bytes", static_cast<long long>(saved_bytes(report.size_before, report.size_after))},
      {"saved_percent", saved_percent(report.size_before, report.size_after)},
      {"format_version_before", report.version_before},
      {"format_version_after", report.version_after},
      {"schemas", report.schemas},
      {"tables", tables},
      {"verified", report.verified},
      {"copy_seconds", report.copy_seconds},
      {"verify_seconds", report.verify_seconds},
      {"seconds", report.seconds}};
}

}  // namespace

long double saved_bytes(std::uintmax_t before, std::uintmax_t after) {
  return static_cast<long double>(before) - static_cast<long double>(after);
}

double saved_percent(std::uintmax_t before, std::uintmax_t after) {
  if (before == 0) return 0.0;
  return static_cast<double>(100.0L * saved_bytes(before, after) / before);
}

std::string table_line(const TableResult& table) {
  return fmt::format("Successfully converted table {} ({} rows, {:.2f} s)",
                     sql::quote_qualified({"input_database", table.schema, table.name}), table.rows,
                     table.seconds);
}

std::vector<std::string> file_lines(const FileResult& file) {
  std::vector<std::string> lines;
  if (file.skipped()) return {fmt::format("Skipped {}: {}", file.input.string(), file.skip_reason)};
  lines.push_back(
      fmt::format("Successfully converted {} into {}", file.input.string(), file.output.string()));
  for (const auto& extract : file.extracts) {
    lines.push_back(
        fmt::format("Extract {}: {}", extract.entry,
                    size_change(extract.report.size_before, extract.report.size_after)));
  }
  lines.push_back(fmt::format("Size: {}", size_change(file.size_before, file.size_after)));
  // A package's extracts may differ in version: each distinct one, in order.
  std::vector<int> versions_before;
  std::vector<int> versions_after;
  const auto note = [](std::vector<int>& versions, int version) {
    if (std::find(versions.begin(), versions.end(), version) == versions.end())
      versions.push_back(version);
  };
  std::size_t schemas = 0;
  std::size_t tables = 0;
  bool verified = true;
  double copy_seconds = 0;
  double verify_seconds = 0;
  std::vector<const DefragReport*> reports;
  if (file.hyper) reports.push_back(&*file.hyper);
  for (const auto& extract : file.extracts) reports.push_back(&extract.report);
  for (const auto* report : reports) {
    note(versions_before, report->version_before);
    note(versions_after, report->version_after);
    schemas += report->schemas;
    tables += report->tables.size();
    verified = verified && report->verified;
    copy_seconds += report->copy_seconds;
    verify_seconds += report->verify_seconds;
  }
  verified = verified && !reports.empty();
  lines.push_back(fmt::format("Format version: {} -> {}; {}, {} in {:.2f} s; {}",
                              fmt::join(versions_before, ", "), fmt::join(versions_after, ", "),
                              count_of(schemas, "schema", "schemas"),
                              count_of(tables, "table", "tables"), file.seconds,
                              verified ? "verified" : "catalog and row counts checked"));
  if (verified) {
    lines.push_back(fmt::format(
        "Verified: the copy holds exactly the input's catalog and rows ({:.2f} s, {:.2f}x the "
        "copy's time)",
        verify_seconds, copy_seconds > 0 ? verify_seconds / copy_seconds : 0.0));
  }
  if (file.hyper && file.hyper->backup) {
    lines.push_back(fmt::format("Original kept as {}", file.hyper->backup->string()));
  }
  return lines;
}

std::vector<std::string> summary_lines(const std::vector<FileResult>& files, double seconds) {
  std::size_t failed = 0;
  std::size_t skipped = 0;
  std::uintmax_t before = 0;
  std::uintmax_t after = 0;
  for (const auto& file : files) {
    if (!file.ok()) {
      ++failed;
      continue;
    }
    if (file.skipped()) {
      ++skipped;
      continue;
    }
    before += file.size_before;
    after += file.size_after;
  }
  std::vector<std::string> lines;
  lines.push_back(fmt::format("Summary: {} files, {} succeeded, {}{} failed; {} in {:.2f} s",
                              files.size(), files.size() - failed - skipped,
                              skipped == 0 ? "" : fmt::format("{} skipped, ", skipped), failed,
                              size_change(before, after), seconds));
  for (const auto& file : files) {
    if (file.skipped()) {
      lines.push_back(fmt::format("  skipped {}: {}", file.input.string(), file.skip_reason));
    } else if (file.ok()) {
      lines.push_back(fmt::format("  ok      {} -> {} (saved {:.1f}%)", file.input.string(),
                                  file.output.string(),
                                  saved_percent(file.size_before, file.size_after)));
    } else {
      lines.push_back(fmt::format("  FAILED  {} (exit code {}): {}", file.input.string(),
                                  file.exit_code, file.error));
    }
  }
  return lines;
}

nlohmann::ordered_json gain_json(const std::optional<batch::GainDecision>& gain) {
  if (!gain) return nullptr;
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (const auto& entry : gain->entries) {
    const auto& estimate = entry.estimate;
    entries.push_back(
        {{"entry", entry.entry.empty() ? nlohmann::ordered_json(nullptr)
                                       : nlohmann::ordered_json(entry.entry)},
         {"size", estimate.size},
         {"estimated_size", std::llround(estimate.compacted.bytes)},
         {"uncertainty", std::llround(estimate.compacted.uncertainty)},
         {"saving", std::llround(estimate.saving_bytes())},
         {"saving_percent", estimate.saving_percent()},
         {"method", check::method_name(estimate.method)},
         {"format_version", estimate.version ? nlohmann::ordered_json(*estimate.version)
                                             : nlohmann::ordered_json(nullptr)},
         {"below_min_gain", entry.below},
         {"seconds", estimate.seconds}});
  }
  return {{"min_gain", check::describe(gain->threshold)},
          {"skipped", gain->skip},
          {"size", gain->size()},
          {"saving", std::llround(gain->saving_bytes())},
          {"saving_percent", gain->saving_percent()},
          {"files", std::move(entries)}};
}

nlohmann::ordered_json file_json(const FileResult& file) {
  nlohmann::ordered_json json = {
      {"input", file.input.string()},
      {"output", file.skipped() ? nlohmann::ordered_json(nullptr)
                                : nlohmann::ordered_json(file.output.string())},
      {"kind", file.package ? "package" : "hyper"},
      {"ok", file.ok()},
      {"exit_code", file.exit_code},
      {"error", file.ok() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(file.error)},
      {"size_before", file.size_before},
      {"size_after", file.size_after},
      {"saved_bytes", static_cast<long long>(saved_bytes(file.size_before, file.size_after))},
      {"saved_percent", saved_percent(file.size_before, file.size_after)},
      {"seconds", file.seconds},
      {"skipped", file.skipped()},
      {"skip_reason",
       file.skipped() ? nlohmann::ordered_json(file.skip_reason) : nlohmann::ordered_json(nullptr)},
      {"estimate", gain_json(file.gain)}};
  if (file.hyper) json["hyper"] = defrag_json(*file.hyper);
  if (file.package && file.ok() && !file.skipped()) {
    nlohmann::ordered_json extracts = nlohmann::ordered_json::array();
    for (const auto& extract : file.extracts) {
      auto entry = defrag_json(extract.report);
      entry["entry"] = extract.entry;
      extracts.push_back(std::move(entry));
    }
    json["extracts"] = std::move(extracts);
  }
  return json;
}

nlohmann::ordered_json run_json(const std::vector<FileResult>& files, double seconds,
                                int exit_code) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::size_t failed = 0;
  std::size_t skipped = 0;
  std::uintmax_t before = 0;
  std::uintmax_t after = 0;
  for (const auto& file : files) {
    list.push_back(file_json(file));
    if (!file.ok()) {
      ++failed;
    } else if (file.skipped()) {
      ++skipped;
    } else {
      before += file.size_before;
      after += file.size_after;
    }
  }
  return {{"hyperdefrag_report", kReportSchemaVersion},
          {"tool_version", HYPERDEFRAG_VERSION},
          {"dry_run", false},
          {"exit_code", exit_code},
          {"seconds", seconds},
          {"files", std::move(list)},
          {"totals",
           {{"files", files.size()},
            {"succeeded", files.size() - failed - skipped},
            {"skipped", skipped},
            {"failed", failed},
            {"size_before", before},
            {"size_after", after},
            {"saved_bytes", static_cast<long long>(saved_bytes(before, after))},
            {"saved_percent", saved_percent(before, after)}}}};
}

std::vector<std::string> dry_run_lines(const std::vector<batch::DryRunItem>& items) {
  std::vector<std::string> lines;
  for (const auto& item : items) {
    if (item.exit_code != 0) {
      lines.push_back(fmt::format("Would fail {} (exit code {}): {}", item.job.input.string(),
                                  item.exit_code, item.error));
      continue;
    }
    if (item.gain && item.gain->skip) {
      lines.push_back(fmt::format("Would skip {}: estimated saving {:.1f}% (below --min-gain {})",
                                  item.job.input.string(), item.gain->saving_percent(),
                                  check::describe(item.gain->threshold)));
      continue;
    }
    std::string line = fmt::format(
        "Would defragment {} ({}) into {}: needs up to {} in {} ({} free)", item.job.input.string(),
        human_size(item.input_size), item.job.output.string(), human_size(item.output_space),
        item.job.output.parent_path().string(), human_size(item.output_free));
    if (item.job.package) {
      line += fmt::format(" and up to {} in {} ({} free)", human_size(item.temp_space),
                          temp_base().string(), human_size(item.temp_free));
    }
    if (item.gain) {
      line += fmt::format("; estimated saving {:.1f}% (reaches --min-gain {})",
                          item.gain->saving_percent(), check::describe(item.gain->threshold));
    }
    lines.push_back(std::move(line));
  }
  lines.push_back(fmt::format("Dry run: {} files; nothing was changed", items.size()));
  return lines;
}

nlohmann::ordered_json dry_run_json(const std::vector<batch::DryRunItem>& items, int exit_code) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& item : items) {
    files.push_back({{"input", item.job.input.string()},
                     {"output", item.job.output.string()},
                     {"kind", item.job.package ? "package" : "hyper"},
                     {"ok", item.exit_code == 0},
                     {"exit_code", item.exit_code},
                     {"error", item.exit_code == 0 ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(item.error)},
                     {"size_before", item.input_size},
                     {"output_space_needed", item.output_space},
                     {"output_free", item.output_free},
                     {"temp_space_needed", item.temp_space},
                     {"temp_free", item.temp_free},
                     {"skipped", item.gain && item.gain->skip},
                     {"estimate", gain_json(item.gain)}});
  }
  return {{"hyperdefrag_plan", kReportSchemaVersion},
          {"tool_version", HYPERDEFRAG_VERSION},
          {"dry_run", true},
          {"exit_code", exit_code},
          {"files", std::move(files)}};
}

}  // namespace hyperdefrag::report
