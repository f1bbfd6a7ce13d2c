#include "report/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "test_support.h"

namespace hyperdefrag::report {
namespace {

TEST(Progress, SecondsLeftFromTheRateSoFar) {
  EXPECT_EQ(seconds_left(0, 1.0, 100), std::nullopt);
  EXPECT_EQ(seconds_left(10, 0.0, 100), std::nullopt);
  EXPECT_DOUBLE_EQ(*seconds_left(25, 5.0, 100), 15.0);  // 5 bytes/s, 75 to go
  EXPECT_DOUBLE_EQ(*seconds_left(200, 5.0, 100), 0.0);
}

TEST(Progress, ClockTime) {
  EXPECT_EQ(clock_time(0), "0:00");
  EXPECT_EQ(clock_time(7.4), "0:07");
  EXPECT_EQ(clock_time(65), "1:05");
  EXPECT_EQ(clock_time(3723), "1:02:03");
}

// The status line follows the output file as it grows, learns bytes per row
// from a finished table and uses it for the next one's estimate.
TEST(Progress, RenderFollowsTheOutputFile) {
  testing::ScratchDir dir;
  const auto output = dir / "out.tmp.hyper";
  testing::write_bytes(output, std::string(1000, 'x'));
  Console console(Verbosity::normal, true);  // not a terminal here: no thread draws
  Progress progress(console, 3);
  progress.file_started(0, dir / "in.hyper", 100'000);
  EXPECT_NE(progress.render().find("in.hyper: reading the catalog"), std::string::npos)
      << progress.render();

  progress.table_started(0, {"S", "T", 0, 2, 1000, 0, output});
  testing::write_bytes(output, std::string(1000 + 4096, 'x'));
  const auto first = progress.render();
  EXPECT_EQ(
      first.rfind("[0/3 files] in.hyper table 1/2 \"S\".\"T\" (1,000 rows): 4.0 KiB written", 0),
      0u)
      << first;
  EXPECT_NE(first.find("<= "), std::string::npos) << first;  // bounded by the input's size

  progress.table_done(0, {"S", "T", 1000, 0.1});
  progress.table_started(0, {"S", "U", 1, 2, 2000, 0, output});
  testing::write_bytes(output, std::string(1000 + 4096 + 4096, 'x'));
  const auto second = progress.render();
  EXPECT_NE(second.find("table 2/2 \"S\".\"U\" (2,000 rows): 4.0 KiB written"), std::string::npos)
      << second;
  EXPECT_NE(second.find(" left"), std::string::npos) << second;
  EXPECT_EQ(second.find("<= "), std::string::npos) << second;  // learned: ~ estimate

  progress.file_done(0);
  EXPECT_EQ(progress.render(), "[1/3 files] starting");
}

// Before any table is done, the input's live share (rows over row versions)
// scales its size into the expected output: 100,000 bytes * 1,000 / 4,000.
TEST(Progress, FirstEstimateFromTheLiveShareOfTheInput) {
  testing::ScratchDir dir;
  const auto output = dir / "out.tmp.hyper";
  testing::write_bytes(output, "");
  Console console(Verbosity::normal, true);
  Progress progress(console, 1);
  progress.file_started(0, dir / "in.hyper", 100'000);
  progress.table_started(0, {"S", "T", 0, 1, 1000, 4000, output});
  usleep(200'000);
  testing::write_bytes(output, std::string(25'000, 'x'));  // all of the expected 25,000 bytes
  const auto line = progress.render();
  EXPECT_EQ(line.find("<= "), std::string::npos) << line;
  EXPECT_NE(line.find(", ~0:00 left"), std::string::npos) << line;
}

}  // namespace
}  // namespace hyperdefrag::report
