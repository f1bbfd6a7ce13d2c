#include "inspect/inspect.h"

#include <fmt/format.h>

#include <optional>

#include "check/check.h"
#include "check/tableau_releases.h"
#include "sql/attach.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hyper_file.h"
#include "util/text.h"

namespace hyperdefrag::inspect {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAlias = "inspected";

[[noreturn]] void bad_input(const fs::path& path, const std::string& cause) {
  throw Error(ExitCode::bad_input, path, cause);
}

nlohmann::ordered_json optional_json(const std::optional<std::string>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += sql::quote_identifier(name);
  }
  return out;
}

// A description on one line: line breaks and tabs shown as \n, \r and \t.
std::string one_line_description(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One column, human: name, type, nullability, then what else it has.
std::string describe_column(const catalog::Column& column) {
  std::string text = fmt::format("{} {} {}", sql::quote_identifier(column.name), column.type,
                                 column.not_null ? "NOT NULL" : "NULL");
  if (column.collation)
    text += fmt::format(" COLLATE {}", sql::quote_identifier(*column.collation));
  if (column.default_expression) text += fmt::format(" DEFAULT {}", *column.default_expression);
  if (column.description) {
    text += fmt::format(" -- {}", one_line_description(*column.description));
  }
  return text;
}

// A table's assumed constraints, one line each, as SQL would declare them.
std::vector<std::string> describe_constraints(const catalog::Table& table) {
  std::vector<std::string> lines;
  if (!table.primary_key.empty()) {
    lines.push_back(fmt::format("ASSUMED PRIMARY KEY ({})", quoted_list(table.primary_key)));
  }
  for (const auto& unique : table.unique) {
    lines.push_back(fmt::format("ASSUMED UNIQUE ({})", quoted_list(unique)));
  }
  for (const auto& key : table.foreign_keys) {
    lines.push_back(fmt::format("ASSUMED FOREIGN KEY ({}) REFERENCES {} ({})",
                                quoted_list(key.columns),
                                sql::quote_qualified({key.referenced_schema, key.referenced_table}),
                                quoted_list(key.referenced_columns)));
  }
  return lines;
}

nlohmann::ordered_json column_json(const catalog::Column& column) {
  return {{"name", column.name},
          {"type", column.type},
          {"nullable", !column.not_null},
          {"collation", optional_json(column.collation)},
          {"default", optional_json(column.default_expression)},
          {"description", optional_json(column.description)}};
}

nlohmann::ordered_json constraints_json(const catalog::Table& table) {
  auto constraints = nlohmann::ordered_json::array();
  if (!table.primary_key.empty()) {
    constraints.push_back({{"type", "primary_key"}, {"columns", table.primary_key}});
  }
  for (const auto& unique : table.unique) {
    constraints.push_back({{"type", "unique"}, {"columns", unique}});
  }
  for (const auto& key : table.foreign_keys) {
    constraints.push_back({{"type", "foreign_key"},
                           {"columns", key.columns},
                           {"references",
                            {{"schema", key.referenced_schema},
                             {"table", key.referenced_table},
                             {"columns", key.referenced_columns}}}});
  }
  return constraints;
}

}  // namespace

namespace {

// The engine refused to attach the file: too new, locked, or not a database.
// The engine refused a query on the attached file: the engine's fault when
// the connection or its resources failed, else the file's (damaged content).
[[noreturn]] void explain_read_failure(const fs::path& path, const sql::SqlError& error) {
  if (error.connection_lost()) {
    throw Error(ExitCode::engine, path,
                fmt::format("lost hyperd while reading it: {}", error.what()));
  }
  if (error.sqlstate().rfind("53", 0) == 0) {
    throw Error(ExitCode::engine, path,
                fmt::format("hyperd ran out of resources reading it: {}", error.what()));
  }
  bad_input(path, fmt::format("the engine cannot read it, it may be damaged: {}", error.what()));
}

}  // namespace

