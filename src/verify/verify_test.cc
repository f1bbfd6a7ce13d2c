// --verify must catch real differences, not only pass on equal files.
#include "verify/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <map>

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

// Every assertion compares the whole list of differences, so that a failure
// shows what the verifier found (or that it found nothing).
using Differences = std::vector<std::string>;

TEST_F(VerifyTest, PassesOnAnEqualCopy) { EXPECT_EQ(compare().differences, Differences{}); }

const std::string kOneRowOfTChanged =
    "table \"public\".\"t\": 4 rows in the input, 4 in the copy, 1 rows of the input not found in "
    "the copy";

TEST_F(VerifyTest, CatchesAChangedValue) {
  change_copy({"UPDATE db.public.t SET score = 1.25 WHERE id = 1"});
  EXPECT_EQ(compare().differences, Differences{kOneRowOfTChanged});
}

TEST_F(VerifyTest, CatchesAValueTurnedNull) {
  change_copy({"UPDATE db.public.t SET name = NULL WHERE id = 3"});
  EXPECT_EQ(compare().differences, Differences{kOneRowOfTChanged});
}

TEST_F(VerifyTest, CatchesAMissingRow) {
  change_copy({"DELETE FROM db.public.other WHERE x = 500"});
  EXPECT_EQ(compare().differences,
            Differences{"table \"public\".\"other\": 1000 rows in the input, 999 in the copy, 1 "
                        "rows of the input not found in the copy"});
}

// EXCEPT ALL finds rows of the input missing from the copy, not extra rows
// in it: only the counts catch this one, with or without every row compared.
TEST_F(VerifyTest, CatchesAnExtraRowByItsCount) {
  change_copy({"INSERT INTO db.public.other VALUES (1001)"});
  EXPECT_EQ(compare().differences,
            Differences{"table \"public\".\"other\": 1000 rows in the input, 1001 in the copy, 0 "
                        "rows of the input not found in the copy"});
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(source_.string())));
  connection.exec(fmt::format("ATTACH DATABASE {} AS b", sql::quote_identifier(copy_.string())));
  const auto a = catalog::read_catalog(connection, "a", source_.string());
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts).differences,
            Differences{"table \"public\".\"other\": 1000 rows in the input, 1001 in the copy"});
  connection.exec("DETACH DATABASE a");
  connection.exec("DETACH DATABASE b");
}

// With the source's row counts given (as a run passes those it took during
// the copy), the counts check compares the copy against them and does not
// count the source again: a count that disagrees with the copy is caught.
TEST_F(VerifyTest, CountsGivenForTheSourceAreTheOnesCompared) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(source_.string())));
  connection.exec(fmt::format("ATTACH DATABASE {} AS b", sql::quote_identifier(copy_.string())));
  const auto a = catalog::read_catalog(connection, "a", source_.string());
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts, 20, {4, 1000}).differences,
            Differences{});
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts, 20, {4, 999}).differences,
            Differences{"table \"public\".\"other\": 999 rows in the input, 1000 in the copy"});
  connection.exec("DETACH DATABASE a");
  connection.exec("DETACH DATABASE b");
}

