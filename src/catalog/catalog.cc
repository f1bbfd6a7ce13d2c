#include "catalog/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>

#include "sql/quote.h"
#include "util/error.h"

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

// "[1,2]" (how the engine prints an int2vector) -> {1, 2}.
std::vector<int> parse_numbers(std::string_view text) {
  std::vector<int> numbers;
  int current = 0;
  bool in_number = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      current = current * 10 + (c - '0');
      in_number = true;
    } else if (in_number) {
      numbers.push_back(current);
      current = 0;
      in_number = false;
    }
  }
  if (in_number) numbers.push_back(current);
  return numbers;
}

std::string column_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += quote_identifier(name);
  }
  return out;
}

// A constraint naming a column or a table the catalog does not have: the
// file's catalog contradicts itself.
[[noreturn]] void inconsistent(const std::string& path, const std::string& what) {
  throw Error(ExitCode::bad_input, path,
              fmt::format("its catalog contradicts itself ({}); the file is damaged", what));
}

// A table while the catalog is read: its position in Catalog::tables and its
// columns by number.
struct TableIndex {
  std::size_t position;
  std::map<int, std::string> column_by_number;
};

}  // namespace

int read_format_version(sql::Connection& connection, const std::string& path) {
  const auto result = connection.exec(
      fmt::format("SELECT database_version FROM pg_catalog.hyper_database WHERE datname = {}",
                  quote_literal(path)));
  if (result.rows() != 1) {
    throw Error(
        ExitCode::engine, path,
        fmt::format("hyperd reports {} format versions for this database, not one", result.rows()));
  }
  const long long version = result.integer(0, 0);
  if (version < 0 || version > 0xffff) {
    throw Error(ExitCode::engine, path,
                fmt::format("hyperd reports format version {} for this database", version));
  }
  return static_cast<int>(version);
}