FileInfo inspect_file(engine::HyperProcess& engine, const fs::path& path) {
  FileInfo info;
  std::error_code no_directory;
  info.path = fs::absolute(path, no_directory).lexically_normal();
  if (no_directory) {
    bad_input(path, fmt::format("cannot be found: the current directory is gone ({})",
                                no_directory.message()));
  }
  check_hyper_file(info.path);
  info.size = hyperdefrag::file_size(info.path);
  try {
    sql::Connection connection(engine.endpoint());
    sql::Attached attached = sql::attach_input(connection, info.path, kAlias);
    info.catalog = catalog::read_catalog(connection, kAlias, info.path.string());
    const auto rows = catalog::count_rows(connection, kAlias, info.catalog.tables);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      info.tables.push_back({info.catalog.tables[i], rows[i]});
    }
    attached.detach();
  } catch (const sql::SqlError& error) {
    explain_read_failure(info.path, error);
  }
  return info;
}

std::vector<std::string> human_lines(const FileInfo& info) {
  std::vector<std::string> lines;
  const std::string name = info.entry.empty()
                               ? info.path.string()
                               : fmt::format("{} [{}]", info.path.string(), info.entry);
  long long rows = 0;
  for (const auto& table : info.tables) rows += table.rows;
  lines.push_back(fmt::format("{}: {} bytes ({}), format version {}, {}, {}, {}", name,
                              with_commas(info.size), human_size(info.size),
                              info.catalog.format_version,
                              count_of(info.catalog.schemas.size(), "schema", "schemas"),
                              count_of(info.tables.size(), "table", "tables"),
                              count_of(static_cast<std::uintmax_t>(rows), "row", "rows")));
  for (const auto& schema : info.catalog.schemas) {
    std::size_t count = 0;
    for (const auto& table : info.tables) count += table.table.schema == schema ? 1 : 0;
    lines.push_back(
        fmt::format("  schema {}{}", sql::quote_identifier(schema), count == 0 ? " (empty)" : ""));
    for (const auto& table : info.tables) {
      if (table.table.schema != schema) continue;
      lines.push_back(fmt::format("    table {}: {}, {}",
                                  sql::quote_qualified({table.table.schema, table.table.name}),
                                  count_of(static_cast<std::uintmax_t>(table.rows), "row", "rows"),
                                  count_of(table.table.columns.size(), "column", "columns")));
      for (const auto& column : table.table.columns) {
        lines.push_back("      " + describe_column(column));
      }
      for (const auto& constraint : describe_constraints(table.table)) {
        lines.push_back("      " + constraint);
      }
    }
  }
  lines.push_back(
      fmt::format("  opened by {}", check::describe_releases_opening(info.catalog.format_version)));
  return lines;
}

nlohmann::ordered_json to_json(const FileInfo& info) {
  nlohmann::ordered_json schemas = nlohmann::ordered_json::array();
  for (const auto& schema : info.catalog.schemas) {
    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    for (const auto& table : info.tables) {
      if (table.table.schema != schema) continue;
      nlohmann::ordered_json columns = nlohmann::ordered_json::array();
      for (const auto& column : table.table.columns) columns.push_back(column_json(column));
      tables.push_back({{"name", table.table.name},
                        {"rows", table.rows},
                        {"columns", std::move(columns)},
                        {"constraints", constraints_json(table.table)}});
    }
    schemas.push_back({{"name", schema}, {"tables", std::move(tables)}});
  }
  nlohmann::ordered_json json = {{"hyperdefrag_inspect", kInspectSchemaVersion},
                                 {"file", info.path.string()},
                                 {"size", info.size},
                                 {"format_version", info.catalog.format_version},
                                 {"opened_by", check::releases_json(info.catalog.format_version)},
                                 {"schemas", std::move(schemas)}};
  if (!info.entry.empty()) json["entry"] = info.entry;
  return json;
}

}  // namespace hyperdefrag::inspect
