#include "catalog/catalog.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::catalog {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = (dir_ / "catalog.hyper").string();
    auto connection = testing::connect();
    connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION 4", sql::quote_identifier(file_)));
    testing::with_attached(file_,
                           {"CREATE SCHEMA db.\"Zeta\"", "CREATE SCHEMA db.\"empty schema\"",
                            "CREATE TABLE db.\"Zeta\".\"second\" (x INTEGER)",
                            "CREATE TABLE db.public.\"First \"\"one\"\"\" ("
                            "  id BIGINT NOT NULL, price NUMERIC(38,4), code CHARACTER(3), "
                            "  label VARCHAR(20) COLLATE \"en_US_CI\", t TEXT COLLATE \"de\", "
                            "  g TABLEAU.TABGEOGRAPHY, r REAL, b BYTES, ts TIMESTAMPTZ)"});
  }

  testing::ScratchDir dir_;
  std::string file_;
};

TEST_F(CatalogTest, ReadsSchemasTablesAndColumnsInOrder) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS src", sql::quote_identifier(file_)));
  const auto catalog = read_catalog(connection, "src", file_);
  connection.exec("DETACH DATABASE src");

  EXPECT_EQ(catalog.format_version, 4);
  EXPECT_EQ(catalog.schemas, (std::vector<std::string>{"public", "Zeta", "empty schema"}));
  ASSERT_EQ(catalog.tables.size(), 2u);
  EXPECT_EQ(catalog.tables[0].schema, "Zeta");
  EXPECT_EQ(catalog.tables[0].name, "second");
  const auto& table = catalog.tables[1];
  EXPECT_EQ(table.name, "First \"one\"");
  std::vector<std::string> described;
  for (const auto& column : table.columns) {
    described.push_back(fmt::format("{} {}{}{}", column.name, column.type,
                                    column.collation ? " COLLATE " + *column.collation : "",
                                    column.not_null ? " NOT NULL" : ""));
  }
  EXPECT_EQ(described, (std::vector<std::string>{
                           "id bigint NOT NULL", "price numeric(38,4)", "code character(3)",
                           "label character varying(20) COLLATE en_US_CI", "t text COLLATE de",
                           "g \"tableau\".tabgeography", "r real", "b bytea", "ts timestamptz"}));
}

TEST_F(CatalogTest, CreateTableSqlRecreatesTheSameColumns) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS src", sql::quote_identifier(file_)));
  const auto source = read_catalog(connection, "src", file_);
  const auto copy_path = (dir_ / "copy.hyper").string();
  connection.exec(
      fmt::format("CREATE DATABASE {} WITH VERSION 4", sql::quote_identifier(copy_path)));
  connection.exec(fmt::format("ATTACH DATABASE {} AS dst", sql::quote_identifier(copy_path)));
  for (const auto& schema : source.schemas) connection.exec(create_schema_sql("dst", schema));
  for (const auto& table : source.tables) connection.exec(create_table_sql("dst", table));
  const auto copy = read_catalog(connection, "dst", copy_path);
  connection.exec("DETACH DATABASE dst");
  connection.exec("DETACH DATABASE src");

  EXPECT_EQ(copy.schemas, source.schemas);
  ASSERT_EQ(copy.tables.size(), source.tables.size());
  for (std::size_t t = 0; t < source.tables.size(); ++t) {
    EXPECT_EQ(copy.tables[t].schema, source.tables[t].schema);
    EXPECT_EQ(copy.tables[t].name, source.tables[t].name);
    ASSERT_EQ(copy.tables[t].columns.size(), source.tables[t].columns.size());
    for (std::size_t c = 0; c < source.tables[t].columns.size(); ++c) {
      const auto& a = source.tables[t].columns[c];
      const auto& b = copy.tables[t].columns[c];
      EXPECT_EQ(b.name, a.name);
      EXPECT_EQ(b.type, a.type);
      EXPECT_EQ(b.not_null, a.not_null);
      EXPECT_EQ(b.collation, a.collation);
    }
  }
}

// Hyper takes CREATE TABLE t () and rows in it; such a table was once left
// out of the catalog, and so out of the copy, without a word.
TEST(CatalogWithoutColumns, ATableWithoutColumnsIsReadAndCopiedWithItsRows) {
  testing::ScratchDir dir;
  const auto file = (dir / "in.hyper").string();
  testing::connect().exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(file)));
  testing::with_attached(file, {"CREATE TABLE db.public.nothing ()",
                                "INSERT INTO db.public.nothing SELECT FROM generate_series(1, 4)",
                                "CREATE TABLE db.public.after (x INTEGER)"});
  {
    auto connection = testing::connect();
    connection.exec(fmt::format("ATTACH DATABASE {} AS src", sql::quote_identifier(file)));
    const auto catalog = read_catalog(connection, "src", file);
    connection.exec("DETACH DATABASE src");
    ASSERT_EQ(catalog.tables.size(), 2u);
    EXPECT_EQ(catalog.tables[0].name, "nothing");
    EXPECT_TRUE(catalog.tables[0].columns.empty());
    EXPECT_EQ(catalog.tables[1].name, "after");
    EXPECT_EQ(catalog.tables[1].columns.size(), 1u);
  }
  const auto output = dir / "out.hyper";
  const auto result = testing::run_hyperdefrag({"--verify", "-o", output.string(), file});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::table_counts(output),
            (std::vector<std::string>{"public.nothing=4", "public.after=0"}));
}

// A database the engine reports no version for is the engine's fault (exit 5).
TEST_F(CatalogTest, NoFormatVersionIsAnEngineFault) {
  auto connection = testing::connect();
  try {
    read_format_version(connection, file_);  // not attached: the engine lists no such database
    FAIL() << "read a version of a database that is not attached";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::engine);
    EXPECT_TRUE(testing::contains(error.what(), file_)) << error.what();
  }
}

}  // namespace
}  // namespace hyperdefrag::catalog
