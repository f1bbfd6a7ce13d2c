// The sharding arithmetic, without an engine: K/N and the runners'
// variables, and the split itself (deterministic, disjoint, covering, even).
#include "batch/shard.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "util/error.h"

namespace hyperdefrag::batch {
namespace {

Environment environment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

// The message of the usage error that `run` throws ("" if none).
template <typename F>
std::string usage_error(F run) {
  try {
    run();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::usage) << error.what();
    return error.what();
  }
  return "";
}

TEST(Shard, ExplicitFormCountsFromOne) {
  EXPECT_EQ(parse_shard("1/4").index, 0u);
  EXPECT_EQ(parse_shard("1/4").count, 4u);
  EXPECT_EQ(parse_shard("4/4").index, 3u);
  EXPECT_EQ(parse_shard("1/1").count, 1u);
  for (const char* bad : {"0/0", "5/4", "a/b", "0/4", "1/0", "1/", "/4", "4", "1/4x", "-1/4",
                          " 1/4", "1/4/4", ""}) {
    const auto message = usage_error([&] { parse_shard(bad); });
    EXPECT_NE(message.find(fmt::format("--shard {}: expected K/N", bad)), std::string::npos)
        << bad << ": " << message;
  }
}

TEST(Shard, KubernetesIndexIsZeroBasedWithShards) {
  const auto shard = shard_from_environment(environment({{"JOB_COMPLETION_INDEX", "2"}}), 4);
  EXPECT_EQ(shard.index, 2u);
  EXPECT_EQ(shard.count, 4u);
  EXPECT_EQ(shard_from_environment(environment({{"JOB_COMPLETION_INDEX", "0"}}), 1).index, 0u);
  EXPECT_NE(usage_error([] {
              shard_from_environment(environment({{"JOB_COMPLETION_INDEX", "2"}}), std::nullopt);
            }).find("not --shards N"),
            std::string::npos);
  EXPECT_NE(usage_error([] {
              shard_from_environment(environment({{"JOB_COMPLETION_INDEX", "4"}}), 4);
            }).find("JOB_COMPLETION_INDEX=4 is not an index of --shards 4"),
            std::string::npos);
  EXPECT_NE(usage_error([] {
              shard_from_environment(environment({{"JOB_COMPLETION_INDEX", "x"}}), 4);
            }).find("JOB_COMPLETION_INDEX=x is not a whole number"),
            std::string::npos);
}

TEST(Shard, SlurmTaskIsItsPlaceInTheArray) {
  struct Case {
    std::map<std::string, std::string> variables;
    std::size_t index, count;
  };
  const std::vector<Case> cases = {
      // --array=0-3
      {{{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, 3, 4},
      {{{"SLURM_ARRAY_TASK_ID", "0"},
        {"SLURM_ARRAY_TASK_COUNT", "4"},
        {"SLURM_ARRAY_TASK_MIN", "0"},
        {"SLURM_ARRAY_TASK_MAX", "3"}},
       0,
       4},
      // --array=1-4, with and without COUNT
      {{{"SLURM_ARRAY_TASK_ID", "1"},
        {"SLURM_ARRAY_TASK_COUNT", "4"},
        {"SLURM_ARRAY_TASK_MIN", "1"},
        {"SLURM_ARRAY_TASK_MAX", "4"}},
       0,
       4},
      {{{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "4"}},
       3,
       4},
      // --array=0-12:4
      {{{"SLURM_ARRAY_TASK_ID", "8"},
        {"SLURM_ARRAY_TASK_COUNT", "4"},
        {"SLURM_ARRAY_TASK_MIN", "0"},
        {"SLURM_ARRAY_TASK_MAX", "12"}},
       2,
       4},
  };
  for (const auto& c : cases) {
    const auto shard = shard_from_environment(environment(c.variables), std::nullopt);
    EXPECT_EQ(shard.index, c.index) << c.variables.at("SLURM_ARRAY_TASK_ID");
    EXPECT_EQ(shard.count, c.count);
  }
  EXPECT_EQ(shard_from_environment(environment(cases[0].variables), 4).count, 4u);
  EXPECT_NE(usage_error([&] { shard_from_environment(environment(cases[0].variables), 5); })
                .find("--shards 5 differs from the Slurm array's 4 tasks"),
            std::string::npos);
  EXPECT_NE(usage_error([] {
              shard_from_environment(environment({{"SLURM_ARRAY_TASK_ID", "3"}}), std::nullopt);
            }).find("neither SLURM_ARRAY_TASK_COUNT"),
            std::string::npos);
  EXPECT_NE(usage_error([] {
              shard_from_environment(
                  environment({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}),
                  std::nullopt);
            }).find("SLURM_ARRAY_TASK_ID=4 is not a task of an array of 4"),
            std::string::npos);
  // --array=1,2,7: not evenly spaced.
  EXPECT_NE(usage_error([] {
              shard_from_environment(environment({{"SLURM_ARRAY_TASK_ID", "2"},
                                                  {"SLURM_ARRAY_TASK_COUNT", "3"},
                                                  {"SLURM_ARRAY_TASK_MIN", "1"},
                                                  {"SLURM_ARRAY_TASK_MAX", "7"}}),
                                     std::nullopt);
            }).find("is not a task of an array of 3 starting at 1 in steps of 3"),
            std::string::npos);
}

TEST(Shard, AutoWithoutARunnerIsAnError) {
  EXPECT_NE(usage_error([] { shard_from_environment(environment({}), 4); })
                .find("neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor "
                      "SLURM_ARRAY_TASK_ID (Slurm job array) is set"),
            std::string::npos);
  EXPECT_NE(usage_error([] {
              shard_from_environment(
                  environment({{"JOB_COMPLETION_INDEX", "0"}, {"SLURM_ARRAY_TASK_ID", "0"}}), 2);
            }).find("both"),
            std::string::npos);
}

// Files of mixed sizes, from a few KiB to some hundred MiB, the same every run.
std::vector<ShardItem> mixed_files(std::size_t count, unsigned seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> exponent(12, 26);  // 4 KiB .. 64 MiB, log-uniform
  std::vector<ShardItem> items;
  for (std::size_t i = 0; i < count; ++i) {
    items.push_back({fmt::format("/data/extracts/{:04}.hyper", (i * 7919) % count),
                     static_cast<std::uintmax_t>(std::pow(2.0, exponent(random)))});
  }
  return items;
}

TEST(Shard, SplitIsTheSameWhateverTheOrder) {
  const auto items = mixed_files(120, 1);
  const auto assigned = assign_shards(items, 4);
  std::map<std::string, std::size_t> by_path;
  for (std::size_t i = 0; i < items.size(); ++i) by_path[items[i].key] = assigned[i];
  auto shuffled = items;
  std::mt19937 random(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    const auto again = assign_shards(shuffled, 4);
    for (std::size_t i = 0; i < shuffled.size(); ++i) {
      EXPECT_EQ(again[i], by_path.at(shuffled[i].key)) << shuffled[i].key;
    }
  }
}

TEST(Shard, EqualSizesGoRoundInPathOrder) {
  const std::vector<ShardItem> items = {{"d", 10}, {"b", 10}, {"a", 10}, {"c", 10}, {"e", 1}};
  EXPECT_EQ(assign_shards(items, 2), (std::vector<std::size_t>{1, 1, 0, 0, 0}));
}

TEST(Shard, EveryFileInExactlyOneShardAndTheBytesEven) {
  for (const std::size_t shards : {2u, 3u, 4u, 8u, 16u}) {
    for (const unsigned seed : {1u, 2u, 3u}) {
      const auto items = mixed_files(10 * shards + seed, seed);
      const auto assigned = assign_shards(items, shards);
      ASSERT_EQ(assigned.size(), items.size());
      // Every file has one shard, in range; the shards' lists are disjoint by
      // construction (one index per file) and together hold every file.
      for (const auto shard : assigned) EXPECT_LT(shard, shards);
      const auto balance = balance_of(items, assigned, shards);
      std::size_t files = 0;
      for (const auto count : balance.files) files += count;
      EXPECT_EQ(files, items.size());
      const double worst = balance.worst_ratio();
      const double largest = static_cast<double>(balance.largest_file) / balance.ideal;
      std::cout << fmt::format(
          "[ balance  ] {} files over {} shards (seed {}): the fullest shard holds {:.3f} times "
          "the ideal share; the largest file alone {:.3f}\n",
          items.size(), shards, seed, worst, largest);
      if (largest <= 1.2) {
        EXPECT_LE(worst, 1.2) << shards << " shards, seed " << seed;
      } else {
        // One file is larger than that: its shard is never the lightest
        // again, so it holds that file alone.
        const auto biggest = static_cast<std::size_t>(
            std::max_element(items.begin(), items.end(),
                             [](const auto& a, const auto& b) { return a.bytes < b.bytes; }) -
            items.begin());
        EXPECT_EQ(balance.files[assigned[biggest]], 1u) << shards << " shards, seed " << seed;
      }
    }
  }
}

TEST(Shard, TwoHundredSmallFilesOverFour) {
  // The benchmark's shape (bench/shards.sh): 200 files, 4 shards.
  const auto items = mixed_files(200, 42);
  const auto balance = balance_of(items, assign_shards(items, 4), 4);
  std::cout << fmt::format("[ balance  ] 200 files over 4 shards: {} files, fullest {:.4f}x ideal\n",
                           fmt::join(balance.files, "/"), balance.worst_ratio());
  EXPECT_LE(balance.worst_ratio(), 1.2);
}

}  // namespace
}  // namespace hyperdefrag::batch
