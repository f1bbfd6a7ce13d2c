// Many files in one run: several inputs, globs, -r, -j, --dry-run, and exit codes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

using testing::contains;

// A folder of extracts: two good ones (one in a subfolder) and a broken one.
struct Folder {
  testing::ScratchDir dir;
  Folder() {
    fs::create_directories(dir / "sub");
    testing::make_small_fragmented(dir / "a.hyper", 60'000, 2);
    testing::make_small_fragmented(dir / "sub" / "b.hyper", 40'000, 1);
    testing::write_bytes(dir / "sub" / "broken.hyper", "definitely not a database");
    testing::write_bytes(dir / "notes.txt", "not an extract");
  }
};

TEST(Batch, RecursiveRunGoesOnAfterAFailureAndSummarises) {
  Folder folder;
  const auto& dir = folder.dir;
  const auto broken = testing::read_bytes(dir / "sub" / "broken.hyper");
  const auto result = run_hyperdefrag(
      {"-r", "-j", "2", "--report", (dir / "r.json").string(), dir.path().string()});
  EXPECT_EQ(result.exit_code, 10) << result.err;
  EXPECT_TRUE(fs::exists(dir / "a.new.hyper"));
  EXPECT_TRUE(fs::exists(dir / "sub" / "b.new.hyper"));
  EXPECT_EQ(testing::table_counts(dir / "a.new.hyper"), testing::table_counts(dir / "a.hyper"));
  EXPECT_EQ(testing::table_counts(dir / "sub" / "b.new.hyper"),
            testing::table_counts(dir / "sub" / "b.hyper"));
  EXPECT_TRUE(testing::has_bytes(dir / "sub" / "broken.hyper", broken));
  EXPECT_EQ(testing::unexpected_files(dir / "sub", {"b.hyper", "b.new.hyper", "broken.hyper"}),
            std::vector<std::string>{});
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "broken.hyper: is not a Hyper database")) << result.err;
  EXPECT_TRUE(contains(result.out, "Summary: 3 files, 2 succeeded, 1 failed")) << result.out;
  EXPECT_TRUE(contains(result.out, fmt::format("  ok      {} -> {}", (dir / "a.hyper").string(),
                                               (dir / "a.new.hyper").string())));
  EXPECT_TRUE(contains(result.out, fmt::format("  FAILED  {} (exit code 3)",
                                               (dir / "sub" / "broken.hyper").string())));
  const auto json = nlohmann::json::parse(testing::read_bytes(dir / "r.json"));
  EXPECT_EQ(json["exit_code"], 10);
  EXPECT_EQ(json["totals"]["failed"], 1);
  ASSERT_EQ(json["files"].size(), 3u);

  // A second run skips the outputs of the first and fails on each existing output.
  const auto again = run_hyperdefrag({"-r", dir.path().string()});
  EXPECT_EQ(again.exit_code, 10);
  EXPECT_TRUE(contains(again.out, "Summary: 3 files, 0 succeeded, 3 failed")) << again.out;
  EXPECT_FALSE(contains(again.out, "a.new.new.hyper")) << again.out;
}

TEST(Batch, SeveralInputsAndAGlobPattern) {
  Folder folder;
  const auto& dir = folder.dir;
  // The pattern is quoted, as a script might pass it: hyperdefrag expands it.
  const auto result =
      run_hyperdefrag({(dir / "sub" / "b.hyper").string(), (dir / "a*.hyper").string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::exists(dir / "a.new.hyper"));
  EXPECT_TRUE(fs::exists(dir / "sub" / "b.new.hyper"));
  EXPECT_TRUE(contains(result.out, "Summary: 2 files, 2 succeeded, 0 failed")) << result.out;
}

TEST(Batch, OneFileKeepsItsOwnExitCode) {
  testing::ScratchDir dir;
  testing::write_bytes(dir / "broken.hyper", "definitely not a database");
  const auto result = run_hyperdefrag({"-r", (dir / "broken.hyper").string()});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_EQ(result.out, "");
}

// One broken file among three, first, in the middle or last, with one file
// at a time (-j 1) and two (-j 2): the run's exit code is 10 wherever it
// stands, the broken file is named, and the other two are compacted.
class BatchFailurePosition : public ::testing::TestWithParam<std::tuple<int, int>> {
 protected:
  static void SetUpTestSuite() {
    good_ = new testing::ScratchDir;
    testing::make_small_fragmented(*good_ / "good.hyper", 4'000, 1);
  }
  static void TearDownTestSuite() {
    delete good_;
    good_ = nullptr;
  }
  static testing::ScratchDir* good_;
};
testing::ScratchDir* BatchFailurePosition::good_ = nullptr;

TEST_P(BatchFailurePosition, ExitCodeIsTenWherever) {
  const auto [broken_at, jobs] = GetParam();
  testing::ScratchDir dir;
  std::vector<std::string> args = {"-j", std::to_string(jobs)};
  for (int i = 0; i < 3; ++i) {
    const auto file = dir / fmt::format("{}.hyper", i);
    if (i == broken_at) {
      testing::write_bytes(file, "definitely not a database");
    } else {
      fs::copy_file(*good_ / "good.hyper", file);
    }
    args.push_back(file.string());
  }
  const auto result = run_hyperdefrag(args);
  EXPECT_EQ(result.exit_code, 10) << result.err;
  EXPECT_TRUE(
      contains(result.err, fmt::format("{}: is not a Hyper database",
                                       (dir / fmt::format("{}.hyper", broken_at)).string())))
      << result.err;
  EXPECT_TRUE(contains(result.out, "Summary: 3 files, 2 succeeded, 1 failed")) << result.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fs::exists(dir / fmt::format("{}.new.hyper", i)), i != broken_at) << i;
  }
}

