// Many files on many machines: shards run as separate processes with the job
// runners' variables, a shard killed and resumed from its results directory,
// a manifest, and the bad inputs of each.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "batch/results.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;
using testing::run_hyperdefrag;
using Json = nlohmann::json;

// The runners' variables cleared, then `set` (NAME=value) set: a prefix for
// RunningTool, so that the test's own environment cannot leak a shard in.
std::vector<std::string> with_environment(const std::vector<std::string>& set) {
  std::vector<std::string> prefix = {"/usr/bin/env"};
  for (const char* name : {"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
                           "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"}) {
    prefix.push_back("-u");
    prefix.push_back(name);
  }
  prefix.insert(prefix.end(), set.begin(), set.end());
  return prefix;
}

// Two small fragmented files of different sizes, made once, copied into each
// test's tree.
class ShardCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_ = new testing::ScratchDir;
    testing::make_small_fragmented(*made_ / "small.hyper", 3'000, 1);
    testing::make_small_fragmented(*made_ / "large.hyper", 20'000, 2);
  }
  static void TearDownTestSuite() {
    delete made_;
    made_ = nullptr;
  }
  // `names` copies, alternately of the small and the large file, and a broken
  // file "broken.hyper" if asked.
  static std::vector<fs::path> tree(const fs::path& dir, const std::vector<std::string>& names,
                                    bool broken) {
    fs::create_directories(dir);
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < names.size(); ++i) {
      files.push_back(dir / names[i]);
      fs::create_directories(files.back().parent_path());
      fs::copy_file(*made_ / (i % 2 == 0 ? "small.hyper" : "large.hyper"), files.back());
    }
    if (broken) testing::write_bytes(dir / "broken.hyper", "definitely not a database");
    return files;
  }
  static testing::ScratchDir* made_;
};
testing::ScratchDir* ShardCli::made_ = nullptr;

Json results_json(const fs::path& dir) {
  const auto result = run_hyperdefrag({"results", "--json", dir.string()});
  EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 10) << result.err;
  return Json::parse(result.out);
}

// Each input of a results document, relative to `base`: its status and exit
// code, and its size before.
std::map<std::string, std::string> outcomes(const Json& merged, const fs::path& base) {
  std::map<std::string, std::string> by_input;
  for (const auto& result : merged["results"]) {
    by_input[fs::path(result["input"].get<std::string>()).lexically_relative(base).string()] =
        fmt::format("{} {} {}", result["status"].get<std::string>(), result["exit_code"].get<int>(),
                    result["size_before"].get<std::uintmax_t>());
  }
  return by_input;
}

