// Nothing lost: each thing a .hyper file can hold (catalog/preserved.h) goes
// through a real defragmentation with --verify and comes back equal.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "catalog/catalog.h"
#include "catalog/preserved.h"
#include "defrag/defrag.h"
#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using catalog::Catalog;

Catalog file_catalog(const fs::path& file) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                              sql::quote_identifier(file.string())));
  auto result = catalog::read_catalog(connection, "db", file.string());
  connection.exec("DETACH DATABASE db");
  return result;
}

// Every row of every table as text, in a fixed order: a check independent of
// --verify's EXCEPT ALL (it also tells -0 from 0).
std::vector<std::string> dump(const fs::path& file) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                              sql::quote_identifier(file.string())));
  std::vector<std::string> rows;
  for (const auto& table : catalog::read_catalog(connection, "db", file.string()).tables) {
    const auto result = connection.exec(fmt::format(
        "SELECT * FROM {} ORDER BY 1", sql::quote_qualified({"db", table.schema, table.name})));
    for (int r = 0; r < result.rows(); ++r) {
      std::string row = table.name + ":";
      for (int c = 0; c < result.columns(); ++c) {
        row += result.is_null(r, c) ? "<NULL>" : std::string(result.value(r, c));
        row += '|';
      }
      rows.push_back(row);
    }
  }
  connection.exec("DETACH DATABASE db");
  return rows;
}

struct RoundTrip {
  fs::path input;
  fs::path output;
  Catalog before;
  Catalog after;
  DefragReport report;
};

// Makes a file in format `version` with `statements` (database alias "db"),
// defragments it with --verify and reads both catalogs.
RoundTrip round_trip(const testing::ScratchDir& dir, int version,
                     const std::vector<std::string>& statements,
                     const std::string& name = "in.hyper") {
  RoundTrip trip;
  trip.input = dir / name;
  trip.output = dir / "out.hyper";
  {
    auto connection = testing::connect();
    connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}",
                                sql::quote_identifier(trip.input.string()), version));
  }
  testing::with_attached(trip.input, statements);
  DefragOptions options;
  options.input = trip.input;
  options.output = trip.output;
  options.verify = true;
  trip.report = defragment(options);
  trip.before = file_catalog(trip.input);
  trip.after = file_catalog(trip.output);
  return trip;
}

TEST(RoundTrip, SchemasAndTablesKeepTheirOrder) {
  testing::ScratchDir dir;
  const auto trip = round_trip(
      dir, 2,
      {"CREATE SCHEMA db.\"Zulu\"", "CREATE SCHEMA db.\"empty\"", "CREATE SCHEMA db.\"Alpha\"",
       "CREATE TABLE db.\"Zulu\".\"b\" (x INTEGER)", "CREATE TABLE db.\"Alpha\".\"a\" (x INTEGER)",
       "CREATE TABLE db.public.\"empty table\" (x INTEGER)",
       "INSERT INTO db.\"Zulu\".\"b\" VALUES (1), (2), (2)"});
  EXPECT_TRUE(trip.report.verified);
  EXPECT_EQ(trip.after.schemas, (std::vector<std::string>{"public", "Zulu", "empty", "Alpha"}));
  ASSERT_EQ(trip.after.tables.size(), 3u);
  EXPECT_EQ(trip.after.tables[0].name, "b");
  EXPECT_EQ(trip.after.tables[1].name, "a");
  EXPECT_EQ(trip.after.tables[2].name, "empty table");
  EXPECT_EQ(trip.after.tables, trip.before.tables);
  EXPECT_EQ(dump(trip.output), dump(trip.input));
}

TEST(RoundTrip, AnInputWithoutThePublicSchemaStaysWithoutIt) {
  testing::ScratchDir dir;
  const auto trip =
      round_trip(dir, 2,
                 {"CREATE SCHEMA db.\"Extract\"",
                  "CREATE TABLE db.\"Extract\".\"Extract\" (x INTEGER)", "DROP SCHEMA db.public"});
  EXPECT_TRUE(trip.report.verified);
  EXPECT_EQ(trip.after.schemas, std::vector<std::string>{"Extract"});
}

