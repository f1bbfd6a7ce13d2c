// --for-tableau RELEASE, run as a user runs it: the version written on the
// boundaries of Tableau's table, a release without its patch level, a column
// that needs a newer version (exit 11, nothing written), the conflict with
// --target-version, packages, and inspect naming the releases that open a file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

class ForTableauCli : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_small_fragmented(input_, 4'000, 1); }

  // The format version written for `release` (the run must succeed).
  int written_for(const std::string& release) {
    const auto output = dir_ / "out.hyper";
    fs::remove(output);
    const auto result = testing::run_hyperdefrag(
        {"-q", "--for-tableau", release, "-o", output.string(), input_.string()});
    EXPECT_EQ(result.exit_code, 0) << release << ": " << result.err;
    return testing::format_version(output);
  }

  testing::ScratchDir dir_;
  fs::path input_ = dir_ / "in.hyper";
};

TEST_F(ForTableauCli, WritesTheNewestVersionTheReleaseOpensOnEachBoundary) {
  EXPECT_EQ(testing::format_version(input_), 2);
  EXPECT_EQ(written_for("2019.2.9"), 0);
  EXPECT_EQ(written_for("2019.2.10"), 1);
  EXPECT_EQ(written_for("2022.1.1"), 1);
  EXPECT_EQ(written_for("2022.1.2"), 2);
  EXPECT_EQ(written_for("2022.4.0"), 2);
  EXPECT_EQ(written_for("2022.4.1"), 3);
  EXPECT_EQ(written_for("Server 2022.4.5"), 2);
  EXPECT_EQ(written_for("Server 2023.1"), 3);
  EXPECT_EQ(written_for("2024.2.9"), 3);
  EXPECT_EQ(written_for("2024.3"), 4);
}

TEST_F(ForTableauCli, AReleaseWithoutItsPatchLevelGetsWhatEveryPatchOpens) {
  const auto output = dir_ / "out.hyper";
  const auto result =
      testing::run_hyperdefrag({"--for-tableau", "2022.1", "-o", output.string(), input_.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::format_version(output), 1);
  EXPECT_TRUE(contains(result.out,
                       "--for-tableau 2022.1 writes format version 1, which every patch level of "
                       "2022.1 opens (later patches open version 2: give the patch level to "
                       "write it)\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "Format version: 2 -> 1")) << result.out;
}

TEST_F(ForTableauCli, AColumnTheReleaseCannotOpenIsRefusedBeforeAnythingIsWritten) {
  const auto file = dir_ / "wide_numbers.hyper";
  {
    auto connection = testing::connect();
    connection.exec(
        fmt::format("CREATE DATABASE {} WITH VERSION 3", sql::quote_identifier(file.string())));
  }
  testing::with_attached(file,
                         {"CREATE TABLE db.public.amounts (id INTEGER, total NUMERIC(38, 2))",
                          "INSERT INTO db.public.amounts VALUES (1, 12345678901234567890.5)"});
  const auto before = testing::read_bytes(file);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--min-gain", "0%"}}) {
    std::vector<std::string> args = {"--for-tableau", "2022.1.2"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file.string());
    const auto result = testing::run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, 11) << result.err;
    EXPECT_EQ(result.err,
              fmt::format("hyperdefrag: {}: cannot write a file Tableau Desktop 2022.1.2 opens "
                          "(format version 2): column \"total\" of table \"public\".\"amounts\" is "
                          "numeric(38,2): NUMERIC with precision 38 (above 18) needs format "
                          "version 3, "
                          "which Tableau Desktop 2022.4.1 and newer, Server 2023.1 and newer; "
                          "Prep 2022.4.1 and newer open\n",
                          file.string()))
        << result.err;
    EXPECT_EQ(testing::read_bytes(file), before);
    EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper", "wide_numbers.hyper"}),
              std::vector<std::string>{});
  }
  // A release that opens version 3 writes it.
  const auto result = testing::run_hyperdefrag({"-q", "--for-tableau", "2022.4.1", file.string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::format_version(dir_ / "wide_numbers.new.hyper"), 3);
}

TEST_F(ForTableauCli, ConflictsWithTargetVersionAndRefusesOtherText) {
  auto result = testing::run_hyperdefrag(
      {"--for-tableau", "2022.1.2", "--target-version", "2", input_.string()});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(contains(result.err, "--for-tableau")) << result.err;
  result = testing::run_hyperdefrag({"--for-tableau", "2022", input_.string()});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(contains(result.err, "hyperdefrag: --for-tableau: '2022' is not a Tableau release"))
      << result.err;
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper"}), std::vector<std::string>{});
}

TEST_F(ForTableauCli, EachExtractOfAPackageIsWrittenForTheRelease) {
  const auto package = dir_ / "Sales.twbx";
  testing::make_zip(package,
                    {{"Sales.twb", "<workbook/>"}, {"Data/Extracts/in.hyper", "", input_, false}});
  const auto result =
      testing::run_hyperdefrag({"-q", "--for-tableau", "2021.4.3", package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto extract = dir_ / "extract.hyper";
  testing::extract_zip_entry(dir_ / "Sales.new.twbx", "Data/Extracts/in.hyper", extract);
  EXPECT_EQ(testing::format_version(extract), 1);
}

TEST_F(ForTableauCli, InspectNamesTheOldestReleasesThatOpenTheFile) {
  const auto result = testing::run_hyperdefrag({"inspect", input_.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out,
                       "  opened by Tableau Desktop/Server 2020.4.15, 2021.1.12, 2021.2.9, "
                       "2021.3.8, 2021.4.4, 2022.1.2 and newer; Prep 2022.3 and newer\n"))
      << result.out;
  const auto json =
      nlohmann::json::parse(testing::run_hyperdefrag({"inspect", "--json", input_.string()}).out);
  EXPECT_EQ(json["opened_by"]["oldest_releases"][0], "Desktop 2020.4.15");
}

}  // namespace
}  // namespace hyperdefrag