Catalog read_catalog(sql::Connection& connection, const std::string& alias,
                     const std::string& path) {
  Catalog catalog;
  catalog.format_version = read_format_version(connection, path);

  const auto schemas =
      connection.exec(fmt::format("SELECT n.nspname FROM {} n WHERE {} ORDER BY n.oid",
                                  catalog_table(alias, "pg_namespace"), kSystemSchemaFilter));
  for (int row = 0; row < schemas.rows(); ++row) {
    catalog.schemas.emplace_back(schemas.value(row, 0));
  }

  // Every column of every table in one round trip, in table creation order.
  // A table without columns (CREATE TABLE t (), which can hold rows) comes
  // as one row whose column fields are NULL.
  const auto columns = connection.exec(fmt::format(
      "SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, "
      "format_type(a.atttypid, a.atttypmod), tn.nspname, a.attnotnull, co.collname, "
      "d.adsrc, ds.description "
      "FROM {class} c "
      "JOIN {namespace} n ON n.oid = c.relnamespace "
      "LEFT JOIN {attribute} a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
      "LEFT JOIN {type} t ON t.oid = a.atttypid "
      "LEFT JOIN {namespace} tn ON tn.oid = t.typnamespace "
      "LEFT JOIN {collation} co ON co.oid = a.attcollation AND co.collname <> 'default' "
      "LEFT JOIN {attrdef} d ON d.adrelid = c.oid AND d.adnum = a.attnum "
      "LEFT JOIN {description} ds ON ds.objoid = c.oid AND ds.objsubid = a.attnum "
      "WHERE c.relkind = 'r' AND {filter} "
      "ORDER BY c.oid, a.attnum",
      fmt::arg("class", catalog_table(alias, "pg_class")),
      fmt::arg("namespace", catalog_table(alias, "pg_namespace")),
      fmt::arg("attribute", catalog_table(alias, "pg_attribute")),
      fmt::arg("type", catalog_table(alias, "pg_type")),
      fmt::arg("collation", catalog_table(alias, "pg_collation")),
      fmt::arg("attrdef", catalog_table(alias, "pg_attrdef")),
      fmt::arg("description", catalog_table(alias, "pg_description")),
      fmt::arg("filter", kSystemSchemaFilter)));
  std::map<std::string, TableIndex> tables_by_oid;
  for (int row = 0; row < columns.rows(); ++row) {
    const std::string oid(columns.value(row, 0));
    auto found = tables_by_oid.find(oid);
    if (found == tables_by_oid.end()) {
      found = tables_by_oid.emplace(oid, TableIndex{catalog.tables.size(), {}}).first;
      Table table;
      table.schema = columns.value(row, 1);
      table.name = columns.value(row, 2);
      catalog.tables.push_back(std::move(table));
    }
    if (columns.is_null(row, 3)) continue;  // a table without columns
    Column column;
    column.name = columns.value(row, 4);
    const std::string type_namespace(columns.value(row, 6));
    column.type =
        type_namespace == "pg_catalog"
            ? std::string(columns.value(row, 5))
            : fmt::format("{}.{}", quote_identifier(type_namespace), columns.value(row, 5));
    column.not_null = columns.boolean(row, 7);
    column.collation = columns.optional_value(row, 8);
    if (auto expression = columns.optional_value(row, 9)) {
      column.default_expression = strip_database_qualifiers(*expression);
    }
    column.description = columns.optional_value(row, 10);
    found->second.column_by_number[static_cast<int>(columns.integer(row, 3))] = column.name;
    catalog.tables[found->second.position].columns.push_back(std::move(column));
  }

  // Assumed constraints, in creation order.
  const auto constraints =
      connection.exec(fmt::format("SELECT conrelid, contype, conkey, confrelid, confkey FROM {} "
                                  "WHERE contype IN ('p', 'u', 'f') ORDER BY oid",
                                  catalog_table(alias, "pg_constraint")));
  const auto names = [&](const TableIndex& index, std::string_view numbers) {
    std::vector<std::string> out;
    for (int number : parse_numbers(numbers)) {
      const auto found = index.column_by_number.find(number);
      if (found == index.column_by_number.end()) {
        inconsistent(path, fmt::format("a constraint of table {} names its column number {}, which "
                                       "it does not have",
                                       quote_qualified({catalog.tables[index.position].schema,
                                                        catalog.tables[index.position].name}),
                                       number));
      }
      out.push_back(found->second);
    }
    return out;
  };
  for (int row = 0; row < constraints.rows(); ++row) {
    const auto owner = tables_by_oid.find(std::string(constraints.value(row, 0)));
    if (owner == tables_by_oid.end()) continue;  // not a user table
    Table& table = catalog.tables[owner->second.position];
    const auto kind = constraints.value(row, 1);
    auto columns_of = names(owner->second, constraints.value(row, 2));
    if (kind == "p") {
      table.primary_key = std::move(columns_of);
    } else if (kind == "u") {
      table.unique.push_back(std::move(columns_of));
    } else {
      const auto referenced_oid = std::string(constraints.value(row, 3));
      const auto found = tables_by_oid.find(referenced_oid);
      if (found == tables_by_oid.end()) {
        inconsistent(path,
                     fmt::format("a foreign key of table {} references table oid {}, which is "
                                 "not one of its tables",
                                 quote_qualified({table.schema, table.name}), referenced_oid));
      }
      const auto& referenced = found->second;
      const Table& target = catalog.tables[referenced.position];
      table.foreign_keys.push_back(ForeignKey{std::move(columns_of), target.schema, target.name,
                                              names(referenced, constraints.value(row, 4))});
    }
  }
  // The engine numbers unique constraints in no stable order; keep them sorted.
  for (auto& table : catalog.tables) std::sort(table.unique.begin(), table.unique.end());
  return catalog;
}

std::string create_schema_sql(const std::string& alias, const std::string& schema) {
  return fmt::format("CREATE SCHEMA IF NOT EXISTS {}", quote_qualified({alias, schema}));
}

