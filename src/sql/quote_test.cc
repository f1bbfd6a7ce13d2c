#include "sql/quote.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_support.h"

namespace hyperdefrag::sql {
namespace {

TEST(Quote, IdentifierDoublesQuotes) {
  EXPECT_EQ(quote_identifier("plain"), "\"plain\"");
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_identifier(""), "\"\"");
}

TEST(Quote, LiteralDoublesApostrophes) {
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_literal("back\\slash"), "'back\\slash'");
}

TEST(Quote, QualifiedQuotesEachPart) {
  EXPECT_EQ(quote_qualified({"db", "my.schema", "t\"1"}), "\"db\".\"my.schema\".\"t\"\"1\"");
}

TEST(Quote, RejectsNulBytes) {
  EXPECT_THROW(quote_identifier(std::string("a\0b", 3)), std::invalid_argument);
  EXPECT_THROW(quote_literal(std::string("a\0b", 3)), std::invalid_argument);
}

// Awkward text sent through the real engine comes back unchanged.
TEST(Quote, RoundTripsThroughTheEngine) {
  auto connection = testing::connect();
  for (const std::string text : {"plain", "it's", "two''quotes", "x\"; DROP TABLE y; --",
                                 "back\\slash\\n", "Ünïcödé 表 🚀", "$$dollar$$", "", "new\nline"}) {
    const auto result = connection.exec(fmt::format("SELECT {} AS {}", quote_literal(text),
                                                    quote_identifier(text.empty() ? "e" : text)));
    EXPECT_EQ(result.value(0, 0), text);
    EXPECT_EQ(result.column_name(0), text.empty() ? "e" : text);
  }
}

}  // namespace
}  // namespace hyperdefrag::sql