TEST(RoundTrip, ColumnDefinitions) {
  testing::ScratchDir dir;
  const auto trip =
      round_trip(dir, 4,
                 {"CREATE TABLE db.public.t ("
                  "  id INTEGER NOT NULL DEFAULT 42,"
                  "  label VARCHAR(20) COLLATE \"en_US_CI\" NOT NULL DEFAULT 'it''s \"quoted\"',"
                  "  german TEXT COLLATE \"de\","
                  "  made TIMESTAMP DEFAULT now(),"
                  "  size INTEGER DEFAULT char_length('abc') + 1,"
                  "  price NUMERIC(38,6) DEFAULT -0.5,"
                  "  note TEXT DEFAULT $$db\"x\".\"pg_catalog\".y$$)",
                  "COMMENT ON COLUMN db.public.t.id IS 'the key, it''s unique'",
                  "COMMENT ON COLUMN db.public.t.german IS 'Straße 表 🚀'",
                  "INSERT INTO db.public.t (german) VALUES ('ä'), (NULL)"});
  ASSERT_EQ(trip.after.tables.size(), 1u);
  const auto& columns = trip.after.tables[0].columns;
  EXPECT_EQ(trip.after.tables, trip.before.tables);
  ASSERT_EQ(columns.size(), 7u);
  EXPECT_EQ(columns[0].default_expression, "42");
  EXPECT_TRUE(columns[0].not_null);
  EXPECT_EQ(columns[0].description, "the key, it's unique");
  EXPECT_EQ(columns[1].type, "character varying(20)");
  EXPECT_EQ(columns[1].collation, "en_US_CI");
  EXPECT_EQ(columns[1].default_expression, "'it''s \"quoted\"'");
  EXPECT_EQ(columns[2].collation, "de");
  EXPECT_EQ(columns[2].description, "Straße 表 🚀");
  EXPECT_EQ(columns[3].default_expression, "\"pg_catalog\".\"now\"()");
  EXPECT_EQ(columns[5].type, "numeric(38,6)");
  // A literal that looks like a qualifier is left alone.
  EXPECT_EQ(columns[6].default_expression, "$$db\"x\".\"pg_catalog\".y$$");
  EXPECT_EQ(dump(trip.output), dump(trip.input));
  // The defaults still work in the copy.
  testing::with_attached(trip.output, {"INSERT INTO db.public.t (german) VALUES ('new')"});
  const auto rows = dump(trip.output);
  EXPECT_NE(
      std::find_if(rows.begin(), rows.end(),
                   [](const auto& row) { return row.rfind("t:42|it's \"quoted\"|new|", 0) == 0; }),
      rows.end());
  // Table descriptions cannot exist: the engine refuses COMMENT ON TABLE.
  EXPECT_THROW(testing::with_attached(trip.output, {"COMMENT ON TABLE db.public.t IS 'x'"}),
               sql::SqlError);
}