std::string position_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const char* names[] = {"First", "Middle", "Last"};
  return fmt::format("{}J{}", names[std::get<0>(info.param)], std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(FirstMiddleLast, BatchFailurePosition,
                         ::testing::Combine(::testing::Values(0, 1, 2), ::testing::Values(1, 2)),
                         position_name);

TEST(Batch, DirectoryWithoutRecursiveOrExtractsIsBadInput) {
  testing::ScratchDir dir;
  fs::create_directory(dir / "empty");
  const auto without = run_hyperdefrag({(dir / "empty").string()});
  EXPECT_EQ(without.exit_code, 3);
  EXPECT_TRUE(contains(without.err, "is a directory")) << without.err;
  const auto with = run_hyperdefrag({"-r", (dir / "empty").string()});
  EXPECT_EQ(with.exit_code, 3);
  EXPECT_TRUE(contains(with.err, "holds no .hyper, .twbx or .tdsx file")) << with.err;
}

TEST(Batch, OutputOptionOnlyWithOneInput) {
  Folder folder;
  const auto& dir = folder.dir;
  const auto result =
      run_hyperdefrag({"-o", (dir / "x.hyper").string(), "-r", dir.path().string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "only valid with one input")) << result.err;
  EXPECT_FALSE(fs::exists(dir / "x.hyper"));
  EXPECT_FALSE(fs::exists(dir / "a.new.hyper"));
}

TEST(Batch, DryRunListsAndChangesNothing) {
  Folder folder;
  const auto& dir = folder.dir;
  testing::write_bytes(dir / "a.new.hyper", "an older output");
  const auto result = run_hyperdefrag({"--dry-run", "-r", dir.path().string()});
  EXPECT_EQ(result.exit_code, 10) << result.err;
  EXPECT_TRUE(
      contains(result.out, fmt::format("Would fail {} (exit code 4): {}: already exists",
                                       (dir / "a.hyper").string(), (dir / "a.new.hyper").string())))
      << result.out;
  EXPECT_TRUE(contains(result.out,
                       fmt::format("Would defragment {} (", (dir / "sub" / "b.hyper").string())))
      << result.out;
  EXPECT_TRUE(contains(
      result.out, fmt::format("into {}: needs up to ", (dir / "sub" / "b.new.hyper").string())))
      << result.out;
  EXPECT_TRUE(contains(result.out, "Would fail " + (dir / "sub" / "broken.hyper").string()))
      << result.out;
  EXPECT_TRUE(contains(result.out, "Dry run: 3 files; nothing was changed")) << result.out;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"a.hyper", "a.new.hyper", "sub", "notes.txt"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir / "sub", {"b.hyper", "broken.hyper"}),
            std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "a.new.hyper", "an older output"));

  const auto json_run =
      run_hyperdefrag({"--dry-run", "--json", (dir / "sub" / "b.hyper").string()});
  EXPECT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto json = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(json["dry_run"], true);
  EXPECT_EQ(json["files"][0]["output"], (dir / "sub" / "b.new.hyper").string());
  EXPECT_EQ(json["files"][0]["size_before"], fs::file_size(dir / "sub" / "b.hyper"));
  EXPECT_EQ(json["files"][0]["output_space_needed"], fs::file_size(dir / "sub" / "b.hyper"));
  EXPECT_FALSE(fs::exists(dir / "sub" / "b.new.hyper"));
}

// Ctrl-C during a batch, while the first file is held mid-copy
// (testing::HeldRun): its copy is cancelled, the files not yet started are
// not started, nothing is left behind, and the exit code is 130.
TEST(Batch, InterruptStopsTheWholeRun) {
  testing::ScratchDir dir;
  for (const char* name : {"f1.hyper", "f2.hyper", "f3.hyper"})
    fs::copy_file(testing::fragmented_fixture(), dir / name);
  testing::HeldRun run({"-r", dir.path().string()}, dir.path());
  ASSERT_TRUE(run.copying());
  ASSERT_EQ(kill(run.pid(), SIGINT), 0);
  const auto result = run.wait();
  EXPECT_EQ(result.exit_code, 130) << result.err;
  for (const char* name : {"f1.hyper", "f2.hyper", "f3.hyper"}) {
    EXPECT_TRUE(contains(result.err, (dir / name).string() + ": interrupted by SIGINT"))
        << result.err;
  }
  EXPECT_TRUE(testing::wait_gone(run.engine(), 5'000));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"f1.hyper", "f2.hyper", "f3.hyper"}),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace hyperdefrag
