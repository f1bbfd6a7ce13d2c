// --verify must catch real differences, not only pass on equal files.
#include "verify/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "defrag/defrag.h"
#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag::verify {
namespace {
namespace fs = std::filesystem;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = dir_ / "source.hyper";
    copy_ = dir_ / "copy.hyper";
    {
      auto connection = testing::connect();
      connection.exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(source_.string())));
    }
    testing::with_attached(source_,
                           {"CREATE TABLE db.public.t (id INTEGER NOT NULL, name TEXT DEFAULT "
                            "'none', score DOUBLE PRECISION)",
                            "INSERT INTO db.public.t VALUES (1, 'a', 1.5), (2, NULL, NULL), (2, "
                            "NULL, NULL), (3, 'c', -0.25)",
                            "CREATE TABLE db.public.other (x INTEGER)",
                            "INSERT INTO db.public.other SELECT * FROM generate_series(1, 1000)"});
    DefragOptions options;
    options.input = source_;
    options.output = copy_;
    defragment(options);
  }

  // Compares source and copy as --verify does.
  Verdict compare() {
    auto connection = testing::connect();
    connection.exec(
        fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(source_.string())));
    connection.exec(fmt::format("ATTACH DATABASE {} AS b", sql::quote_identifier(copy_.string())));
    const auto a = catalog::read_catalog(connection, "a", source_.string());
    const auto b = catalog::read_catalog(connection, "b", copy_.string());
    auto verdict = compare_catalogs(a, b, a.format_version);
    if (verdict.equal()) verdict = compare_rows(connection, a, "a", "b");
    connection.exec("DETACH DATABASE a");
    connection.exec("DETACH DATABASE b");
    return verdict;
  }

  void change_copy(const std::vector<std::string>& statements) {
    testing::with_attached(copy_, statements);
  }

  testing::ScratchDir dir_;
  fs::path source_;
  fs::path copy_;
};

TEST_F(VerifyTest, PassesOnAnEqualCopy) { EXPECT_TRUE(compare().equal()); }

TEST_F(VerifyTest, CatchesAChangedValue) {
  change_copy({"UPDATE db.public.t SET score = 1.25 WHERE id = 1"});
  const auto verdict = compare();
  ASSERT_FALSE(verdict.equal());
  EXPECT_NE(verdict.differences[0].find("\"public\".\"t\""), std::string::npos)
      << verdict.differences[0];
}

TEST_F(VerifyTest, CatchesAValueTurnedNull) {
  change_copy({"UPDATE db.public.t SET name = NULL WHERE id = 3"});
  EXPECT_FALSE(compare().equal());
}

TEST_F(VerifyTest, CatchesAMissingRow) {
  change_copy({"DELETE FROM db.public.other WHERE x = 500"});
  const auto verdict = compare();
  ASSERT_FALSE(verdict.equal());
  EXPECT_NE(
      verdict.differences[0].find("\"public\".\"other\": 1000 rows in the input, 999 in the copy"),
      std::string::npos)
      << verdict.differences[0];
}

TEST_F(VerifyTest, CatchesAnExtraDuplicateRowEvenWhenCountsMatch) {
  // One duplicate more and one distinct row less: same count, different multiset.
  change_copy(
      {"DELETE FROM db.public.t WHERE id = 3", "INSERT INTO db.public.t VALUES (1, 'a', 1.5)"});
  const auto verdict = compare();
  ASSERT_FALSE(verdict.equal());
  EXPECT_NE(verdict.differences[0].find(
                "4 rows in the input, 4 in the copy, 1 rows of the input not found"),
            std::string::npos)
      << verdict.differences[0];
}

TEST_F(VerifyTest, CatchesAChangedDefault) {
  change_copy(
      {"CREATE TABLE db.public.t2 (id INTEGER NOT NULL, name TEXT DEFAULT 'other', "
       "score DOUBLE PRECISION)",
       "INSERT INTO db.public.t2 SELECT * FROM db.public.t", "DROP TABLE db.public.t",
       "ALTER TABLE db.public.t2 RENAME TO t"});
  const auto verdict = compare();
  ASSERT_FALSE(verdict.equal());
  bool named = false;
  for (const auto& difference : verdict.differences) {
    named |=
        difference.find("column \"name\": default ''none'' became ''other''") != std::string::npos;
  }
  EXPECT_TRUE(named) << fmt::format("{}", fmt::join(verdict.differences, "\n"));
}

TEST_F(VerifyTest, CatchesALostNotNullAndAnotherVersion) {
  change_copy(
      {"CREATE TABLE db.public.t2 (id INTEGER, name TEXT DEFAULT 'none', score DOUBLE PRECISION)",
       "INSERT INTO db.public.t2 SELECT * FROM db.public.t", "DROP TABLE db.public.t",
       "ALTER TABLE db.public.t2 RENAME TO t"});
  EXPECT_FALSE(compare().equal());
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(source_.string())));
  const auto a = catalog::read_catalog(connection, "a", source_.string());
  connection.exec("DETACH DATABASE a");
  EXPECT_FALSE(compare_catalogs(a, a, a.format_version + 1).equal());
}

}  // namespace
}  // namespace hyperdefrag::verify