TEST(RoundTrip, AssumedConstraints) {
  testing::ScratchDir dir;
  const auto trip = round_trip(
      dir, 2,
      {"CREATE SCHEMA db.sales",
       "CREATE TABLE db.public.customer (id INTEGER NOT NULL, region TEXT NOT NULL, email TEXT, "
       "  phone TEXT, ASSUMED PRIMARY KEY (id, region), ASSUMED UNIQUE (email), ASSUMED UNIQUE "
       "(phone))",
       "CREATE TABLE db.sales.\"order\" (no BIGINT ASSUMED PRIMARY KEY, customer INTEGER, region "
       "TEXT,"
       "  ASSUMED FOREIGN KEY (customer, region) REFERENCES db.public.customer (id, region))",
       "CREATE TABLE db.public.line (\"order\" BIGINT,"
       "  ASSUMED FOREIGN KEY (\"order\") REFERENCES db.sales.\"order\")",
       "INSERT INTO db.public.customer VALUES (1, 'north', 'a@x', NULL)"});
  ASSERT_EQ(trip.after.tables.size(), 3u);
  EXPECT_EQ(trip.after.tables, trip.before.tables);
  const auto& customer = trip.after.tables[0];
  EXPECT_EQ(customer.primary_key, (std::vector<std::string>{"id", "region"}));
  EXPECT_EQ(customer.unique, (std::vector<std::vector<std::string>>{{"email"}, {"phone"}}));
  const auto& order = trip.after.tables[1];
  ASSERT_EQ(order.foreign_keys.size(), 1u);
  EXPECT_EQ(order.foreign_keys[0].referenced_schema, "public");
  EXPECT_EQ(order.foreign_keys[0].referenced_table, "customer");
  EXPECT_EQ(order.foreign_keys[0].columns, (std::vector<std::string>{"customer", "region"}));
  ASSERT_EQ(trip.after.tables[2].foreign_keys.size(), 1u);
  EXPECT_EQ(trip.after.tables[2].foreign_keys[0].referenced_schema, "sales");
  // The engine names constraints itself; the names come out the same.
  const auto names = [](const fs::path& file) {
    auto connection = testing::connect();
    connection.exec(fmt::format("ATTACH DATABASE {} AS db", sql::quote_identifier(file.string())));
    const auto result = connection.exec(
        "SELECT conname FROM db.pg_catalog.pg_constraint WHERE conname <> '' ORDER BY conname");
    std::vector<std::string> out;
    for (int r = 0; r < result.rows(); ++r) out.emplace_back(result.value(r, 0));
    connection.exec("DETACH DATABASE db");
    return out;
  };
  EXPECT_EQ(names(trip.output), names(trip.input));
}

// The assumed primary key itself, read from the engine's pg_constraint
// rather than through catalog::read_catalog (which the copy and the verifier
// both rely on): the copy's table has one constraint of type 'p', on the
// same columns in the same order (b, a: not the table's order).
TEST(RoundTrip, AssumedPrimaryKeyIsInTheCopysOwnCatalog) {
  testing::ScratchDir dir;
  const auto trip =
      round_trip(dir, 2,
                 {"CREATE TABLE db.public.k (a INTEGER NOT NULL, b TEXT NOT NULL, c INTEGER, "
                  "ASSUMED PRIMARY KEY (b, a))",
                  "CREATE TABLE db.public.other (x INTEGER)",
                  "INSERT INTO db.public.k VALUES (1, 'x', NULL)"});
  const auto primary_keys = [](const fs::path& file) {
    auto connection = testing::connect();
    connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                                sql::quote_identifier(file.string())));
    const auto result = connection.exec(
        "SELECT r.relname, a.attname FROM db.pg_catalog.pg_constraint c "
        "JOIN db.pg_catalog.pg_class r ON r.oid = c.conrelid "
        "JOIN db.pg_catalog.pg_attribute a ON a.attrelid = c.conrelid "
        "WHERE c.contype = 'p' AND a.attnum = ANY (c.conkey) "
        "ORDER BY r.relname, array_position(c.conkey, a.attnum)");
    std::vector<std::string> out;
    for (int r = 0; r < result.rows(); ++r) {
      out.push_back(fmt::format("{}.{}", result.value(r, 0), result.value(r, 1)));
    }
    connection.exec("DETACH DATABASE db");
    return out;
  };
  ASSERT_EQ(primary_keys(trip.input), (std::vector<std::string>{"k.b", "k.a"}));
  EXPECT_EQ(primary_keys(trip.output), (std::vector<std::string>{"k.b", "k.a"}));
}