// The counts check counts many tables in one statement: differences in any
// of them, the last statement's too, come back named and in the tables' order,
// at most as many as asked for.
TEST(VerifyCounts, ManyTablesAreCountedInBatchesAndEveryDifferenceIsNamedInOrder) {
  testing::ScratchDir dir;
  const auto source = dir / "source.hyper";
  const auto copy = dir / "copy.hyper";
  constexpr int kTables = 101;  // three statements of at most 50 tables
  // Table tN holds N rows in the source; the copy differs in t7 (one row
  // more), t75 (one less) and t100 (the last statement's only table: 50 less).
  const std::map<int, int> changed{{7, 8}, {75, 74}, {100, 50}};
  for (const auto& file : {source, copy}) {
    std::vector<std::string> create;
    for (int i = 0; i < kTables; ++i) {
      const int rows = file == copy && changed.contains(i) ? changed.at(i) : i;
      create.push_back(fmt::format(
          "CREATE TABLE db.public.t{} AS SELECT g FROM generate_series(1, {}) AS s(g)", i, rows));
    }
    testing::connect().exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(file.string())));
    testing::with_attached(file, create);
  }
  auto connection = testing::connect();
  for (const auto& [file, alias] : {std::pair{source, "a"}, std::pair{copy, "b"}}) {
    connection.exec(fmt::format("ATTACH DATABASE {} AS {} WITH (access_mode = 'readonly')",
                                sql::quote_identifier(file.string()), alias));
  }
  const auto a = catalog::read_catalog(connection, "a", source.string());
  ASSERT_EQ(a.tables.size(), static_cast<std::size_t>(kTables));
  const Differences all{"table \"public\".\"t7\": 7 rows in the input, 8 in the copy",
                        "table \"public\".\"t75\": 75 rows in the input, 74 in the copy",
                        "table \"public\".\"t100\": 100 rows in the input, 50 in the copy"};
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts).differences, all);
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts, 2).differences,
            Differences(all.begin(), all.begin() + 2));
  // The same with the source's counts given, and one of them wrong.
  std::vector<long long> counts;
  for (int i = 0; i < kTables; ++i) counts.push_back(i);
  counts[60] = 61;
  EXPECT_EQ(compare_rows(connection, a, "a", "b", RowCheck::counts, 20, counts).differences,
            (Differences{all[0], "table \"public\".\"t60\": 61 rows in the input, 60 in the copy",
                         all[1], all[2]}));
  connection.exec("DETACH DATABASE a");
  connection.exec("DETACH DATABASE b");
}

TEST_F(VerifyTest, CatchesAnExtraDuplicateRowEvenWhenCountsMatch) {
  // One duplicate more and one distinct row less: same count, different multiset.
  change_copy(
      {"DELETE FROM db.public.t WHERE id = 3", "INSERT INTO db.public.t VALUES (1, 'a', 1.5)"});
  EXPECT_EQ(compare().differences, Differences{kOneRowOfTChanged});
}

// One of the input's two equal rows lost and another row doubled: the same
// count and the same distinct rows, only the multiset differs. EXCEPT ALL
// sees it; EXCEPT (without ALL) would not.
TEST_F(VerifyTest, CatchesALostDuplicateWhenTheDistinctRowsMatch) {
  change_copy({"DELETE FROM db.public.t WHERE id = 2",
               "INSERT INTO db.public.t VALUES (2, NULL, NULL), (1, 'a', 1.5)"});
  EXPECT_EQ(compare().differences, Differences{kOneRowOfTChanged});
}

// An assumed primary key lost or changed in the copy is a difference of its
// own, naming the columns on both sides.
TEST_F(VerifyTest, CatchesALostOrChangedAssumedPrimaryKey) {
  const auto remake = [&](const std::string& key) {
    testing::ScratchDir dir;
    for (const auto& [path, constraint] :
         {std::pair{dir / "a.hyper", std::string(", ASSUMED PRIMARY KEY (b, a)")},
          std::pair{dir / "b.hyper", key}}) {
      testing::connect().exec(
          fmt::format("CREATE DATABASE {}", sql::quote_identifier(path.string())));
      testing::with_attached(
          path, {fmt::format("CREATE TABLE db.public.k (a INTEGER NOT NULL, b TEXT NOT NULL{})",
                             constraint)});
    }
    auto connection = testing::connect();
    connection.exec(
        fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier((dir / "a.hyper").string())));
    connection.exec(
        fmt::format("ATTACH DATABASE {} AS b", sql::quote_identifier((dir / "b.hyper").string())));
    const auto a = catalog::read_catalog(connection, "a", (dir / "a.hyper").string());
    const auto b = catalog::read_catalog(connection, "b", (dir / "b.hyper").string());
    connection.exec("DETACH DATABASE a");
    connection.exec("DETACH DATABASE b");
    return compare_catalogs(a, b, a.format_version).differences;
  };
  EXPECT_EQ(remake(", ASSUMED PRIMARY KEY (b, a)"), Differences{});
  EXPECT_EQ(remake(""),
            Differences{"table \"public\".\"k\": assumed primary key (b, a) became ()"});
  EXPECT_EQ(remake(", ASSUMED PRIMARY KEY (a, b)"),
            Differences{"table \"public\".\"k\": assumed primary key (b, a) became (a, b)"});
}