TEST_F(ShardCli, ShardsAsProcessesDoEachFileOnceAndMergeAsOneRun) {
  testing::ScratchDir dir;
  const std::vector<std::string> names = {"a.hyper", "b.hyper", "c.hyper", "sub/d.hyper",
                                          "sub/e.hyper", "f.hyper", "g.hyper", "sub/h.hyper"};
  const auto files = tree(dir / "sharded", names, true);
  tree(dir / "single", names, true);

  // The same tree as one run...
  const auto single = run_hyperdefrag({"-r", "--results-dir", (dir / "single-results").string(),
                                       (dir / "single").string()});
  EXPECT_EQ(single.exit_code, 10) << single.err;

  // ... and as three shards at once: two Slurm array tasks (--array=1-3, with
  // MIN and MAX) and the last as a Kubernetes Indexed Job's index 2 of 3.
  const auto results = dir / "results";
  const std::vector<std::vector<std::string>> runners = {
      {"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=3"},
      {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=3",
       "SLURM_ARRAY_TASK_COUNT=3"},
      {"JOB_COMPLETION_INDEX=2"}};
  std::vector<std::unique_ptr<testing::RunningTool>> shards;
  for (const auto& runner : runners) {
    shards.push_back(std::make_unique<testing::RunningTool>(
        std::vector<std::string>{"-r", "--shard", "auto", "--shards", "3", "--results-dir",
                                 results.string(), "--json", (dir / "sharded").string()},
        with_environment(runner)));
  }
  std::map<std::string, int> shard_of;  // input -> the shard that reported it
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const auto run = shards[k]->wait();
    ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 10) << run.exit_code << run.err;
    const auto report = Json::parse(run.out);
    EXPECT_EQ(report["shard"]["k"], k + 1);
    EXPECT_EQ(report["shard"]["n"], 3);
    for (const auto& file : report["files"]) {
      const auto input = file["input"].get<std::string>();
      EXPECT_FALSE(shard_of.contains(input))
          << input << " in shard " << shard_of[input] << " and " << k + 1;
      shard_of[input] = static_cast<int>(k + 1);
    }
  }
  // Every file in exactly one shard, and compacted.
  EXPECT_EQ(shard_of.size(), names.size() + 1);
  for (const auto& file : files) {
    EXPECT_TRUE(shard_of.contains(file.string())) << file;
    auto output = file;
    output.replace_extension(".new.hyper");
    EXPECT_EQ(testing::table_counts(output), testing::table_counts(file)) << file;
  }
  EXPECT_TRUE(shard_of.contains((dir / "sharded" / "broken.hyper").string()));

  // The merged results are the single run's, file by file.
  const auto merged = results_json(results);
  const auto alone = results_json(dir / "single-results");
  EXPECT_EQ(outcomes(merged, dir / "sharded"), outcomes(alone, dir / "single"));
  EXPECT_EQ(merged["done"], 8);
  EXPECT_EQ(merged["failed"], 1);
  EXPECT_EQ(merged["failed_by_exit_code"]["3"], 1);
  EXPECT_EQ(merged["exit_code"], 10);
  for (const auto& result : merged["results"]) {
    EXPECT_EQ(result["shard"], fmt::format("{}/3", shard_of.at(result["input"])));
  }
  const auto text = run_hyperdefrag({"results", results.string()});
  EXPECT_EQ(text.exit_code, 10);
  EXPECT_TRUE(contains(text.out, "9 files, 8 done, 0 skipped, 1 failed")) << text.out;
  EXPECT_TRUE(contains(text.out, "Exit code 3: 1 file")) << text.out;
}

