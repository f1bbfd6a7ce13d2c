// Spreading the files of one batch over N machines, with no scheduler of our
// own: each machine runs the same command with its own shard, K of N, and
// takes only its share of the expanded input list. The share is computed from
// the list alone (paths and sizes), so every machine that sees the same list
// makes the same split, whatever order it discovered the files in:
//  1. Sort the files by size, largest first; equal sizes by path.
//  2. Give each file, in that order, to the shard holding the fewest bytes so
//     far (equal loads: the lowest shard).
// The shards are disjoint and together hold every file. Greedy largest-first
// puts at most 4/3 of the ideal share on the fullest shard in the worst case,
// and far less for many files of mixed sizes (shard_test.cc prints the figure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hyperdefrag::batch {

// Shard `index` (0-based) of `count`.
struct Shard {
  std::size_t index = 0;
  std::size_t count = 1;
};

// "K/N" as given to --shard: K counts from 1 ("1/4" .. "4/4", the first of
// four shards .. the last). Throws hyperdefrag::Error (usage) naming the text
// for anything else ("0/4", "5/4", "0/0", "a/b").
Shard parse_shard(std::string_view text);

// An environment variable's value, or nothing if unset (getenv for the real
// process; a map in tests).
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// --shard auto: this task's shard from its job runner, each numbered as the
// runner numbers it.
//  - Kubernetes Indexed Job: JOB_COMPLETION_INDEX, 0 .. N-1, with N from
//    `shards` (--shards N; the pod is not told the job's completions).
//  - Slurm job array: SLURM_ARRAY_TASK_ID, with SLURM_ARRAY_TASK_COUNT or
//    SLURM_ARRAY_TASK_MIN/MAX; the index is the task's place in the array
//    (--array=1-8 and --array=0-7 both give 0..7; a stepped array such as
//    0-15:4 works too). `shards`, if given, must equal the array's size.
// Throws hyperdefrag::Error (usage) naming the variables when neither runner's
// are set, both are, or their values do not make a shard.
Shard shard_from_environment(const Environment& environment, std::optional<std::size_t> shards);

// One file to place: a key that orders equal sizes (its path) and its bytes.
struct ShardItem {
  std::string key;
  std::uintmax_t bytes = 0;
};

// The shard (0-based) of each item, in the items' order; `count` >= 1.
std::vector<std::size_t> assign_shards(const std::vector<ShardItem>& items, std::size_t count);

// How evenly an assignment spread the bytes.
struct Balance {
  std::vector<std::uintmax_t> bytes;  // per shard
  std::vector<std::size_t> files;     // per shard
  std::uintmax_t total = 0;
  std::uintmax_t largest_file = 0;
  double ideal = 0;  // total / count
  // The fullest shard's bytes over the ideal share (1 when there are no bytes).
  double worst_ratio() const;
};
Balance balance_of(const std::vector<ShardItem>& items, const std::vector<std::size_t>& shards,
                   std::size_t count);

}  // namespace hyperdefrag::batch
