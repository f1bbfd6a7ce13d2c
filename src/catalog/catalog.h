// What a .hyper database holds, read from its pg_catalog, and the SQL that
// recreates it. Every name read here reaches SQL only through sql/quote.h.
// What is carried over, and what cannot be, is listed in catalog/preserved.h.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sql/connection.h"

namespace hyperdefrag::catalog {

struct Column {
  std::string name;
  // The type as SQL, with its modifiers: "numeric(18,3)", "character varying(10)",
  // "tableau.tabgeography" (types outside pg_catalog are qualified).
  std::string type;
  bool not_null = false;
  std::optional<std::string> collation;  // absent for the default collation
  // The DEFAULT expression as the engine stores it, with database qualifiers
  // removed (see strip_database_qualifiers).
  std::optional<std::string> default_expression;
  std::optional<std::string> description;  // COMMENT ON COLUMN
  bool operator==(const Column&) const = default;
};

// ASSUMED FOREIGN KEY (columns) REFERENCES schema.table (referenced_columns).
struct ForeignKey {
  std::vector<std::string> columns;
  std::string referenced_schema;
  std::string referenced_table;
  std::vector<std::string> referenced_columns;
  bool operator==(const ForeignKey&) const = default;
};

struct Table {
  std::string schema;
  std::string name;
  std::vector<Column> columns;                   // in the table's column order
  std::vector<std::string> primary_key;          // ASSUMED PRIMARY KEY columns, or empty
  std::vector<std::vector<std::string>> unique;  // each ASSUMED UNIQUE's columns, sorted
  std::vector<ForeignKey> foreign_keys;
  bool operator==(const Table&) const = default;
};

struct Catalog {
  int format_version = 0;            // the file-format version of the database
  std::vector<std::string> schemas;  // every user schema, empty ones too, in creation order
  std::vector<Table> tables;         // every table, in creation order
};

// Reads the catalog of the database attached as `alias`, whose path (as given
// to ATTACH) is `path`. Throws sql::SqlError when the engine refuses a query,
// and hyperdefrag::Error naming `path`: ExitCode::bad_input when the catalog
// contradicts itself (a damaged file), ExitCode::engine when the engine's
// answer makes no sense.
Catalog read_catalog(sql::Connection& connection, const std::string& alias,
                     const std::string& path);

// The file-format version of the attached database whose path is `path`;
// hyperdefrag::Error (ExitCode::engine) if the engine reports none.
int read_format_version(sql::Connection& connection, const std::string& path);

// Statements recreating the catalog's objects inside the database attached
// as `alias`: schemas; tables with columns, defaults, primary key and unique
// constraints; column descriptions; and, once every table exists, foreign keys.
std::string create_schema_sql(const std::string& alias, const std::string& schema);
std::string create_table_sql(const std::string& alias, const Table& table);
std::vector<std::string> describe_columns_sql(const std::string& alias, const Table& table);
std::vector<std::string> foreign_keys_sql(const std::string& alias, const Table& table);

// Row count of a table in the database attached as `alias`.
long long count_rows(sql::Connection& connection, const std::string& alias, const Table& table);

// How many tables count_rows counts in one statement.
constexpr std::size_t kTablesPerCount = 50;

// Row counts of `tables` (in their order) in the database attached as `alias`,
// kTablesPerCount tables per statement: a UNION ALL with one branch per
// table. One statement per table costs the engine about 1 ms each, 0.45-0.56 s
// for 500 small tables, against 0.07-0.18 s in statements of 50 or of 100
// (docs/BENCHMARKS.md, "Many tables").
std::vector<long long> count_rows(sql::Connection& connection, const std::string& alias,
                                  std::span<const Table> tables);

// The row versions the engine has ever stored in each user table of the
// database attached as `alias`, by (schema, table): pg_class.reltuples, which
// counts inserted and updated rows and is not lowered by deletes. Rows
// (COUNT(*)) divided by it is a table's live share (docs/USAGE.md, "Progress").
std::map<std::pair<std::string, std::string>, long long> row_versions_by_table(
    sql::Connection& connection, const std::string& alias);

// The same, summed over the file's user tables.
long long row_versions(sql::Connection& connection, const std::string& alias);

// The table's columns, quoted, in order, separated by ", ": for INSERT ...
// SELECT and EXCEPT ALL.
std::string column_list(const Table& table);

// "INSERT INTO "alias"."schema"."table" (columns)": the start of a copy of
// `table`'s rows into the database attached as `alias`. A table without
// columns still holds rows, and gets no column list (INSERT INTO t SELECT FROM s).
std::string insert_into(const std::string& alias, const Table& table);

// The engine stores a DEFAULT's function calls qualified with the alias the
// database had when the table was made: `"p"."pg_catalog"."now"()`. That alias
// means nothing in another session, so the database part is removed:
// `"pg_catalog"."now"()`. String literals and other identifiers are untouched.
std::string strip_database_qualifiers(const std::string& expression);

// The lowest file-format version that can hold a column of this type, and
// why: NUMERIC above precision 18 needs 3, a 32-bit REAL needs 4.
struct VersionNeed {
  int version = 0;
  std::string reason;
};
VersionNeed minimum_version(const Column& column);

}  // namespace hyperdefrag::catalog
