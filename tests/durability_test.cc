// Durability: a copy renamed into place before its bytes are on disk, or a
// rename that is not on disk yet, can leave an empty or missing file after a
// power cut. No test can cut the power, and a run without its fsyncs behaves
// exactly like one with them, so this test records the tool's own fsync,
// fdatasync and rename calls with strace (a Debian package scripts/setup.sh
// installs) and checks their order: the temporary copy is synced, then
// renamed to its final name, then its directory is synced.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

std::optional<std::string> strace_binary() {
  for (const char* path : {"/usr/bin/strace", "/bin/strace"}) {
    if (access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The index of the first line at or after `from` holding every one of
// `parts`, or -1.
long find_line(const std::vector<std::string>& lines, const std::vector<std::string>& parts,
               long from = 0) {
  for (long i = from; i < static_cast<long>(lines.size()); ++i) {
    bool all = true;
    for (const auto& part : parts) all = all && contains(lines[i], part);
    if (all) return i;
  }
  return -1;
}

class Durability : public ::testing::TestWithParam<bool> {};

// The calls of the run that writes `final_name` in `dir_` (a new output, or
// the input replaced in place), in the order the tool made them.
TEST_P(Durability, TheCopyIsSyncedThenRenamedThenItsDirectorySynced) {
  const auto strace = strace_binary();
  if (!strace) GTEST_SKIP() << "strace is not installed (scripts/setup.sh installs it)";
  testing::ScratchDir dir;
  const auto log = dir / "calls.log";
  const std::vector<std::string> prefix = {
      *strace,     "-qq",         "-e", "trace=fsync,fdatasync,rename,renameat,renameat2",
      "-e",        "signal=none", "-y", "-o",
      log.string()};
  // ptrace may be forbidden here (a container without the capability).
  std::vector<std::string> probe = {"--version"};
  const auto probed = testing::run_hyperdefrag(probe, prefix);
  if (probed.exit_code != 0) {
    GTEST_SKIP() << "strace cannot trace a process here: " << probed.err;
  }

  const bool in_place = GetParam();
  const auto input = dir / "in.hyper";
  testing::make_small_fragmented(input, 5'000);
  const auto final_path = in_place ? input : dir / "out.hyper";
  const std::vector<std::string> args =
      in_place ? std::vector<std::string>{"--in-place", input.string()}
               : std::vector<std::string>{"-o", final_path.string(), input.string()};
  const auto result = testing::run_hyperdefrag(args, prefix);
  ASSERT_EQ(result.exit_code, 0) << result.err;

  const auto lines = read_lines(log);
  const std::string all = fmt::format("the calls:\n{}", fmt::join(lines, "\n"));
  // Descriptors are shown by their resolved paths.
  const fs::path real_dir = fs::canonical(dir.path());
  const std::string temp_prefix = (real_dir / ("." + final_path.filename().string())).string();
  // fsync(3</dir/.out.hyper.hyperdefrag-123-0.tmp.hyper>) = 0
  const long synced =
      find_line(lines, {"fsync(", "<" + temp_prefix + ".hyperdefrag-", ".tmp.hyper>", "= 0"});
  ASSERT_GE(synced, 0) << "the copy was never synced; " << all;
  // rename("/dir/.out.hyper....tmp.hyper", "/dir/out.hyper") = 0, or renameat2(...)
  const long renamed =
      find_line(lines, {"rename", "\"" + final_path.string() + "\"", "= 0"}, synced);
  ASSERT_GE(renamed, 0) << "no rename to " << final_path << " after the copy was synced; " << all;
  const long dir_synced =
      find_line(lines, {"fsync(", "<" + real_dir.string() + ">", "= 0"}, renamed);
  EXPECT_GE(dir_synced, 0) << "the directory was not synced after the rename; " << all;
}

INSTANTIATE_TEST_SUITE_P(NewOutputAndInPlace, Durability, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "in_place" : "new_output"; });

}  // namespace
}  // namespace hyperdefrag