TEST(RoundTrip, EveryDataTypeAndEdgeValue) {
  testing::ScratchDir dir;
  const std::string table =
      "CREATE TABLE db.public.types (id INTEGER NOT NULL, b BOOL, s SMALLINT, i INTEGER, "
      "bi BIGINT, n18 NUMERIC(18,4), n38 NUMERIC(38,10), d DOUBLE PRECISION, r REAL, o OID, "
      "by BYTES, t TEXT, vc VARCHAR(5), c CHAR(3), j JSON, dt DATE, tm TIME, ts TIMESTAMP, "
      "tz TIMESTAMPTZ, iv INTERVAL, g TABLEAU.TABGEOGRAPHY)";
  const std::string insert = "INSERT INTO db.public.types VALUES ";
  const auto trip = round_trip(
      dir, 4,
      {table,
       insert + "(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                "NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
       insert +
           "(2, true, -32768, -2147483648, -9223372036854775808, -99999999999999.9999, "
           "-9999999999999999999999999999.9999999999, CAST('NaN' AS DOUBLE PRECISION), "
           "CAST('-Infinity' AS REAL), CAST('0' AS OID), CAST('\\x00ff0000' AS BYTES), '', "
           "'abcde', 'ab', CAST('{\"k\": [1, null, \"\\u0000\"]}' AS JSON), DATE '4713-01-01 BC', "
           "TIME '00:00:00', TIMESTAMP '0001-01-01 00:00:00', "
           "TIMESTAMPTZ '0001-01-01 00:00:00+00', INTERVAL '-178000000 years', "
           "CAST('POINT(1 2)' AS TABLEAU.TABGEOGRAPHY))",
       insert +
           "(3, false, 32767, 2147483647, 9223372036854775807, 99999999999999.9999, "
           "9999999999999999999999999999.9999999999, CAST('-0' AS DOUBLE PRECISION), "
           "CAST('Infinity' AS REAL), CAST('4294967295' AS OID), CAST('' AS BYTES), "
           "'Grüße, Привет, مرحبا, שלום, 你好, こんにちは, 안녕, नमस्ते, "
           "🚀👩‍👩‍👧', "
           "'ü🚀', "
           "'表', "
           "CAST('[]' AS JSON), DATE '200000-01-01', TIME '23:59:59.999999', "
           "TIMESTAMP '9999-12-31 23:59:59.999999', TIMESTAMPTZ '9999-12-31 23:59:59.999999+00', "
           "INTERVAL '178000000 years', "
           "CAST('LINESTRING(0 0, 1 1)' AS TABLEAU.TABGEOGRAPHY))",
       insert +
           "(4, true, 0, 0, 0, 0, 0, CAST('Infinity' AS DOUBLE PRECISION), CAST('NaN' AS REAL), "
           "NULL, NULL, repeat('x', 1048576), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
           "CAST('POLYGON((0 0, 1 0, 1 1, 0 0))' AS TABLEAU.TABGEOGRAPHY))",
       // An exact duplicate row: the multiset keeps both.
       insert +
           "(4, true, 0, 0, 0, 0, 0, CAST('Infinity' AS DOUBLE PRECISION), CAST('NaN' AS REAL), "
           "NULL, NULL, repeat('x', 1048576), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
           "CAST('POLYGON((0 0, 1 0, 1 1, 0 0))' AS TABLEAU.TABGEOGRAPHY))"});
  EXPECT_TRUE(trip.report.verified);
  EXPECT_EQ(trip.after.tables, trip.before.tables);
  const auto before = dump(trip.input);
  ASSERT_EQ(before.size(), 5u);
  EXPECT_EQ(dump(trip.output), before);
  EXPECT_NE(before[2].find("|-0|"), std::string::npos) << "negative zero survives";
  EXPECT_NE(before[1].find("\\x00ff0000"), std::string::npos) << "bytes with zeros survive";
  // Arrays cannot be stored in a table at all.
  EXPECT_THROW(testing::with_attached(trip.output, {"CREATE TABLE db.public.a (x ARRAY(INTEGER))"}),
               sql::SqlError);
}