std::string create_table_sql(const std::string& alias, const Table& table) {
  std::string elements;
  const auto add = [&](const std::string& element) {
    if (!elements.empty()) elements += ", ";
    elements += element;
  };
  for (const auto& column : table.columns) {
    std::string definition = fmt::format("{} {}", quote_identifier(column.name), column.type);
    if (column.collation) definition += " COLLATE " + quote_identifier(*column.collation);
    if (column.not_null) definition += " NOT NULL";
    // The expression is the engine's own text for it, read back from the
    // file; it is SQL by nature and cannot be quoted as a value.
    if (column.default_expression) definition += " DEFAULT " + *column.default_expression;
    add(definition);
  }
  if (!table.primary_key.empty()) {
    add(fmt::format("ASSUMED PRIMARY KEY ({})", column_list(table.primary_key)));
  }
  for (const auto& unique : table.unique) {
    add(fmt::format("ASSUMED UNIQUE ({})", column_list(unique)));
  }
  return fmt::format("CREATE TABLE {} ({})", quote_qualified({alias, table.schema, table.name}),
                     elements);
}

std::vector<std::string> describe_columns_sql(const std::string& alias, const Table& table) {
  std::vector<std::string> statements;
  for (const auto& column : table.columns) {
    if (!column.description) continue;
    statements.push_back(
        fmt::format("COMMENT ON COLUMN {} IS {}",
                    quote_qualified({alias, table.schema, table.name, column.name}),
                    quote_literal(*column.description)));
  }
  return statements;
}

std::vector<std::string> foreign_keys_sql(const std::string& alias, const Table& table) {
  std::vector<std::string> statements;
  for (const auto& key : table.foreign_keys) {
    statements.push_back(
        fmt::format("ALTER TABLE {} ADD ASSUMED FOREIGN KEY ({}) REFERENCES {} ({})",
                    quote_qualified({alias, table.schema, table.name}), column_list(key.columns),
                    quote_qualified({alias, key.referenced_schema, key.referenced_table}),
                    column_list(key.referenced_columns)));
  }
  return statements;
}

long long count_rows(sql::Connection& connection, const std::string& alias, const Table& table) {
  return connection
      .exec(fmt::format("SELECT COUNT(*) FROM {}",
                        quote_qualified({alias, table.schema, table.name})))
      .integer(0, 0);
}

std::vector<long long> count_rows(sql::Connection& connection, const std::string& alias,
                                  std::span<const Table> tables) {
  std::vector<long long> counts(tables.size(), -1);
  for (std::size_t first = 0; first < tables.size(); first += kTablesPerCount) {
    const std::size_t end = std::min(first + kTablesPerCount, tables.size());
    std::string statement;
    for (std::size_t i = first; i < end; ++i) {
      statement += fmt::format("{}SELECT {}, COUNT(*) FROM {}", i == first ? "" : " UNION ALL ", i,
                               quote_qualified({alias, tables[i].schema, tables[i].name}));
    }
    const auto result = connection.exec(statement);
    for (int row = 0; row < result.rows(); ++row) {
      const long long index = result.integer(row, 0);
      if (index < static_cast<long long>(first) || index >= static_cast<long long>(end)) {
        throw Error(ExitCode::engine,
                    fmt::format("the engine answered a row count for table {} when asked for "
                                "tables {} to {}",
                                index, first, end - 1));
      }
      counts[static_cast<std::size_t>(index)] = result.integer(row, 1);
    }
  }
  if (std::find(counts.begin(), counts.end(), -1) != counts.end()) {
    throw Error(ExitCode::engine, "the engine left a table's row count unanswered");
  }
  return counts;
}

