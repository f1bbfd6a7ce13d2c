#include "defrag/defrag.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "defrag/sort_order.h"
#include "fixture/fragmented.h"
#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

ExitCode failure_code(const DefragOptions& options) {
  try {
    defragment(options);
  } catch (const Error& error) {
    return error.code();
  }
  return ExitCode::ok;
}

TEST(DefaultOutputPath, IsStemDotNewBesideTheInput) {
  EXPECT_EQ(default_output_path("/data/Oldfile.hyper"), fs::path("/data/Oldfile.new.hyper"));
  EXPECT_EQ(default_output_path("x.hyper"), fs::path("x.new.hyper"));
}

TEST(DefaultBackupPath, IsStemDotBakBesideTheInput) {
  EXPECT_EQ(default_backup_path("/data/Oldfile.hyper"), fs::path("/data/Oldfile.bak.hyper"));
}

// The core promise: a fragmented file really shrinks, loses no row, and the
// input is not changed. Measured when written: 3,000,000 rows inserted, then
// 60% deleted and some updated; the input is 104,136,704 bytes and the copy
// 31,195,136 (ratio 0.30). The test asks for at most 0.6.
TEST(Defragment, FragmentedFileShrinksWithEqualRowCountsAndUntouchedInput) {
  const auto& input = testing::fragmented_fixture();
  testing::ScratchDir out;
  const auto before = testing::read_bytes(input);

  std::vector<std::string> seen;
  const auto report = defragment({.input = input, .output = out / "compact.hyper"},
                                 [&](const TableResult& table) { seen.push_back(table.name); });

  EXPECT_TRUE(testing::has_bytes(input, before)) << "the input's bytes changed";
  EXPECT_EQ(report.size_before, before.size());
  EXPECT_EQ(report.size_after, fs::file_size(out / "compact.hyper"));
  EXPECT_LT(static_cast<double>(report.size_after), 0.6 * static_cast<double>(report.size_before))
      << report.size_before << " -> " << report.size_after;
  EXPECT_EQ(testing::table_counts(out / "compact.hyper"), testing::table_counts(input));
  ASSERT_EQ(report.tables.size(), 1u);
  EXPECT_EQ(report.tables[0].rows, 1'200'000);  // 3,000,000 minus 1/2, minus 1/5 of the rest
  EXPECT_EQ(seen, std::vector<std::string>{"Extract"});
  EXPECT_EQ(testing::unexpected_files(out.path(), {"compact.hyper"}), std::vector<std::string>{});
}

// The temporary copy is readable by its owner only while it is written
// (hyperd alone would make it 0640); the finished copy gets the input's mode.
TEST(Defragment, TemporaryCopyIsOwnerOnlyAndTheResultGetsTheInputsMode) {
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  fs::copy_file(testing::fragmented_fixture(), input);
  ASSERT_EQ(chmod(input.c_str(), 0644), 0);
  std::vector<std::string> temporary_modes;  // in octal, so that a failure reads as modes
  defragment({.input = input, .output = dir / "out.hyper"}, [&](const TableResult&) {
    for (const auto& temp : testing::temporaries_in(dir.path())) {
      temporary_modes.push_back(testing::octal_mode(temp));
    }
  });
  EXPECT_EQ(temporary_modes, std::vector<std::string>{"0600"});
  EXPECT_EQ(testing::octal_mode(dir / "out.hyper"), "0644");
}

TEST(Defragment, KeepsTheFormatVersion) {
  testing::ScratchDir dir;
  for (int version : {0, 2, 3, 4}) {
    const auto input = dir / fmt::format("v{}.hyper", version);
    {
      auto connection = testing::connect();
      connection.exec(
          fmt::format("CREATE DATABASE \"{}\" WITH VERSION {}", input.string(), version));
    }
    testing::with_attached(
        input, {"CREATE TABLE db.public.t (a INTEGER)", "INSERT INTO db.public.t VALUES (1), (2)"});
    const auto output = dir / fmt::format("v{}.new.hyper", version);
    const auto report = defragment({.input = input, .output = output});
    EXPECT_EQ(report.version_before, version);
    EXPECT_EQ(report.version_after, version);
    EXPECT_EQ(testing::format_version(output), version);
  }
}