TEST(RoundTrip, AwkwardNamesAndPaths) {
  testing::ScratchDir dir;
  const std::string long_name(10'000, 'n');  // the engine sets no limit we could find
  const std::vector<std::string> names = {"x\"; DROP TABLE t; --",
                                          "with space",
                                          "dot.ted",
                                          "UPPER",
                                          "Ünïcödé 表 🚀",
                                          "select",
                                          "from",
                                          "'single'",
                                          long_name};
  std::vector<std::string> statements;
  for (const auto& name : names) {
    statements.push_back(fmt::format("CREATE SCHEMA {}", sql::quote_qualified({"db", name})));
    statements.push_back(fmt::format(
        "CREATE TABLE {} ({} INTEGER, {} TEXT)", sql::quote_qualified({"db", name, name}),
        sql::quote_identifier(name), sql::quote_identifier(name + "2")));
    statements.push_back(fmt::format("INSERT INTO {} VALUES (1, {})",
                                     sql::quote_qualified({"db", name, name}),
                                     sql::quote_literal(name)));
  }
  const auto trip = round_trip(dir, 2, statements, "it's a \"file\" named Ünï 🚀.hyper");
  EXPECT_TRUE(trip.report.verified);
  ASSERT_EQ(trip.after.tables.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(trip.after.tables[i].schema, names[i]);
    EXPECT_EQ(trip.after.tables[i].name, names[i]);
    EXPECT_EQ(trip.after.tables[i].columns[0].name, names[i]);
  }
  EXPECT_EQ(dump(trip.output), dump(trip.input));
}

TEST(RoundTrip, TargetVersionUpgradesAndRefusesALossyDowngrade) {
  testing::ScratchDir dir;
  const auto trip = round_trip(
      dir, 2,
      {"CREATE TABLE db.public.t (x NUMERIC(18,2))", "INSERT INTO db.public.t VALUES (1.5)"});
  DefragOptions up;
  up.input = trip.input;
  up.output = dir / "v4.hyper";
  up.target_version = 4;
  up.verify = true;
  const auto report = defragment(up);
  EXPECT_EQ(report.version_before, 2);
  EXPECT_EQ(report.version_after, 4);
  EXPECT_EQ(testing::format_version(dir / "v4.hyper"), 4);

  for (const auto& [type, version, reason] : std::vector<std::tuple<std::string, int, std::string>>{
           {"NUMERIC(38,2)", 2, "needs format version 3"}, {"REAL", 3, "needs 4"}}) {
    testing::ScratchDir inner;
    const auto input = inner / "wide.hyper";
    {
      auto connection = testing::connect();
      connection.exec(
          fmt::format("CREATE DATABASE {} WITH VERSION 4", sql::quote_identifier(input.string())));
    }
    testing::with_attached(input,
                           {fmt::format("CREATE TABLE db.public.\"Wide\" (\"Col\" {})", type)});
    const auto bytes = testing::read_bytes(input);
    DefragOptions down;
    down.input = input;
    down.target_version = version;
    try {
      defragment(down);
      FAIL() << type << " fitted into version " << version;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::incompatible_version);
      const std::string message = error.what();
      EXPECT_NE(message.find("\"Col\""), std::string::npos) << message;
      EXPECT_NE(message.find("\"public\".\"Wide\""), std::string::npos) << message;
      EXPECT_NE(message.find(fmt::format("cannot write format version {}", version)),
                std::string::npos)
          << message;
    }
    EXPECT_EQ(testing::unexpected_files(inner.path(), {"wide.hyper"}), std::vector<std::string>{});
    EXPECT_TRUE(testing::has_bytes(input, bytes));
  }
}

// The list in catalog/preserved.h, docs/ENGINE.md and the tests agree.
TEST(RoundTrip, PreservedListMatchesDocsAndTests) {
  std::ifstream docs(fs::path(HYPERDEFRAG_SOURCE_DIR) / "docs" / "ENGINE.md");
  std::stringstream text;
  text << docs.rdbuf();
  const auto* unit = ::testing::UnitTest::GetInstance();
  for (const auto& item : catalog::kPreserved) {
    EXPECT_NE(text.str().find(std::string(item.what)), std::string::npos)
        << "docs/ENGINE.md does not list: " << item.what;
    bool found = false;
    for (int s = 0; s < unit->total_test_suite_count(); ++s) {
      const auto* suite = unit->GetTestSuite(s);
      for (int t = 0; t < suite->total_test_count(); ++t) {
        found |= fmt::format("{}.{}", suite->name(), suite->GetTestInfo(t)->name()) == item.test;
      }
    }
    EXPECT_TRUE(found) << item.what << ": no test named " << item.test;
  }
}

}  // namespace
}  // namespace hyperdefrag