TEST_F(ShardCli, AKilledShardResumesWithOnlyWhatWasNotDone) {
  // Eight files of one size and a small broken one: the split goes round in
  // path order, so shard 1/2 is a, c, f, h and the broken file (the
  // lightest shard takes it), run in path order: a, c, broken, f, h.
  testing::ScratchDir dir;
  const auto base = dir / "tree";
  fs::create_directories(base);
  for (const char* name : {"a", "b", "c", "e", "f", "g", "h", "i"}) {
    fs::copy_file(*made_ / "small.hyper", base / fmt::format("{}.hyper", name));
  }
  testing::write_bytes(base / "d-broken.hyper", "definitely not a database");
  const auto results = dir / "results";
  const std::vector<std::string> args = {"-r", "--shard", "1/2", "--results-dir",
                                         results.string(), base.string()};
  const auto result_of = [&](const char* name) {
    return batch::results::result_path(results, base / name);
  };
  {
    // Held at the broken file's error line: a and c are done and recorded, the
    // broken file's result is written, f has not started. Then kill -9.
    testing::RunningTool held(args, {}, testing::Stdout::stderr_held);
    for (int i = 0; i < 600 && !fs::exists(result_of("d-broken.hyper")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(fs::exists(result_of("d-broken.hyper")));
    kill(held.pid(), SIGKILL);
    EXPECT_EQ(held.wait().exit_code, 128 + SIGKILL);
  }
  EXPECT_TRUE(fs::exists(result_of("a.hyper")));
  EXPECT_TRUE(fs::exists(result_of("c.hyper")));
  EXPECT_FALSE(fs::exists(result_of("f.hyper")));
  EXPECT_FALSE(fs::exists(base / "f.new.hyper"));
  const auto a_done = batch::identity_of(base / "a.new.hyper");
  ASSERT_TRUE(a_done);

  // The re-run skips a and c, tries the broken file again and does f and h.
  const auto again = run_hyperdefrag(args);
  EXPECT_EQ(again.exit_code, 10) << again.err;
  EXPECT_TRUE(contains(again.out, fmt::format("Skipped {}: done by an earlier run",
                                              (base / "a.hyper").string())))
      << again.out;
  EXPECT_TRUE(contains(again.out, "Summary: 5 files, 2 succeeded, 2 skipped, 1 failed"))
      << again.out;
  EXPECT_TRUE(batch::identity_of(base / "a.new.hyper")->same_as(*a_done)) << "a was not redone";
  EXPECT_EQ(testing::table_counts(base / "f.new.hyper"), testing::table_counts(base / "f.hyper"));
  EXPECT_FALSE(fs::exists(base / "b.new.hyper")) << "shard 2's file";

  // The other shard, then the whole: each file once.
  EXPECT_EQ(run_hyperdefrag({"-r", "--shard", "2/2", "--results-dir", results.string(),
                             base.string()})
                .exit_code,
            0);
  const auto merged = results_json(results);
  EXPECT_EQ(merged["files"], 9);
  EXPECT_EQ(merged["done"], 8);
  EXPECT_EQ(merged["failed"], 1);
  std::set<std::string> inputs;
  for (const auto& result : merged["results"]) {
    EXPECT_TRUE(inputs.insert(result["input"].get<std::string>()).second) << result["input"];
  }
  EXPECT_EQ(merged["not_results"].size(), 0u);
}

TEST_F(ShardCli, AResumedInPlaceRunSkipsWhatItReplaced) {
  testing::ScratchDir dir;
  tree(dir / "tree", {"a.hyper", "b.hyper"}, false);
  const auto results = dir / "results";
  const std::vector<std::string> args = {"-r", "--in-place", "--results-dir", results.string(),
                                         (dir / "tree").string()};
  const auto first = run_hyperdefrag(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto compacted = batch::identity_of(dir / "tree" / "b.hyper");
  const auto again = run_hyperdefrag(args);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "Summary: 2 files, 0 succeeded, 2 skipped, 0 failed"))
      << again.out;
  EXPECT_TRUE(batch::identity_of(dir / "tree" / "b.hyper")->same_as(*compacted));
}

TEST_F(ShardCli, AManifestRunsItsFilesAndReportsTheGoneAndTheChanged) {
  testing::ScratchDir dir;
  const auto files = tree(dir / "tree", {"a.hyper", "b.hyper", "sub/c.hyper", "sub/d.hyper"},
                          false);
  const auto manifest = dir / "manifest.jsonl";
  const auto planned =
      run_hyperdefrag({"plan", "-r", (dir / "tree").string(), "--output", manifest.string()});
  ASSERT_EQ(planned.exit_code, 0) << planned.err;
  EXPECT_TRUE(contains(planned.out, "Planned 4 files")) << planned.out;
  std::vector<Json> lines;
  std::istringstream text(testing::read_bytes(manifest));
  for (std::string line; std::getline(text, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["path"], files[i].string()) << "sorted by path";
    EXPECT_EQ(lines[i]["size"], fs::file_size(files[i]));
    EXPECT_EQ(lines[i]["format_version"], testing::format_version(files[i]));
    EXPECT_GT(lines[i]["estimated_saving"].get<double>(), 0) << lines[i].dump();
  }
  // --min-gain: a saving of 99% is not estimated for any of them.
  const auto none = run_hyperdefrag({"plan", "-r", "--min-gain", "99%", (dir / "tree").string(),
                                     "--output", "-"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");

  // One file gone, one changed, since the manifest was made.
  fs::remove(files[1]);
  fs::copy_file(*made_ / "large.hyper", files[2], fs::copy_options::overwrite_existing);
  const auto changed = testing::read_bytes(files[2]);
  const auto run = run_hyperdefrag({"--manifest", manifest.string(), "--results-dir",
                                    (dir / "results").string()});
  EXPECT_EQ(run.exit_code, 10) << run.err;
  EXPECT_TRUE(contains(run.err, fmt::format("{}: is gone since the manifest was made",
                                            files[1].string())))
      << run.err;
  EXPECT_TRUE(contains(run.err, fmt::format("{}: changed since the manifest was made",
                                            files[2].string())))
      << run.err;
  EXPECT_TRUE(testing::has_bytes(files[2], changed));
  EXPECT_FALSE(fs::exists(dir / "tree" / "sub" / "c.new.hyper"));
  EXPECT_TRUE(fs::exists(dir / "tree" / "a.new.hyper"));
  EXPECT_TRUE(fs::exists(dir / "tree" / "sub" / "d.new.hyper"));
  const auto merged = results_json(dir / "results");
  EXPECT_EQ(merged["done"], 2);
  EXPECT_EQ(merged["failed_by_exit_code"]["3"], 2);
}

TEST_F(ShardCli, AManifestLineThatIsNotOneFailsAloneAndANonManifestFailsWhole) {
  testing::ScratchDir dir;
  const auto files = tree(dir / "tree", {"a.hyper"}, false);
  const auto good = run_hyperdefrag({"plan", files[0].string(), "--output", "-"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  testing::write_bytes(dir / "m.jsonl", "{\"path\": 12}\n" + good.out + "not json at all\n");
  const auto run = run_hyperdefrag({"--manifest", (dir / "m.jsonl").string()});
  EXPECT_EQ(run.exit_code, 10) << run.err;
  EXPECT_TRUE(contains(run.err, fmt::format("{}:1: not a manifest line", (dir / "m.jsonl").string())))
      << run.err;
  EXPECT_TRUE(contains(run.err, fmt::format("{}:3: not a manifest line", (dir / "m.jsonl").string())))
      << run.err;
  EXPECT_TRUE(fs::exists(dir / "tree" / "a.new.hyper"));

  // The .hyper file itself given as the manifest: one clear error, exit 3.
  const auto wrong = run_hyperdefrag({"--manifest", files[0].string()});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  EXPECT_TRUE(contains(wrong.err, fmt::format("{}: is not a manifest (JSON lines from hyperdefrag "
                                              "plan): line 1",
                                              files[0].string())))
      << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  const auto both = run_hyperdefrag({"--manifest", (dir / "m.jsonl").string(), files[0].string()});
  EXPECT_EQ(both.exit_code, 2) << both.err;
}

TEST_F(ShardCli, BadShardsExitTwoBeforeAnyWork) {
  testing::ScratchDir dir;
  const auto files = tree(dir.path(), {"a.hyper"}, false);
  const auto bytes = testing::read_bytes(files[0]);
  for (const char* bad : {"0/0", "5/4", "a/b"}) {
    const auto result = run_hyperdefrag({"--shard", bad, files[0].string()});
    EXPECT_EQ(result.exit_code, 2) << bad;
    EXPECT_TRUE(contains(result.err, fmt::format("--shard {}: expected K/N with 1 <= K <= N", bad)))
        << result.err;
  }
  const auto none = testing::RunningTool({"--shard", "auto", "--shards", "4", files[0].string()},
                                         with_environment({}))
                        .wait();
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(contains(none.err, "--shard auto: neither JOB_COMPLETION_INDEX")) << none.err;
  const auto no_count =
      testing::RunningTool({"--shard", "auto", files[0].string()},
                           with_environment({"JOB_COMPLETION_INDEX=1"}))
          .wait();
  EXPECT_EQ(no_count.exit_code, 2);
  EXPECT_TRUE(contains(no_count.err, "not --shards N")) << no_count.err;
  EXPECT_EQ(run_hyperdefrag({"--shards", "4", files[0].string()}).exit_code, 2);
  EXPECT_TRUE(testing::has_bytes(files[0], bytes));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"a.hyper"}), std::vector<std::string>{});
}

TEST_F(ShardCli, AResultsDirectoryThatCannotBeWrittenExitsFourBeforeAnyWork) {
  testing::ScratchDir dir;
  const auto files = tree(dir / "tree", {"a.hyper", "b.hyper"}, false);
  testing::write_bytes(dir / "a-file", "x");
  std::vector<std::pair<fs::path, std::vector<std::string>>> cases = {
      {dir / "a-file", {}}, {dir / "a-file" / "below", {}}};
  const auto nobody = testing::as_nobody();
  if (nobody) {
    // A directory nobody may write, for a run as nobody.
    fs::create_directories(dir / "closed");
    fs::permissions(dir / "closed", fs::perms::owner_all | fs::perms::group_exec |
                                        fs::perms::others_exec | fs::perms::others_read);
    fs::permissions(dir.path(), fs::perms::others_exec, fs::perm_options::add);
    cases.push_back({dir / "closed", *nobody});
  }
  for (const auto& [results, prefix] : cases) {
    const auto result = run_hyperdefrag(
        {"-r", "--results-dir", results.string(), (dir / "tree").string()}, prefix);
    EXPECT_EQ(result.exit_code, 4) << results << ": " << result.err;
    EXPECT_TRUE(contains(result.err, results.string() + ": ")) << result.err;
    EXPECT_EQ(testing::unexpected_files(dir / "tree", {"a.hyper", "b.hyper"}),
              std::vector<std::string>{})
        << "no work was done";
  }
  const auto missing = run_hyperdefrag({"results", (dir / "missing").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}

}  // namespace
}  // namespace hyperdefrag
