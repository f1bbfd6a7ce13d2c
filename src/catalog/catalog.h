// What a .hyper database holds, read from its pg_catalog, and the SQL that
// recreates it. Every name read here reaches SQL only through sql/quote.h.
#pragma once

#include <optional>
#include <string>
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
};

struct Table {
  std::string schema;
  std::string name;
  std::vector<Column> columns;  // in the table's column order
};

struct Catalog {
  int format_version = 0;            // the file-format version of the database
  std::vector<std::string> schemas;  // every user schema, empty ones too, in creation order
  std::vector<Table> tables;         // every table, in creation order
};

// Reads the catalog of the database attached as `alias`, whose path (as given
// to ATTACH) is `path`.
Catalog read_catalog(sql::Connection& connection, const std::string& alias,
                     const std::string& path);

// The file-format version of the attached database whose path is `path`.
int read_format_version(sql::Connection& connection, const std::string& path);

// CREATE SCHEMA / CREATE TABLE statements recreating the catalog's objects
// inside the database attached as `alias`.
std::string create_schema_sql(const std::string& alias, const std::string& schema);
std::string create_table_sql(const std::string& alias, const Table& table);

// Row count of a table in the database attached as `alias`.
long long count_rows(sql::Connection& connection, const std::string& alias, const Table& table);

}  // namespace hyperdefrag::catalog
