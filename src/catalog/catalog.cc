#include "catalog/catalog.h"

#include <fmt/format.h>

#include <map>

#include "sql/quote.h"

namespace hyperdefrag::catalog {
namespace {

using sql::quote_identifier;
using sql::quote_literal;
using sql::quote_qualified;

// Schemas that belong to the engine, not to the file's author.
constexpr const char* kSystemSchemaFilter =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'tableau') "
    "AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast%'";

std::string catalog_table(const std::string& alias, const char* name) {
  return fmt::format("{}.pg_catalog.{}", quote_identifier(alias), name);
}

}  // namespace

int read_format_version(sql::Connection& connection, const std::string& path) {
  const auto result = connection.exec(
      fmt::format("SELECT database_version FROM pg_catalog.hyper_database WHERE datname = {}",
                  quote_literal(path)));
  if (result.rows() != 1) {
    throw std::runtime_error(
        fmt::format("{}: the engine reports no format version for this database", path));
  }
  return static_cast<int>(result.integer(0, 0));
}

Catalog read_catalog(sql::Connection& connection, const std::string& alias,
                     const std::string& path) {
  Catalog catalog;
  catalog.format_version = read_format_version(connection, path);

  const auto schemas = connection.exec(
      fmt::format("SELECT n.nspname FROM {} n WHERE {} ORDER BY n.oid",
                  catalog_table(alias, "pg_namespace"), kSystemSchemaFilter));
  for (int row = 0; row < schemas.rows(); ++row) {
    catalog.schemas.emplace_back(schemas.value(row, 0));
  }

  // Every column of every table in one round trip, in table creation order.
  const auto columns = connection.exec(fmt::format(
      "SELECT c.oid, n.nspname, c.relname, a.attname, "
      "format_type(a.atttypid, a.atttypmod), tn.nspname, a.attnotnull, co.collname "
      "FROM {class} c "
      "JOIN {namespace} n ON n.oid = c.relnamespace "
      "JOIN {attribute} a ON a.attrelid = c.oid "
      "JOIN {type} t ON t.oid = a.atttypid "
      "JOIN {namespace} tn ON tn.oid = t.typnamespace "
      "LEFT JOIN {collation} co ON co.oid = a.attcollation AND co.collname <> 'default' "
      "WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND {filter} "
      "ORDER BY c.oid, a.attnum",
      fmt::arg("class", catalog_table(alias, "pg_class")),
      fmt::arg("namespace", catalog_table(alias, "pg_namespace")),
      fmt::arg("attribute", catalog_table(alias, "pg_attribute")),
      fmt::arg("type", catalog_table(alias, "pg_type")),
      fmt::arg("collation", catalog_table(alias, "pg_collation")),
      fmt::arg("filter", kSystemSchemaFilter)));
  std::string current_oid;
  for (int row = 0; row < columns.rows(); ++row) {
    if (catalog.tables.empty() || columns.value(row, 0) != current_oid) {
      current_oid = columns.value(row, 0);
      catalog.tables.push_back(
          Table{std::string(columns.value(row, 1)), std::string(columns.value(row, 2)), {}});
    }
    Column column;
    column.name = columns.value(row, 3);
    const std::string type_namespace(columns.value(row, 5));
    column.type = type_namespace == "pg_catalog"
                      ? std::string(columns.value(row, 4))
                      : fmt::format("{}.{}", quote_identifier(type_namespace), columns.value(row, 4));
    column.not_null = columns.boolean(row, 6);
    column.collation = columns.optional_value(row, 7);
    catalog.tables.back().columns.push_back(std::move(column));
  }
  return catalog;
}

std::string create_schema_sql(const std::string& alias, const std::string& schema) {
  return fmt::format("CREATE SCHEMA IF NOT EXISTS {}", quote_qualified({alias, schema}));
}

std::string create_table_sql(const std::string& alias, const Table& table) {
  std::string columns;
  for (const auto& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += fmt::format("{} {}", quote_identifier(column.name), column.type);
    if (column.collation) columns += fmt::format(" COLLATE {}", quote_identifier(*column.collation));
    if (column.not_null) columns += " NOT NULL";
  }
  return fmt::format("CREATE TABLE {} ({})", quote_qualified({alias, table.schema, table.name}),
                     columns);
}

long long count_rows(sql::Connection& connection, const std::string& alias, const Table& table) {
  return connection
      .exec(fmt::format("SELECT COUNT(*) FROM {}", quote_qualified({alias, table.schema, table.name})))
      .integer(0, 0);
}

}  // namespace hyperdefrag::catalog
