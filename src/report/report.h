// What a run did, for people and as JSON (the shapes are documented in
// docs/USAGE.md, "The JSON report" and "Dry run"). The results are made by
// the defrag, package and batch modules; this module only presents them, for
// the command-line front end.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batch/batch.h"
#include "report/console.h"

namespace hyperdefrag::report {

// Bumped only when a field changes meaning or disappears; new fields may be
// added without a bump.
constexpr int kReportSchemaVersion = 1;

using batch::FileResult;

// Bytes and percent saved (negative when the output grew).
long double saved_bytes(std::uintmax_t before, std::uintmax_t after);
double saved_percent(std::uintmax_t before, std::uintmax_t after);

// Tableau's sample line for one table:
// Successfully converted table "input_database"."S"."T" (12 rows, 0.01 s)
std::string table_line(const TableResult& table);

// The lines after a file's table lines: "Successfully converted IN into OUT",
// sizes, versions and time; for a file --min-gain skipped, the one line
// "Skipped IN: estimated saving 0.3% (below --min-gain 10%)".
std::vector<std::string> file_lines(const FileResult& file);

// The summary of a run over several files: a total, then one line per file.
std::vector<std::string> summary_lines(const std::vector<FileResult>& files, double seconds);

// --min-gain's estimate of a file, as JSON (null without --min-gain).
nlohmann::ordered_json gain_json(const std::optional<batch::GainDecision>& gain);

// The JSON report of a run.
nlohmann::ordered_json file_json(const FileResult& file);
nlohmann::ordered_json run_json(const std::vector<FileResult>& files, double seconds,
                                int exit_code);

// --dry-run: a line per file and a total, and the JSON plan.
std::vector<std::string> dry_run_lines(const std::vector<batch::DryRunItem>& items);
nlohmann::ordered_json dry_run_json(const std::vector<batch::DryRunItem>& items, int exit_code);

}  // namespace hyperdefrag::report