std::map<std::pair<std::string, std::string>, long long> row_versions_by_table(
    sql::Connection& connection, const std::string& alias) {
  const auto result = connection.exec(fmt::format(
      "SELECT n.nspname, c.relname, c.reltuples FROM {} c JOIN {} n ON n.oid = c.relnamespace "
      "WHERE c.relkind = 'r' AND {}",
      catalog_table(alias, "pg_class"), catalog_table(alias, "pg_namespace"), kSystemSchemaFilter));
  std::map<std::pair<std::string, std::string>, long long> versions;
  for (int row = 0; row < result.rows(); ++row) {
    versions[{std::string(result.value(row, 0)), std::string(result.value(row, 1))}] =
        std::llround(result.real(row, 2));
  }
  return versions;
}

long long row_versions(sql::Connection& connection, const std::string& alias) {
  long long total = 0;
  for (const auto& [table, versions] : row_versions_by_table(connection, alias)) total += versions;
  return total;
}

std::string column_list(const Table& table) {
  std::string columns;
  for (const auto& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += quote_identifier(column.name);
  }
  return columns;
}

std::string insert_into(const std::string& alias, const Table& table) {
  const std::string columns = column_list(table);
  return fmt::format("INSERT INTO {}{}", quote_qualified({alias, table.schema, table.name}),
                     columns.empty() ? std::string() : " (" + columns + ")");
}

std::string strip_database_qualifiers(const std::string& expression) {
  std::string out;
  std::size_t i = 0;
  const std::size_t n = expression.size();
  // Copies a quoted token ("..." or '...', the quote doubled inside) and
  // returns the index just past it.
  const auto quoted_end = [&](std::size_t start, char quote, bool backslashes) {
    std::size_t j = start + 1;
    while (j < n) {
      if (backslashes && expression[j] == '\\') {
        j += 2;
        continue;
      }
      if (expression[j] == quote) {
        if (j + 1 < n && expression[j + 1] == quote) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return n;
  };
  const std::string catalog_part = "\"pg_catalog\".";
  while (i < n) {
    const char c = expression[i];
    if (c == '"') {
      const std::size_t end = quoted_end(i, '"', false);
      // "db"."pg_catalog". -> "pg_catalog".
      if (end < n && expression[end] == '.' &&
          expression.compare(end + 1, catalog_part.size(), catalog_part) == 0) {
        i = end + 1;
        continue;
      }
      out.append(expression, i, end - i);
      i = end;
    } else if (c == '\'') {
      const bool escape_string =
          i > 0 && (expression[i - 1] == 'E' || expression[i - 1] == 'e') &&
          (i < 2 || !std::isalnum(static_cast<unsigned char>(expression[i - 2])));
      const std::size_t end = quoted_end(i, '\'', escape_string);
      out.append(expression, i, end - i);
      i = end;
    } else if (c == '$') {
      // Dollar quoting: $tag$ ... $tag$ (tag may be empty).
      std::size_t tag_end = i + 1;
      while (tag_end < n && (std::isalnum(static_cast<unsigned char>(expression[tag_end])) ||
                             expression[tag_end] == '_')) {
        ++tag_end;
      }
      if (tag_end < n && expression[tag_end] == '$') {
        const std::string tag = expression.substr(i, tag_end - i + 1);
        const std::size_t close = expression.find(tag, tag_end + 1);
        const std::size_t end = close == std::string::npos ? n : close + tag.size();
        out.append(expression, i, end - i);
        i = end;
      } else {
        out += c;
        ++i;
      }
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

VersionNeed minimum_version(const Column& column) {
  if (column.type == "real") return {4, "REAL is stored in 32 bits from format version 4"};
  if (column.type.rfind("numeric(", 0) == 0) {
    const auto precision = parse_numbers(column.type);
    if (!precision.empty() && precision[0] > 18) {
      return {3, fmt::format("NUMERIC with precision {} (above 18) needs format version 3",
                             precision[0])};
    }
  }
  return {0, ""};
}

}  // namespace hyperdefrag::catalog
