#include "report/report.h"

#include <gtest/gtest.h>

#include "report/console.h"

namespace hyperdefrag::report {
namespace {

DefragReport sample_report() {
  DefragReport report;
  report.input = "/data/a.hyper";
  report.output = "/data/a.new.hyper";
  report.size_before = 1000;
  report.size_after = 250;
  report.version_before = 2;
  report.version_after = 2;
  report.schemas = 2;
  report.tables = {{"Extract", "Extract", 12, 0.5}, {"public", "it's \"odd\"", 0, 0.01}};
  report.seconds = 0.75;
  return report;
}

FileResult sample_file() {
  FileResult file;
  file.input = "/data/a.hyper";
  file.output = "/data/a.new.hyper";
  file.size_before = 1000;
  file.size_after = 250;
  file.seconds = 0.75;
  file.hyper = sample_report();
  return file;
}

TEST(Report, NumbersAndPercent) {
  EXPECT_DOUBLE_EQ(saved_percent(1000, 250), 75.0);
  EXPECT_DOUBLE_EQ(saved_percent(1000, 1500), -50.0);
  EXPECT_DOUBLE_EQ(saved_percent(0, 10), 0.0);
}

TEST(Report, TableLineIsTableausSampleLineWithQuotedNames) {
  EXPECT_EQ(table_line({"public", "it's \"odd\"", 3, 0.014}),
            "Successfully converted table \"input_database\".\"public\".\"it's \"\"odd\"\"\" (3 "
            "rows, 0.01 s)");
}

TEST(Report, FileLinesSayWhatWasSavedAndWhetherVerified) {
  const auto lines = file_lines(sample_file());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Successfully converted /data/a.hyper into /data/a.new.hyper");
  EXPECT_EQ(lines[1], "Size: 1,000 bytes (1000 B) -> 250 bytes (250 B), saved 750 bytes (75.0%)");
  EXPECT_EQ(
      lines[2],
      "Format version: 2 -> 2; 2 schemas, 2 tables in 0.75 s; catalog and row counts checked");
}

TEST(Report, OneSchemaAndOneTableAreSingular) {
  auto file = sample_file();
  file.hyper->schemas = 1;
  file.hyper->tables.pop_back();
  EXPECT_EQ(file_lines(file).at(2),
            "Format version: 2 -> 2; 1 schema, 1 table in 0.75 s; catalog and row counts checked");
}

TEST(Report, SummaryListsEachFile) {
  FileResult bad;
  bad.input = "/data/b.hyper";
  bad.exit_code = 3;
  bad.error = "/data/b.hyper: is empty, not a .hyper file";
  const auto lines = summary_lines({sample_file(), bad}, 2.0);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("Summary: 2 files, 1 succeeded, 1 failed; 1,000 bytes", 0), 0u)
      << lines[0];
  EXPECT_EQ(lines[1], "  ok      /data/a.hyper -> /data/a.new.hyper (saved 75.0%)");
  EXPECT_EQ(lines[2],
            "  FAILED  /data/b.hyper (exit code 3): /data/b.hyper: is empty, not a .hyper file");
}

// The documented shape (docs/USAGE.md): every key a script may rely on.
TEST(Report, JsonShape) {
  FileResult bad;
  bad.input = "/data/b.hyper";
  bad.output = "/data/b.new.hyper";
  bad.exit_code = 3;
  bad.error = "broken";
  const auto json = run_json({sample_file(), bad}, 2.5, 10);
  EXPECT_EQ(json["hyperdefrag_report"], 1);
  EXPECT_EQ(json["exit_code"], 10);
  EXPECT_EQ(json["dry_run"], false);
  EXPECT_DOUBLE_EQ(json["seconds"].get<double>(), 2.5);
  EXPECT_EQ(json["totals"]["files"], 2);
  EXPECT_EQ(json["totals"]["succeeded"], 1);
  EXPECT_EQ(json["totals"]["failed"], 1);
  EXPECT_EQ(json["totals"]["saved_bytes"], 750);
  const auto& ok = json["files"][0];
  EXPECT_EQ(ok["input"], "/data/a.hyper");
  EXPECT_EQ(ok["output"], "/data/a.new.hyper");
  EXPECT_EQ(ok["kind"], "hyper");
  EXPECT_EQ(ok["ok"], true);
  EXPECT_TRUE(ok["error"].is_null());
  EXPECT_EQ(ok["size_before"], 1000);
  EXPECT_EQ(ok["size_after"], 250);
  EXPECT_DOUBLE_EQ(ok["saved_percent"].get<double>(), 75.0);
  EXPECT_EQ(ok["hyper"]["format_version_before"], 2);
  EXPECT_EQ(ok["hyper"]["format_version_after"], 2);
  EXPECT_EQ(ok["hyper"]["verified"], false);
  EXPECT_EQ(ok["hyper"]["tables"][1]["table"], "it's \"odd\"");
  EXPECT_EQ(ok["hyper"]["tables"][0]["rows"], 12);
  const auto& failed = json["files"][1];
  EXPECT_EQ(failed["ok"], false);
  EXPECT_EQ(failed["exit_code"], 3);
  EXPECT_EQ(failed["error"], "broken");
  EXPECT_FALSE(failed.contains("hyper"));
}

}  // namespace
}  // namespace hyperdefrag::report
