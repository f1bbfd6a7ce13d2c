// --min-gain, run as a user runs it, against the real engine: a compact file
// is skipped (nothing written, exit 0, one line, "skipped" with the estimate
// in the JSON), a fragmented one is compacted; packages are skipped only when
// every extract is; in place a skipped file is left byte for byte; the note
// hyperdefrag leaves on its outputs answers without the engine; bad threshold
// text is exit 2.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "util/compacted_mark.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

timespec modified(const fs::path& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) throw std::runtime_error("stat " + path.string());
  return status.st_mtim;
}

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// One fragmented file and its fresh compacted output (which carries
// hyperdefrag's note), made once for the suite; each test copies them.
class MinGainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_ = new testing::ScratchDir;
    testing::make_small_fragmented(*made_ / "frag.hyper", 60'000, 2);
    const auto result = testing::run_hyperdefrag(
        {"-q", "-o", (*made_ / "compact.hyper").string(), (*made_ / "frag.hyper").string()});
    if (result.exit_code != 0) throw std::runtime_error("defrag failed: " + result.err);
  }
  static void TearDownTestSuite() {
    delete made_;
    made_ = nullptr;
  }
  void SetUp() override {
    fs::create_directory(dir_ / "tmp");
    setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  }
  void TearDown() override {
    EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{})
        << "left in TMPDIR";
    unsetenv("TMPDIR");
  }

  // A copy of the fragmented file.
  fs::path fragmented(const std::string& name) {
    fs::copy_file(*made_ / "frag.hyper", dir_ / name);
    return dir_ / name;
  }
  // A compact file that has no note: the compacted output copied (a copy has
  // neither its extended attributes nor its time), so check's estimate decides.
  fs::path compact(const std::string& name) {
    fs::copy_file(*made_ / "compact.hyper", dir_ / name);
    return dir_ / name;
  }
  // A compact file with hyperdefrag's note, as a fresh output has it.
  fs::path marked(const std::string& name) {
    const auto result = testing::run_hyperdefrag(
        {"-q", "-o", (dir_ / name).string(), compact("in-" + name).string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    fs::remove(dir_ / ("in-" + name));
    return dir_ / name;
  }

  static testing::ScratchDir* made_;
  testing::ScratchDir dir_;
};
testing::ScratchDir* MinGainCli::made_ = nullptr;

TEST_F(MinGainCli, SkipsACompactFileWithOneLineAndWritesNothing) {
  const auto file = compact("plain.hyper");
  const auto before = testing::read_bytes(file);
  const auto result = testing::run_hyperdefrag({"--min-gain", "10%", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, fmt::format("Skipped {}: estimated saving 0.0% (below --min-gain 10%)\n",
                                    file.string()));
  EXPECT_EQ(testing::read_bytes(file), before);
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"plain.hyper", "tmp"}),
            std::vector<std::string>{});
}

