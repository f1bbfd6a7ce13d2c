#include "batch/shard.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <numeric>

#include "util/error.h"

namespace hyperdefrag::batch {
namespace {

// A whole decimal number, nothing around it.
std::optional<std::size_t> number(std::string_view text) {
  std::size_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// A variable that must hold a whole number.
std::optional<std::size_t> number_variable(const Environment& environment,
                                           const std::string& name) {
  const auto value = environment(name);
  if (!value) return std::nullopt;
  const auto parsed = number(*value);
  if (!parsed) {
    throw Error(ExitCode::usage,
                fmt::format("--shard auto: {}={} is not a whole number", name, *value));
  }
  return parsed;
}

Shard from_kubernetes(std::size_t index, std::optional<std::size_t> shards) {
  if (!shards) {
    throw Error(ExitCode::usage,
                "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but not "
                "--shards N (the Job's completions)");
  }
  if (*shards == 0 || index >= *shards) {
    throw Error(ExitCode::usage,
                fmt::format("--shard auto: JOB_COMPLETION_INDEX={} is not an index of --shards {} "
                            "(0 .. {})",
                            index, *shards, *shards == 0 ? 0 : *shards - 1));
  }
  return {index, *shards};
}

Shard from_slurm(const Environment& environment, std::size_t id,
                 std::optional<std::size_t> shards) {
  const auto count_variable = number_variable(environment, "SLURM_ARRAY_TASK_COUNT");
  const auto min = number_variable(environment, "SLURM_ARRAY_TASK_MIN");
  const auto max = number_variable(environment, "SLURM_ARRAY_TASK_MAX");
  std::size_t first = min.value_or(0);
  std::size_t count = 0;
  if (count_variable) {
    count = *count_variable;
  } else if (min && max && *max >= *min) {
    count = *max - *min + 1;
  } else {
    throw Error(ExitCode::usage,
                "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
                "SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX");
  }
  // Where the array does not start at 0, MIN says where it does; without it
  // the ids are taken to run 0 .. COUNT-1.
  std::size_t step = 1;
  if (min && max && count > 1 && *max > *min) {
    if ((*max - *min) % (count - 1) != 0) {
      throw Error(ExitCode::usage,
                  fmt::format("--shard auto: the Slurm array {}-{} with {} tasks is not evenly "
                              "spaced; use --array=0-{} (or --shard K/N)",
                              *min, *max, count, count - 1));
    }
    step = (*max - *min) / (count - 1);
  }
  if (count == 0 || id < first || (id - first) % step != 0 || (id - first) / step >= count) {
    throw Error(ExitCode::usage,
                fmt::format("--shard auto: SLURM_ARRAY_TASK_ID={} is not a task of an array of {} "
                            "starting at {}{}",
                            id, count, first, step > 1 ? fmt::format(" in steps of {}", step) : ""));
  }
  if (shards && *shards != count) {
    throw Error(ExitCode::usage,
                fmt::format("--shard auto: --shards {} differs from the Slurm array's {} tasks",
                            *shards, count));
  }
  return {(id - first) / step, count};
}

}  // namespace

Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  const auto k = number(text.substr(0, slash));
  const auto n = slash == std::string_view::npos ? std::nullopt : number(text.substr(slash + 1));
  if (!k || !n || *n == 0 || *k == 0 || *k > *n) {
    throw Error(ExitCode::usage,
                fmt::format("--shard {}: expected K/N with 1 <= K <= N (\"1/4\" is the first of "
                            "four shards), or auto",
                            text));
  }
  return {*k - 1, *n};
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Shard shard_from_environment(const Environment& environment, std::optional<std::size_t> shards) {
  const auto kubernetes = number_variable(environment, "JOB_COMPLETION_INDEX");
  const auto slurm = number_variable(environment, "SLURM_ARRAY_TASK_ID");
  if (kubernetes && slurm) {
    throw Error(ExitCode::usage,
                "--shard auto: both JOB_COMPLETION_INDEX (Kubernetes) and SLURM_ARRAY_TASK_ID "
                "(Slurm) are set; give --shard K/N");
  }
  if (kubernetes) return from_kubernetes(*kubernetes, shards);
  if (slurm) return from_slurm(environment, *slurm, shards);
  throw Error(ExitCode::usage,
              "--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor "
              "SLURM_ARRAY_TASK_ID (Slurm job array) is set; give --shard K/N");
}

std::vector<std::size_t> assign_shards(const std::vector<ShardItem>& items, std::size_t count) {
  count = std::max<std::size_t>(count, 1);
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].bytes != items[b].bytes) return items[a].bytes > items[b].bytes;
    return items[a].key < items[b].key;
  });
  std::vector<std::uintmax_t> load(count, 0);
  std::vector<std::size_t> shard(items.size(), 0);
  for (const auto item : order) {
    // The first of the lightest shards.
    const auto lightest =
        static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    shard[item] = lightest;
    load[lightest] += items[item].bytes;
  }
  return shard;
}

double Balance::worst_ratio() const {
  if (bytes.empty() || total == 0) return 1;
  return static_cast<double>(*std::max_element(bytes.begin(), bytes.end())) / ideal;
}

Balance balance_of(const std::vector<ShardItem>& items, const std::vector<std::size_t>& shards,
                   std::size_t count) {
  Balance balance;
  balance.bytes.assign(count, 0);
  balance.files.assign(count, 0);
  for (std::size_t i = 0; i < items.size(); ++i) {
    balance.bytes.at(shards.at(i)) += items[i].bytes;
    balance.files.at(shards.at(i)) += 1;
    balance.total += items[i].bytes;
    balance.largest_file = std::max(balance.largest_file, items[i].bytes);
  }
  balance.ideal = count == 0 ? 0 : static_cast<double>(balance.total) / static_cast<double>(count);
  return balance;
}

}  // namespace hyperdefrag::batch
