#include "util/text.h"

#include <gtest/gtest.h>

namespace hyperdefrag {
namespace {

TEST(Text, WithCommas) {
  EXPECT_EQ(with_commas(0), "0");
  EXPECT_EQ(with_commas(999), "999");
  EXPECT_EQ(with_commas(1000), "1,000");
  EXPECT_EQ(with_commas(1234567), "1,234,567");
}

TEST(Text, CountOfIsSingularForOneOnly) {
  EXPECT_EQ(count_of(0, "table", "tables"), "0 tables");
  EXPECT_EQ(count_of(1, "table", "tables"), "1 table");
  EXPECT_EQ(count_of(2, "schema", "schemas"), "2 schemas");
  EXPECT_EQ(count_of(1500, "row version", "row versions"), "1,500 row versions");
}

TEST(Text, OneLineReplacesControlCharacters) {
  EXPECT_EQ(one_line("a\nb\r\x1b[31mc\t"), "a b  [31mc");
  EXPECT_EQ(one_line("trailing\n\n"), "trailing");
}

}  // namespace
}  // namespace hyperdefrag
