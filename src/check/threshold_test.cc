// Saving thresholds: no engine needed.
#include "check/threshold.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace hyperdefrag::check {
namespace {

TEST(Threshold, ParsesPercents) {
  const auto ten = parse_threshold("10%");
  EXPECT_EQ(ten.kind, Threshold::Kind::percent);
  EXPECT_DOUBLE_EQ(ten.value, 10);
  EXPECT_DOUBLE_EQ(parse_threshold(" 2.5 % ").value, 2.5);
  EXPECT_DOUBLE_EQ(parse_threshold("0%").value, 0);
}

TEST(Threshold, ParsesSizesBinaryAndDecimal) {
  const auto mib = parse_threshold("64MiB");
  EXPECT_EQ(mib.kind, Threshold::Kind::bytes);
  EXPECT_DOUBLE_EQ(mib.value, 64.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_threshold("64 mib").value, 64.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_threshold("64m").value, 64.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_threshold("100MB").value, 100e6);
  EXPECT_DOUBLE_EQ(parse_threshold("1.5GiB").value, 1.5 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_threshold("2 KB").value, 2000);
  EXPECT_DOUBLE_EQ(parse_threshold("4096").value, 4096);
  EXPECT_DOUBLE_EQ(parse_threshold("4096B").value, 4096);
  EXPECT_DOUBLE_EQ(parse_threshold("1T").value, 1024.0 * 1024 * 1024 * 1024);
}

TEST(Threshold, RefusesAnythingElseWithAUsageError) {
  for (const char* text : {"", "%", "MiB", "-5%", "ten%", "10 %%", "101%", "5 parsecs", "1e3",
                           "1.2.3MB", "10 % extra"}) {
    try {
      parse_threshold(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::usage) << text;
      EXPECT_NE(std::string(error.what()).find(std::string("'") + text + "'"), std::string::npos)
          << error.what();
    }
  }
}

TEST(Threshold, ReachesComparesPercentOfTheInputOrBytes) {
  const auto ten = parse_threshold("10%");
  EXPECT_TRUE(reaches(ten, 100, 1000));
  EXPECT_FALSE(reaches(ten, 99.9, 1000));
  EXPECT_FALSE(reaches(ten, -50, 1000)) << "a file that would grow gains nothing";
  const auto bytes = parse_threshold("1KiB");
  EXPECT_TRUE(reaches(bytes, 1024, 10));
  EXPECT_FALSE(reaches(bytes, 1023, 1 << 30));
  EXPECT_TRUE(reaches(parse_threshold("0%"), 0, 0));
  EXPECT_FALSE(reaches(ten, 0, 0));
}

TEST(Threshold, DescribesItself) {
  EXPECT_EQ(describe(parse_threshold("10%")), "10%");
  EXPECT_EQ(describe(parse_threshold("2.5%")), "2.5%");
  EXPECT_EQ(describe(parse_threshold("64MiB")), "64.0 MiB");
}

}  // namespace
}  // namespace hyperdefrag::check