// Tableau's own files, written by Tableau's Hyper API, not by this project.
TEST(Defragment, TableauSampleFilesKeepEveryTableAndRow) {
  const auto fixtures = testing::shared_fixtures();
  if (!fixtures) GTEST_SKIP() << "../shared/fixtures is not present beside this checkout";
  for (const char* name : {"superstore_sample.hyper", "superstore_sample_denormalized.hyper"}) {
    SCOPED_TRACE(name);
    testing::ScratchDir dir;
    fs::copy_file(*fixtures / name, dir / name);
    fs::permissions(dir / name, fs::perms::owner_read | fs::perms::owner_write);
    const auto report = defragment({.input = dir / name});
    const auto output = dir / (fs::path(name).stem().string() + ".new.hyper");
    EXPECT_EQ(report.output, output);
    const auto expected = testing::table_counts(dir / name);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(testing::table_counts(output), expected);
    EXPECT_EQ(report.version_after, report.version_before);
    EXPECT_TRUE(testing::has_bytes(dir / name, testing::read_bytes(*fixtures / name)));
  }
}

TEST(Defragment, RefusesToOverwriteWithoutForce) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  testing::write_bytes(dir / "out.hyper", "precious");
  EXPECT_EQ(failure_code({.input = dir / "in.hyper", .output = dir / "out.hyper"}),
            ExitCode::bad_output);
  EXPECT_TRUE(testing::has_bytes(dir / "out.hyper", "precious"));

  const auto report =
      defragment({.input = dir / "in.hyper", .output = dir / "out.hyper", .force = Force::yes});
  EXPECT_EQ(testing::table_counts(dir / "out.hyper"), testing::table_counts(dir / "in.hyper"));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper", "out.hyper"}),
            std::vector<std::string>{});
}

TEST(Defragment, RefusesTheInputAsOutputUnderAnyName) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  fs::create_symlink(dir / "in.hyper", dir / "link.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  for (const auto& output : {dir / "in.hyper", dir / "link.hyper", dir / "." / "in.hyper"}) {
    EXPECT_EQ(failure_code({.input = dir / "in.hyper", .output = output, .force = Force::yes}),
              ExitCode::bad_output)
        << output;
  }
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

TEST(Defragment, ParallelTableCopyKeepsEveryRowAndTheTablesOrder) {
  testing::ScratchDir dir;
  const auto input = dir / "mixed.hyper";
  {
    auto connection = testing::connect();
    fixture::make_fragmented_file(connection, input,
                                  {20'000, 8, std::nullopt, fixture::Layout::mixed});
  }
  DefragOptions options;
  options.input = input;
  options.jobs = 4;
  options.verify = true;
  std::vector<std::string> seen;
  const auto report =
      defragment(options, [&](const TableResult& table) { seen.push_back(table.name); });
  EXPECT_TRUE(report.verified);
  ASSERT_EQ(report.tables.size(), 8u);
  for (std::size_t i = 0; i < report.tables.size(); ++i) {
    EXPECT_EQ(report.tables[i].name, i == 0 ? "Extract" : fmt::format("Extract_{}", i + 1));
    EXPECT_EQ(report.tables[i].rows, 8'000);
  }
  std::sort(seen.begin(), seen.end());
  std::vector<std::string> names;
  for (const auto& table : report.tables) names.push_back(table.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(seen, names) << "each table is reported once";
  EXPECT_EQ(testing::table_counts(default_output_path(input)), testing::table_counts(input));
}

TEST(SortOrder, AutoPicksRepeatingColumnsFewestDistinctFirst) {
  testing::ScratchDir dir;
  const auto file = dir / "sort.hyper";
  {
    auto connection = testing::connect();
    connection.exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(file.string())));
  }
  testing::with_attached(
      file,
      {"CREATE TABLE db.public.t (id BIGINT, city TEXT, flag BOOL, shape TABLEAU.TABGEOGRAPHY, "
       "  region TEXT)",
       "INSERT INTO db.public.t SELECT i, 'city ' || (i % 40), i % 2 = 0, NULL, 'r' || (i % 4) "
       "  FROM generate_series(1, 10000) AS s(i)"});
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db", sql::quote_identifier(file.string())));
  const auto table = catalog::read_catalog(connection, "db", file.string()).tables.at(0);
  EXPECT_EQ(choose_sort_columns(connection, "db", table),
            (std::vector<std::string>{"flag", "region", "city"}));
  EXPECT_EQ(listed_sort_columns("region,nope,id", table),
            (std::vector<std::string>{"region", "id"}));
  connection.exec("DETACH DATABASE db");

  DefragOptions options;
  options.input = file;
  options.sort = "auto";
  options.verify = true;
  EXPECT_TRUE(defragment(options).verified);
}

}  // namespace
}  // namespace hyperdefrag