TEST_F(MinGainCli, CompactsAFragmentedFile) {
  const auto file = fragmented("frag.hyper");
  const auto result = testing::run_hyperdefrag({"--min-gain", "10%", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Successfully converted " + file.string())) << result.out;
  EXPECT_FALSE(contains(result.out, "Skipped")) << result.out;
  ASSERT_TRUE(fs::exists(dir_ / "frag.new.hyper"));
  EXPECT_LT(fs::file_size(dir_ / "frag.new.hyper"), fs::file_size(file) * 9 / 10);
}

// The first table dropped from a compact file leaves its blocks in the file
// (the engine gives back only space at the file's end: dropping the last
// table shrinks it), and every row left is live: the share of live rows sees
// no saving at all. It may only ever say "worth it"; check's sample sees the
// dropped table's space.
TEST_F(MinGainCli, AFileHoldingADroppedTablesSpaceIsCompacted) {
  const auto file = compact("dropped.hyper");
  const auto size = fs::file_size(file);
  testing::with_attached(file, {"DROP TABLE db.\"Extract\".\"Extract\""});
  ASSERT_GE(fs::file_size(file), size * 9 / 10) << "the engine gave the dropped table's space back";
  const auto result = testing::run_hyperdefrag({"--json", "--min-gain", "10%", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out)["files"][0];
  EXPECT_EQ(json["skipped"], false) << result.out;
  EXPECT_EQ(json["estimate"]["files"][0]["method"], "sample") << result.out;
  EXPECT_GE(json["estimate"]["files"][0]["saving_percent"].get<double>(), 10.0) << result.out;
  ASSERT_TRUE(fs::exists(dir_ / "dropped.new.hyper"));
  EXPECT_LT(fs::file_size(dir_ / "dropped.new.hyper"), fs::file_size(file) * 9 / 10);
}

TEST_F(MinGainCli, AnAmountThresholdSkipsAFileThatWouldSaveLess) {
  const auto file = fragmented("frag.hyper");
  const auto result = testing::run_hyperdefrag({"--min-gain", "1GiB", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Skipped " + file.string() + ": estimated saving "))
      << result.out;
  EXPECT_TRUE(contains(result.out, "(below --min-gain 1.0 GiB)")) << result.out;
  EXPECT_FALSE(fs::exists(dir_ / "frag.new.hyper"));
}

TEST_F(MinGainCli, JsonMarksTheSkippedFileAndCarriesEachEstimate) {
  const auto frag = fragmented("frag.hyper");
  const auto plain = compact("plain.hyper");
  const auto report = dir_ / "report.json";
  const auto result = testing::run_hyperdefrag(
      {"--json", "--report", report.string(), "--min-gain", "10%", frag.string(), plain.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(nlohmann::json::parse(testing::read_bytes(report)), json);
  ASSERT_EQ(json["files"].size(), 2u);
  const auto& done = json["files"][0];
  EXPECT_EQ(done["input"], frag.string());
  EXPECT_EQ(done["ok"], true);
  EXPECT_EQ(done["skipped"], false);
  EXPECT_EQ(done["output"], (dir_ / "frag.new.hyper").string());
  EXPECT_EQ(done["estimate"]["min_gain"], "10%");
  EXPECT_EQ(done["estimate"]["skipped"], false);
  ASSERT_EQ(done["estimate"]["files"].size(), 1u);
  EXPECT_EQ(done["estimate"]["files"][0]["below_min_gain"], false);
  EXPECT_GE(done["estimate"]["files"][0]["saving_percent"].get<double>(), 10.0);
  const auto& skipped = json["files"][1];
  EXPECT_EQ(skipped["input"], plain.string());
  EXPECT_EQ(skipped["ok"], true);
  EXPECT_EQ(skipped["exit_code"], 0);
  EXPECT_EQ(skipped["skipped"], true);
  EXPECT_TRUE(skipped["output"].is_null());
  EXPECT_EQ(skipped["size_before"], fs::file_size(plain));
  EXPECT_EQ(skipped["size_after"], fs::file_size(plain));
  EXPECT_FALSE(skipped.contains("hyper"));
  const auto& estimate = skipped["estimate"];
  EXPECT_EQ(estimate["skipped"], true);
  EXPECT_EQ(estimate["size"], fs::file_size(plain));
  ASSERT_EQ(estimate["files"].size(), 1u);
  const auto& file = estimate["files"][0];
  EXPECT_TRUE(file["entry"].is_null());
  EXPECT_EQ(file["method"], "sample");
  EXPECT_EQ(file["format_version"], 2);
  EXPECT_EQ(file["below_min_gain"], true);
  EXPECT_EQ(file["estimated_size"], fs::file_size(plain));
  EXPECT_LT(file["saving_percent"].get<double>(), 10.0);
  for (const char* key : {"size", "uncertainty", "saving", "seconds"}) {
    EXPECT_TRUE(file.contains(key)) << key;
  }
  EXPECT_EQ(json["totals"]["skipped"], 1);
  EXPECT_EQ(json["totals"]["succeeded"], 1);
  EXPECT_FALSE(fs::exists(dir_ / "plain.new.hyper"));
}

TEST_F(MinGainCli, WithoutMinGainTheReportSaysNotSkippedAndNoEstimate) {
  const auto file = compact("plain.hyper");
  const auto result = testing::run_hyperdefrag({"--json", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["files"][0]["skipped"], false);
  EXPECT_TRUE(json["files"][0]["estimate"].is_null());
}

// A fresh output carries the note: the next run skips it without estimating,
// until the file changes or another format version is asked for.
TEST_F(MinGainCli, TheNoteOnAFreshOutputAnswersUntilTheFileChanges) {
  const auto file = marked("fresh.hyper");
  ASSERT_TRUE(compacted_mark(file).has_value()) << "no note on the output";
  const auto method = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--json", "--min-gain", "5%"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file.string());
    const auto result = testing::run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(result.out);
    EXPECT_EQ(json["files"][0]["skipped"], true) << result.out;
    return json["files"][0]["estimate"]["files"][0]["method"].get<std::string>();
  };
  EXPECT_EQ(method({}), "unchanged since compacted");
  // No engine is started for it: a hyperd that does not exist is never asked for.
  EXPECT_EQ(method({"--hyperd", (dir_ / "no-such-hyperd").string()}), "unchanged since compacted");
  EXPECT_EQ(method({"--target-version", "2"}), "unchanged since compacted");
  EXPECT_EQ(method({"--target-version", "3"}), "sample");
  fs::remove(dir_ / "fresh.new.hyper");
  // Any write changes the file's time, which voids the note.
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(1));
  EXPECT_FALSE(compacted_mark(file).has_value());
  EXPECT_EQ(method({}), "sample");
}

TEST_F(MinGainCli, InPlaceLeavesASkippedFileByteForByteAndReplacesAFragmentedOne) {
  const auto plain = compact("plain.hyper");
  const auto frag = fragmented("frag.hyper");
  const auto plain_bytes = testing::read_bytes(plain);
  const auto plain_time = modified(plain);
  const auto plain_mode = fs::status(plain).permissions();
  struct stat before {};
  ASSERT_EQ(stat(plain.c_str(), &before), 0);
  const auto frag_size = fs::file_size(frag);
  const auto result = testing::run_hyperdefrag(
      {"--in-place", "--backup", "--min-gain", "10%", plain.string(), frag.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, fmt::format("Skipped {}: estimated saving 0.0% (below "
                                               "--min-gain 10%)",
                                               plain.string())))
      << result.out;
  EXPECT_TRUE(contains(result.out, "Summary: 2 files, 1 succeeded, 1 skipped, 0 failed"))
      << result.out;
  struct stat after {};
  ASSERT_EQ(stat(plain.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_TRUE(same_time(modified(plain), plain_time));
  EXPECT_EQ(testing::read_bytes(plain), plain_bytes);
  EXPECT_EQ(fs::status(plain).permissions(), plain_mode);
  EXPECT_FALSE(fs::exists(dir_ / "plain.bak.hyper")) << "no backup of a skipped file";
  EXPECT_FALSE(compacted_mark(plain).has_value()) << "a skipped input is not touched";
  EXPECT_LT(fs::file_size(frag), frag_size * 9 / 10);
  EXPECT_TRUE(fs::exists(dir_ / "frag.bak.hyper"));
  EXPECT_TRUE(compacted_mark(frag).has_value());
}

TEST_F(MinGainCli, APackageIsSkippedOnlyWhenEveryExtractIs) {
  const auto frag = fragmented("frag.hyper");
  const auto plain = compact("plain.hyper");
  const auto plain2 = compact("plain2.hyper");
  const auto mixed = dir_ / "Mixed.twbx";
  testing::make_zip(mixed, {{"Mixed.twb", "<workbook/>"},
                            {"Data/Extracts/frag.hyper", "", frag, false},
                            {"Data/Extracts/plain.hyper", "", plain, false}});
  const auto compact_package = dir_ / "Compact.tdsx";
  testing::make_zip(compact_package, {{"Compact.tds", "<datasource/>"},
                                      {"Data/Extracts/a.hyper", "", plain, false},
                                      {"Data/Extracts/b.hyper", "", plain2, false}});
  const auto compact_bytes = testing::read_bytes(compact_package);
  const auto result = testing::run_hyperdefrag(
      {"--json", "--min-gain", "10%", mixed.string(), compact_package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  const auto& mixed_json = json["files"][0];
  EXPECT_EQ(mixed_json["skipped"], false);
  ASSERT_EQ(mixed_json["estimate"]["files"].size(), 2u);
  EXPECT_EQ(mixed_json["estimate"]["files"][0]["entry"], "Data/Extracts/frag.hyper");
  EXPECT_EQ(mixed_json["estimate"]["files"][0]["below_min_gain"], false);
  EXPECT_EQ(mixed_json["estimate"]["files"][1]["entry"], "Data/Extracts/plain.hyper");
  EXPECT_EQ(mixed_json["estimate"]["files"][1]["below_min_gain"], true);
  EXPECT_TRUE(fs::exists(dir_ / "Mixed.new.twbx"));
  const auto& compact_json = json["files"][1];
  EXPECT_EQ(compact_json["skipped"], true);
  EXPECT_EQ(compact_json["estimate"]["files"].size(), 2u);
  EXPECT_TRUE(compact_json["output"].is_null());
  EXPECT_FALSE(fs::exists(dir_ / "Compact.new.tdsx"));
  EXPECT_EQ(testing::read_bytes(compact_package), compact_bytes);
  // The package just written carries the note as a whole.
  const auto again =
      testing::run_hyperdefrag({"--json", "--min-gain", "10%", (dir_ / "Mixed.new.twbx").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto again_json = nlohmann::json::parse(again.out)["files"][0];
  EXPECT_EQ(again_json["skipped"], true);
  EXPECT_EQ(again_json["estimate"]["files"][0]["method"], "unchanged since compacted");
}

TEST_F(MinGainCli, DryRunShowsTheEstimateAndWhatWouldBeSkipped) {
  const auto frag = fragmented("frag.hyper");
  const auto plain = compact("plain.hyper");
  const auto result =
      testing::run_hyperdefrag({"-n", "--min-gain", "10%", frag.string(), plain.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Would defragment " + frag.string())) << result.out;
  EXPECT_TRUE(contains(result.out, "% (reaches --min-gain 10%)")) << result.out;
  EXPECT_TRUE(contains(result.out, fmt::format("Would skip {}: estimated saving 0.0% (below "
                                               "--min-gain 10%)",
                                               plain.string())))
      << result.out;
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"frag.hyper", "plain.hyper", "tmp"}),
            std::vector<std::string>{});
  const auto json = nlohmann::json::parse(
      testing::run_hyperdefrag({"-n", "--json", "--min-gain", "10%", frag.string(), plain.string()})
          .out);
  EXPECT_EQ(json["files"][0]["skipped"], false);
  EXPECT_EQ(json["files"][1]["skipped"], true);
  EXPECT_EQ(json["files"][1]["estimate"]["files"][0]["below_min_gain"], true);
}

// check's scratch databases go under TMPDIR; when that file system fills up,
// check and --min-gain (which estimates the same way) both say so, exit 8,
// and leave nothing there. The file is compact, so the live share cannot
// answer and the estimate must copy its tables into a scratch database.
TEST_F(MinGainCli, AFullDiskUnderTheEstimateIsExitEightForCheckAndDefrag) {
  testing::SmallFileSystem small(dir_ / "small", "512k");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  setenv("TMPDIR", (dir_ / "small").c_str(), 1);
  const auto input = compact("in.hyper");
  const auto before = testing::read_bytes(input);
  const auto output = dir_ / "out.hyper";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", input.string()},
           {"--min-gain", "99%", "-o", output.string(), input.string()}}) {
    const auto result = testing::run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, 8) << args[0] << ": " << result.err;
    EXPECT_TRUE(contains(result.err, "the disk under check's scratch databases (" +
                                         (dir_ / "small").string() + ") is full"))
        << result.err;
    EXPECT_TRUE(contains(result.err, input.string())) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_EQ(testing::unexpected_files(dir_ / "small", {}), std::vector<std::string>{})
        << args[0];
  }
  EXPECT_FALSE(fs::exists(output));
  EXPECT_TRUE(testing::has_bytes(input, before));
  setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
}

TEST_F(MinGainCli, BadThresholdTextIsExitTwoAndNothingIsWritten) {
  const auto file = fragmented("frag.hyper");
  for (const std::string text : {"ten", "150%", "-5%", "10 parsecs", ""}) {
    const auto result = testing::run_hyperdefrag({"--min-gain", text, file.string()});
    EXPECT_EQ(result.exit_code, 2) << text << ": " << result.err;
    EXPECT_TRUE(contains(result.err, "--min-gain")) << result.err;
    EXPECT_FALSE(fs::exists(dir_ / "frag.new.hyper")) << text;
  }
  const auto result = testing::run_hyperdefrag({"--min-gain", "ten", file.string()});
  EXPECT_EQ(result.err,
            "hyperdefrag: --min-gain: 'ten' is not a saving threshold: expected a percent (10%) "
            "or a size (64MiB, 100MB, 4096) (see --help)\n");
}

}  // namespace
}  // namespace hyperdefrag
