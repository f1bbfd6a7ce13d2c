// Tableau's packaged workbooks and data sources (.twbx, .tdsx), built here
// with libzip around extracts made through the engine.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

using testing::contains;

std::string payload(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<char>(((i + seed) * 2654435761u) >> 11);
  return bytes;
}

// Temporary directories of the tool go to TMPDIR, which the tests point at
// their own scratch directory to see that nothing is left there.
class PackageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    extracts_ = dir_ / "extracts";
    fs::create_directory(extracts_);
    testing::make_small_fragmented(extracts_ / "a.hyper", 40'000, 2);
    testing::make_small_fragmented(extracts_ / "b.hyper", 20'000, 1);
    fs::create_directory(dir_ / "tmp");
    setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  }
  void TearDown() override { unsetenv("TMPDIR"); }

  testing::RunResult run(const std::vector<std::string>& args) {
    auto result = run_hyperdefrag(args);
    EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{})
        << "left in TMPDIR";
    return result;
  }

  testing::ScratchDir dir_;
  fs::path extracts_;
};

// --in-place on a package: the package itself is replaced by one with every
// extract compacted and every other entry as it was; --backup keeps the
// original whole under <stem>.bak.twbx.
TEST_F(PackageCli, InPlaceReplacesThePackageAndKeepsABackup) {
  const auto package = dir_ / "Sales.twbx";
  testing::make_zip(package,
                    {{"Sales.twb", "<?xml version='1.0'?><workbook/>", {}, true, 1'600'000'000},
                     {"Data/Extracts/a.hyper", "", extracts_ / "a.hyper", false, 1'600'000'200},
                     {"raw.bin", payload(3'000, 2), {}, false, 1'400'000'000}});
  const auto before_bytes = testing::read_bytes(package);
  const auto before = testing::read_zip(package);
  const auto result = run({"--in-place", "--backup", package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(testing::has_bytes(dir_ / "Sales.bak.twbx", before_bytes))
      << "the backup is the original";
  EXPECT_LT(fs::file_size(package), before_bytes.size());
  const auto after = testing::read_zip(package);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].mtime, before[i].mtime);
    if (before[i].name != "Data/Extracts/a.hyper") {
      EXPECT_EQ(after[i].crc, before[i].crc) << before[i].name;
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "Sales.new.twbx"));
  EXPECT_EQ(
      testing::unexpected_files(dir_.path(), {"Sales.twbx", "Sales.bak.twbx", "extracts", "tmp"}),
      std::vector<std::string>{});
}

TEST_F(PackageCli, EveryExtractCompactedEveryOtherEntryIdentical) {
  const auto package = dir_ / "Sales.twbx";
  testing::make_zip(package,
                    {{"Sales.twb", "<?xml version='1.0'?><workbook/>", {}, true, 1'600'000'000},
                     {"Data/", "", {}, false, 1'600'000'100},
                     {"Data/Extracts/a.hyper", "", extracts_ / "a.hyper", false, 1'600'000'200},
                     {"Image/logo.png", payload(50'000, 1), {}, true, 1'500'000'000},
                     {"Data/Extracts/b.hyper", "", extracts_ / "b.hyper", true, 1'600'000'400},
                     {"raw.bin", payload(3'000, 2), {}, false, 1'400'000'000}});
  const auto before_bytes = testing::read_bytes(package);
  const auto result = run({package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  const auto output = dir_ / "Sales.new.twbx";
  EXPECT_TRUE(contains(result.out, fmt::format("Successfully converted {} into {}",
                                               package.string(), output.string())))
      << result.out;
  EXPECT_TRUE(contains(result.out, "Extract Data/Extracts/a.hyper: ")) << result.out;
  EXPECT_TRUE(contains(result.out,
                       "Successfully converted table \"input_database\".\"Extract\".\"Extract_2\""))
      << result.out;
  EXPECT_TRUE(testing::has_bytes(package, before_bytes));
  EXPECT_LT(fs::file_size(output), fs::file_size(package));

  const auto before = testing::read_zip(package);
  const auto after = testing::read_zip(output);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    SCOPED_TRACE(before[i].name);
    EXPECT_EQ(after[i].name, before[i].name);  // same order
    EXPECT_EQ(after[i].mtime, before[i].mtime);
    EXPECT_EQ(after[i].method, before[i].method);
    if (before[i].name.find(".hyper") == std::string::npos) {
      EXPECT_EQ(after[i].bytes, before[i].bytes);
      EXPECT_EQ(after[i].crc, before[i].crc);
      EXPECT_EQ(after[i].compressed_size, before[i].compressed_size);  // copied, not recompressed
    }
  }
  for (const char* name : {"a.hyper", "b.hyper"}) {
    testing::extract_zip_entry(output, fmt::format("Data/Extracts/{}", name),
                               dir_ / fmt::format("new-{}", name));
    EXPECT_EQ(testing::table_counts(dir_ / fmt::format("new-{}", name)),
              testing::table_counts(extracts_ / name));
    EXPECT_LT(fs::file_size(dir_ / fmt::format("new-{}", name)), fs::file_size(extracts_ / name));
  }
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"Sales.twbx", "Sales.new.twbx", "extracts",
                                                    "tmp", "new-a.hyper", "new-b.hyper"}),
            std::vector<std::string>{});

  // The JSON report lists each extract.
  const auto json_run = run({"--json", "-o", (dir_ / "x.tdsx").string(), package.string()});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto json = nlohmann::json::parse(json_run.out);
  const auto& file = json["files"][0];
  EXPECT_EQ(file["kind"], "package");
  EXPECT_EQ(file["size_after"], fs::file_size(dir_ / "x.tdsx"));
  ASSERT_EQ(file["extracts"].size(), 2u);
  EXPECT_EQ(file["extracts"][0]["entry"], "Data/Extracts/a.hyper");
  EXPECT_EQ(file["extracts"][0]["tables"].size(), 2u);
  EXPECT_EQ(file["extracts"][1]["entry"], "Data/Extracts/b.hyper");
}

// What else a zip entry carries: Unix file modes (the external attributes,
// "made by Unix"), an entry's comment and the archive's comment; all come out
// as they went in, for a new package and for one replaced in place, the
// extracts included.
TEST_F(PackageCli, UnixModesAndCommentsSurvive) {
  const auto package = dir_ / "Modes.twbx";
  testing::make_zip(
      package,
      {{"Modes.twb", "<workbook/>", {}, true, 1'600'000'000, 0100640, "the workbook"},
       {"Data/", "", {}, false, 1'600'000'100, 040750, ""},
       {"Data/Extracts/a.hyper", "", extracts_ / "a.hyper", false, 1'600'000'200, 0100600,
        "extract a, \"quoted\""},
       {"run.sh", "#!/bin/sh\n", {}, false, 1'600'000'300, 0100755, ""},
       {"Data/Extracts/b.hyper", "", extracts_ / "b.hyper", true, 1'600'000'400, 0100444, ""}},
      "archive comment: Sales, Q3");
  const auto before = testing::read_zip(package);
  // The test's own archive holds what the test means it to.
  ASSERT_EQ(before.size(), 5u);
  EXPECT_EQ(before[0].unix_mode, "0100640");
  EXPECT_EQ(before[2].comment, "extract a, \"quoted\"");
  EXPECT_EQ(before[3].unix_mode, "0100755");
  ASSERT_EQ(testing::read_zip_comment(package), "archive comment: Sales, Q3");

  const auto check = [&](const fs::path& output) {
    const auto after = testing::read_zip(output);
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
      SCOPED_TRACE(before[i].name);
      EXPECT_EQ(after[i].name, before[i].name);
      EXPECT_EQ(after[i].opsys, before[i].opsys);
      EXPECT_EQ(after[i].unix_mode, before[i].unix_mode);
      EXPECT_EQ(after[i].comment, before[i].comment);
      EXPECT_EQ(after[i].mtime, before[i].mtime);
    }
    EXPECT_EQ(testing::read_zip_comment(output), "archive comment: Sales, Q3");
  };

  const auto result = run({package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  {
    SCOPED_TRACE("new package");
    check(dir_ / "Modes.new.twbx");
  }
  const auto in_place = run({"--in-place", package.string()});
  ASSERT_EQ(in_place.exit_code, 0) << in_place.err;
  {
    SCOPED_TRACE("in place");
    check(package);
  }
}

TEST_F(PackageCli, DataSourceWithOnePayloadLeftAlone) {
  const auto package = dir_ / "Source.tdsx";
  const auto text = payload(10'000, 7);
  testing::make_zip(package,
                    {{"Source.tds", text, {}, true, 1'234'567'890},
                     {"Data/Extracts/only.hyper", "", extracts_ / "b.hyper", true, 1'600'000'000}});
  const auto result = run({"-q", package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  const auto after = testing::read_zip(dir_ / "Source.new.tdsx");
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].name, "Source.tds");
  EXPECT_EQ(after[0].bytes, text);
}

TEST_F(PackageCli, BadPackagesFailCleanly) {
  testing::write_bytes(dir_ / "notzip.twbx", payload(5'000, 3));
  testing::make_zip(dir_ / "nohyper.twbx", {{"Book.twb", "<workbook/>"}});
  testing::write_bytes(dir_ / "broken.hyper", "not a database");
  testing::make_zip(
      dir_ / "badextract.twbx",
      {{"Book.twb", "<workbook/>"}, {"Data/Extracts/broken.hyper", "", dir_ / "broken.hyper"}});
  testing::make_zip(dir_ / "exists.twbx",
                    {{"Data/Extracts/b.hyper", "", extracts_ / "b.hyper", false}});
  testing::write_bytes(dir_ / "exists.new.twbx", "keep me");
  struct Case {
    const char* file;
    int code;
    const char* cause;
  };
  for (const auto& c :
       {Case{"notzip.twbx", 3, "not a zip archive"},
        Case{"nohyper.twbx", 3, "holds no .hyper extract"},
        Case{"badextract.twbx", 3,
             "badextract.twbx [Data/Extracts/broken.hyper]: is not a Hyper database"},
        Case{"missing.twbx", 3, "No such file"},
        Case{"exists.twbx", 4, "exists.new.twbx: already exists"}}) {
    SCOPED_TRACE(c.file);
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path()))
      names.push_back(entry.path().filename().string());
    const auto input_bytes = fs::exists(dir_ / c.file) ? testing::read_bytes(dir_ / c.file) : "";
    const auto result = run({(dir_ / c.file).string()});
    EXPECT_EQ(result.exit_code, c.code) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_TRUE(contains(result.err, c.cause)) << result.err;
    if (c.code == 3) {
      EXPECT_TRUE(contains(result.err, c.file)) << result.err;
    }
    EXPECT_EQ(testing::unexpected_files(dir_.path(), names), std::vector<std::string>{});
    if (!input_bytes.empty()) {
      EXPECT_TRUE(testing::has_bytes(dir_ / c.file, input_bytes));
    }
  }
  EXPECT_TRUE(testing::has_bytes(dir_ / "exists.new.twbx", "keep me"));
}

}  // namespace
}  // namespace hyperdefrag
