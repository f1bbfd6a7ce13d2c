// The estimate against a real defrag, on small generated files of each
// layout and version, on Tableau's own files, and on a file that is already
// compact: |estimate - actual| must stay within 5% of the input's size
// (issue 10; docs/CHECK.md has the table at larger sizes).
#include "check/check.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "catalog/catalog.h"
#include "engine/locate.h"
#include "fixture/fragmented.h"
#include "sql/attach.h"
#include "test_support.h"
#include "util/files.h"

namespace hyperdefrag::check {
namespace {
namespace fs = std::filesystem;

// A fragmented file made once in the test cache and shared by later runs (read-only).
fs::path cached_fragmented(const std::string& name, const fixture::FragmentedSpec& spec) {
  // (v2: the extract file grew from 800,000 to 1,400,000 rows, so that it is sampled.)
  const fs::path dir = fs::path(HYPERDEFRAG_TEST_CACHE) / "check-v2";
  fs::create_directories(dir);
  const auto file = dir / (name + ".hyper");
  const int lock = open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  flock(lock, LOCK_EX);
  if (!fs::exists(file)) {
    const auto temp = dir / fmt::format("{}-{}.tmp.hyper", name, getpid());
    fs::remove(temp);
    auto connection = testing::connect();
    fixture::make_fragmented_file(connection, temp, spec);
    fs::permissions(temp, fs::perms::owner_read);
    fs::rename(temp, file);
  }
  flock(lock, LOCK_UN);
  close(lock);
  return file;
}

// A real defrag's output size for `input` (with `extra` options), over three
// runs: their mean and half their range. One run is not a fixed target: the
// engine's parallel scan interleaves the rows differently each time, and the
// output size varies by up to 9% of a compact file (measured: 8.78 to 9.76 MB
// for one 9.4 MB input; 15.4 to 16.3 MB for one 15.1 MB input), more than the
// 5% bound the estimate is held to.
struct Defragmented {
  double mean = 0;
  double half_range = 0;
};

Defragmented defragmented_size(const fs::path& input, const testing::ScratchDir& dir,
                               const std::vector<std::string>& extra = {}) {
  constexpr int kRuns = 3;
  const auto output = dir / fmt::format("out-{}.hyper", input.stem().string());
  std::vector<std::string> args = {"-q", "--force", "-o", output.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(input.string());
  std::vector<double> sizes;
  for (int run = 0; run < kRuns; ++run) {
    const auto result = testing::run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    sizes.push_back(static_cast<double>(hyperdefrag::file_size(output)));
    fs::remove(output);
  }
  const auto [low, high] = std::minmax_element(sizes.begin(), sizes.end());
  double total = 0;
  for (const double size : sizes) total += size;
  return {total / kRuns, (*high - *low) / 2};
}

// The goal: within 5% of the input of the defrags' mean, widened by half
// the range the defrags themselves spread over (the target moves that much).
void expect_within_bound(const FileEstimate& estimate, std::uintmax_t input_size,
                         const Defragmented& actual, const std::string& what) {
  const double error = std::abs(estimate.size.bytes - actual.mean);
  EXPECT_LE(error, 0.05 * static_cast<double>(input_size) + actual.half_range)
      << what << ": estimated " << estimate.size.bytes << ", actual " << actual.mean << " +/- "
      << actual.half_range << ", input " << input_size;
}

struct Case {
  std::string name;
  fixture::FragmentedSpec spec;
};

class CheckAccuracy : public ::testing::TestWithParam<Case> {};

TEST_P(CheckAccuracy, EstimateIsWithinFivePercentOfTheInputOfARealDefrag) {
  const auto& param = GetParam();
  const auto file = cached_fragmented(param.name, param.spec);
  const auto before = testing::read_bytes(file);
  const auto checked = check_file(testing::shared_engine(), file, {});
  EXPECT_EQ(testing::read_bytes(file), before) << "check changed the file";
  testing::ScratchDir dir;
  const auto actual = defragmented_size(file, dir);
  expect_within_bound(checked.estimate, checked.size, actual, param.name);
  EXPECT_GT(checked.row_versions(), checked.rows()) << "the file is fragmented";
  if (param.spec.version == 0) {
    ASSERT_TRUE(checked.as_version_2.has_value());
    EXPECT_EQ(checked.as_version_2->version, 2);
    const auto as_2 = defragmented_size(file, dir, {"--target-version", "2"});
    expect_within_bound(*checked.as_version_2, checked.size, as_2, param.name + " as version 2");
  } else {
    EXPECT_FALSE(checked.as_version_2.has_value());
  }
}

// Row counts chosen so that the extract layout has a table above
// kFullCopyRows live rows (1,400,000 rows, 560,000 live: sampled), and the
// others only smaller tables (copied whole: the wide one 280,000 live).
INSTANTIATE_TEST_SUITE_P(Layouts, CheckAccuracy,
                         ::testing::Values(Case{"extract_v2",
                                                {1'400'000, 1, 2, fixture::Layout::extract}},
                                           Case{"wide_v0", {700'000, 1, 0, fixture::Layout::wide}},
                                           Case{"mixed_v2", {40'000, 8, 2, fixture::Layout::mixed}},
                                           Case{"many_v0", {1'000, 40, 0, fixture::Layout::mixed}}),
                         [](const auto& info) { return info.param.name; });

TEST(CheckAccuracy, SampledTablesAreSampledAndSmallOnesCopiedWhole) {
  const auto file = cached_fragmented("extract_v2", {1'400'000, 1, 2, fixture::Layout::extract});
  const auto checked = check_file(testing::shared_engine(), file, {});
  ASSERT_EQ(checked.estimate.tables.size(), 1u);
  EXPECT_TRUE(checked.estimate.tables[0].sampled);
  EXPECT_NEAR(static_cast<double>(checked.estimate.tables[0].sampled_rows), kSampledRows,
              0.05 * kSampledRows);
  EXPECT_GT(checked.estimate.size.uncertainty, 0);
  // Both parts were measured, each in its own way, and the estimate is their mean.
  const auto& table = checked.estimate.tables[0];
  EXPECT_GT(table.bernoulli_bytes, 0);
  EXPECT_GT(table.ends_bytes, 0);
  EXPECT_NE(table.bernoulli_bytes, table.ends_bytes);
  EXPECT_NEAR(table.data.bytes, (table.bernoulli_bytes + table.ends_bytes) / 2, 1.0);
  // Both are reported: -v's line for the table, and the JSON.
  const auto lines = human_lines(checked, true);
  EXPECT_TRUE(testing::contains(lines.back(), "(Bernoulli samples: " +
                                                  human_size(static_cast<std::uintmax_t>(
                                                      std::llround(table.bernoulli_bytes))) +
                                                  "; first and last rows: "))
      << lines.back();
  const auto json = to_json(checked)["table_details"][0];
  EXPECT_EQ(json["data_size_bernoulli"], std::llround(table.bernoulli_bytes));
  EXPECT_EQ(json["data_size_ends"], std::llround(table.ends_bytes));
  const auto mixed = cached_fragmented("mixed_v2", {40'000, 8, 2, fixture::Layout::mixed});
  for (const auto& table : check_file(testing::shared_engine(), mixed, {}).estimate.tables) {
    EXPECT_FALSE(table.sampled);
  }
}

// The sample parts are measured on several sessions at once (each in its
// own scratch database); the answer must not depend on how many.
TEST(CheckAccuracy, SampleSessionsAtOnceGiveTheAnswerOfOne) {
  const auto file = cached_fragmented("extract_v2", {1'400'000, 1, 2, fixture::Layout::extract});
  auto& engine = testing::shared_engine();
  auto connection = testing::connect();
  auto attached = sql::attach_input(connection, file, "input");
  const auto catalog = catalog::read_catalog(connection, "input", file.string());
  const std::vector<long long> rows = {
      catalog::count_rows(connection, "input", catalog.tables.at(0))};
  const std::vector<long long> versions = {2 * rows[0]};
  testing::ScratchDir dir;
  const Attachment input{connection, engine.endpoint(), file, "input"};
  const auto one = estimate_compacted(input, catalog, rows, versions, 2, dir.path(), 1);
  const auto two = estimate_compacted(input, catalog, rows, versions, 2, dir.path(), 2);
  ASSERT_TRUE(one.tables.at(0).sampled);
  EXPECT_EQ(two.tables.at(0).sampled_rows, one.tables.at(0).sampled_rows);
  const auto size = static_cast<double>(hyperdefrag::file_size(file));
  // Two estimates of one file differ by the engine's parallel scan, which
  // interleaves the sampled rows differently each time (1% of this input
  // seen on a loaded machine); half the accuracy goal is the bound.
  EXPECT_LE(std::abs(two.size.bytes - one.size.bytes), 0.025 * size)
      << one.size.bytes << " against " << two.size.bytes;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {}), std::vector<std::string>{});
}

// A sample INSERT that fills the scratch disk, while hyperd finalizes its
// blocks, makes hyperd abort instead of refusing the statement
// (docs/ENGINE.md, "Disk full"), under every session sampling at once. check
// still says the disk is full (exit code 8), from the engine's own log: its
// engine here runs outside the small disk, as when TMPDIR is set after it
// started. (With the log on the full disk too, the free space decides.)
TEST(CheckAccuracy, AnEngineAbortingOnAFullScratchDiskIsExitEight) {
  const auto file = cached_fragmented("extract_v2", {1'400'000, 1, 2, fixture::Layout::extract});
  engine::HyperProcess engine(engine::EngineOptions{
      engine::locate_hyperd(std::nullopt).path, {}, std::chrono::seconds(60)});
  testing::ScratchDir dir;
  const auto small_dir = dir / "small";
  testing::SmallFileSystem small(small_dir, "2m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string saved = tmpdir != nullptr ? tmpdir : "";
  setenv("TMPDIR", small_dir.c_str(), 1);
  std::optional<Error> failure;
  try {
    check_file(engine, file, {});
  } catch (const Error& error) {
    failure = error;
  }
  if (saved.empty()) {
    unsetenv("TMPDIR");
  } else {
    setenv("TMPDIR", saved.c_str(), 1);
  }
  ASSERT_TRUE(failure.has_value()) << "no error";
  EXPECT_EQ(failure->code(), ExitCode::no_space) << failure->what();
  EXPECT_TRUE(testing::contains(failure->what(), "the disk under check's scratch databases (" +
                                                     small_dir.string() +
                                                     ") is full: hyperd "
                                                     "stopped: Fatal error when finalizing a "
                                                     "block"))
      << failure->what();
  EXPECT_FALSE(engine.running());
  EXPECT_EQ(testing::unexpected_files(small_dir, {}), std::vector<std::string>{});
}

TEST(CheckAccuracy, AFreshDefragOutputShowsASavingNearZero) {
  const auto file = cached_fragmented("extract_v2", {1'400'000, 1, 2, fixture::Layout::extract});
  testing::ScratchDir dir;
  const auto compact = dir / "compact.hyper";
  ASSERT_EQ(testing::run_hyperdefrag({"-q", "-o", compact.string(), file.string()}).exit_code, 0);
  const auto checked = check_file(testing::shared_engine(), compact, {});
  EXPECT_EQ(checked.rows(), checked.row_versions());
  const double saving = saving_percent(checked.size, checked.estimate.size.bytes);
  EXPECT_LE(std::abs(saving), 5.0) << saving;
  expect_within_bound(checked.estimate, checked.size, defragmented_size(compact, dir), "compact");
}

TEST(CheckAccuracy, TableausOwnFiles) {
  const auto fixtures = testing::shared_fixtures();
  if (!fixtures) GTEST_SKIP() << "no ../shared/fixtures here";
  testing::ScratchDir dir;
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(*fixtures)) {
    if (entry.path().extension() != ".hyper") continue;
    ++seen;
    const auto copy = dir / entry.path().filename().string();
    fs::copy_file(entry.path(), copy);
    const auto checked = check_file(testing::shared_engine(), copy, {});
    expect_within_bound(checked.estimate, checked.size, defragmented_size(copy, dir),
                        entry.path().filename().string());
  }
  EXPECT_GT(seen, 0);
}

}  // namespace
}  // namespace hyperdefrag::check
