// What a run did, for people and as JSON (the shape is documented in
// docs/USAGE.md, "The JSON report"). The result types are filled by the
// defrag, package and batch modules; this module only presents them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "defrag/defrag.h"
#include "report/console.h"

namespace hyperdefrag::report {

// Bumped only when a field changes meaning or disappears; new fields may be
// added without a bump.
constexpr int kReportSchemaVersion = 1;

// One .hyper file inside a packaged workbook or data source.
struct ExtractResult {
  std::string entry;  // its name inside the archive, e.g. "Data/Extracts/sales.hyper"
  DefragReport report;
};

// What happened to one input.
struct FileResult {
  std::filesystem::path input;
  std::filesystem::path output;
  bool package = false;  // a .twbx / .tdsx rather than a .hyper
  int exit_code = 0;     // 0 on success, else util/error.h's code for the cause
  std::string error;     // one line naming the file and the cause; empty on success
  std::uintmax_t size_before = 0;
  std::uintmax_t size_after = 0;
  double seconds = 0;
  std::optional<DefragReport> hyper;    // a .hyper input that succeeded
  std::vector<ExtractResult> extracts;  // a package input that succeeded
  bool ok() const { return exit_code == 0; }
};

// "1,234,567"
std::string with_commas(std::uintmax_t number);

// Bytes and percent saved (negative when the output grew).
long double saved_bytes(std::uintmax_t before, std::uintmax_t after);
double saved_percent(std::uintmax_t before, std::uintmax_t after);

// Tableau's sample line for one table:
// Successfully converted table "input_database"."S"."T" (12 rows, 0.01 s)
std::string table_line(const TableResult& table);

// The lines after a file's table lines: "Successfully converted IN into OUT",
// sizes, versions and time.
std::vector<std::string> file_lines(const FileResult& file);

// The summary of a run over several files: a total, then one line per file.
std::vector<std::string> summary_lines(const std::vector<FileResult>& files, double seconds);

// The JSON report of a run.
nlohmann::ordered_json file_json(const FileResult& file);
nlohmann::ordered_json run_json(const std::vector<FileResult>& files, double seconds,
                                int exit_code);

}  // namespace hyperdefrag::report
