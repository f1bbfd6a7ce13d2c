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

TEST(Text, OneLineReplacesControlCharacters) {
  EXPECT_EQ(one_line("a\nb\r\x1b[31mc\t"), "a b  [31mc");
  EXPECT_EQ(one_line("trailing\n\n"), "trailing");
}

}  // namespace
}  // namespace hyperdefrag