// The catalog differences of two databases made side by side, each by its
// own statements (on "db"): what the verifier says of a copy that differs
// from its input in one thing.
Differences catalog_differences(const std::vector<std::string>& input,
                                const std::vector<std::string>& copy) {
  testing::ScratchDir dir;
  const auto a = dir / "input.hyper";
  const auto b = dir / "copy.hyper";
  for (const auto& [path, statements] : {std::pair{a, input}, std::pair{b, copy}}) {
    testing::connect().exec(
        fmt::format("CREATE DATABASE {}", sql::quote_identifier(path.string())));
    testing::with_attached(path, statements);
  }
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(a.string())));
  connection.exec(fmt::format("ATTACH DATABASE {} AS b", sql::quote_identifier(b.string())));
  const auto source = catalog::read_catalog(connection, "a", a.string());
  const auto copied = catalog::read_catalog(connection, "b", b.string());
  connection.exec("DETACH DATABASE a");
  connection.exec("DETACH DATABASE b");
  return compare_catalogs(source, copied, source.format_version).differences;
}

// Each item of catalog/preserved.h that a copy could lose is a difference of
// its own: a collation, a description, an assumed unique constraint or
// foreign key, a table too many.
TEST(VerifyCatalog, CatchesEachCatalogDifference) {
  const std::vector<std::string> input = {
      "CREATE TABLE db.public.p (id INTEGER NOT NULL ASSUMED PRIMARY KEY, "
      "name TEXT COLLATE \"en_US_CI\", ASSUMED UNIQUE (name))",
      "COMMENT ON COLUMN db.public.p.name IS 'the name'",
      "CREATE TABLE db.public.c (p INTEGER, ASSUMED FOREIGN KEY (p) REFERENCES db.public.p (id))"};
  EXPECT_EQ(catalog_differences(input, input), Differences{});

  auto copy = input;
  copy[0] =
      "CREATE TABLE db.public.p (id INTEGER NOT NULL ASSUMED PRIMARY KEY, "
      "name TEXT COLLATE \"de\", ASSUMED UNIQUE (name))";
  EXPECT_EQ(
      catalog_differences(input, copy),
      Differences{"table \"public\".\"p\" column \"name\": collation 'en_US_CI' became 'de'"});

  copy = input;
  copy[1] = "COMMENT ON COLUMN db.public.p.name IS 'another name'";
  EXPECT_EQ(catalog_differences(input, copy),
            Differences{"table \"public\".\"p\" column \"name\": description 'the name' "
                        "became 'another name'"});
  copy.erase(copy.begin() + 1);
  EXPECT_EQ(catalog_differences(input, copy),
            Differences{"table \"public\".\"p\" column \"name\": description 'the name' "
                        "became none"});

  copy = input;
  copy[0] =
      "CREATE TABLE db.public.p (id INTEGER NOT NULL ASSUMED PRIMARY KEY, "
      "name TEXT COLLATE \"en_US_CI\")";
  EXPECT_EQ(
      catalog_differences(input, copy),
      Differences{"table \"public\".\"p\": 1 assumed unique constraints became 0 different ones"});

  copy = input;
  copy[2] = "CREATE TABLE db.public.c (p INTEGER)";
  EXPECT_EQ(catalog_differences(input, copy),
            Differences{"table \"public\".\"c\": 1 assumed foreign keys became 0 different ones"});

  copy = input;
  copy.push_back("CREATE TABLE db.public.extra (x INTEGER)");
  EXPECT_EQ(catalog_differences(input, copy),
            Differences{"table \"public\".\"extra\": in the copy but not in the input"});
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
  EXPECT_EQ(compare().differences,
            Differences{"table \"public\".\"t\" column \"id\": NOT NULL lost in the copy"});
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS a", sql::quote_identifier(source_.string())));
  const auto a = catalog::read_catalog(connection, "a", source_.string());
  connection.exec("DETACH DATABASE a");
  EXPECT_EQ(compare_catalogs(a, a, a.format_version + 1).differences,
            Differences{fmt::format("catalog: format version {} where {} was expected",
                                    a.format_version, a.format_version + 1)});
}

}  // namespace
}  // namespace hyperdefrag::verify
