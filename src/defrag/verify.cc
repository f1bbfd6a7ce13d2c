#include "defrag/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "sql/quote.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {

constexpr const char* kCopyAlias = "verify_database";

[[noreturn]] void differs(const std::filesystem::path& input, const std::string& what) {
  throw Error(ExitCode::verify_failed,
              fmt::format("{}: the copy does not match the input: {}; the copy was discarded",
                          input.string(), what));
}

std::string describe(const catalog::Column& column) {
  return fmt::format(
      "{} {}{}{}", sql::quote_identifier(column.name), column.type,
      column.collation ? " COLLATE " + sql::quote_identifier(*column.collation) : std::string(),
      column.not_null ? " NOT NULL" : "");
}

void compare_catalogs(const catalog::Catalog& source, const catalog::Catalog& copied,
                      const std::filesystem::path& input) {
  if (copied.format_version != source.format_version) {
    differs(input, fmt::format("format version {} instead of {}", copied.format_version,
                               source.format_version));
  }
  // Schemas as sets: their order (by oid) carries no meaning. The engine
  // makes "public" in every new database, so a copy of an input without one
  // has it in addition, empty (tables are compared below).
  auto want_schemas = source.schemas;
  auto got_schemas = copied.schemas;
  const bool input_has_public =
      std::find(want_schemas.begin(), want_schemas.end(), "public") != want_schemas.end();
  if (!input_has_public) std::erase(got_schemas, "public");
  std::sort(want_schemas.begin(), want_schemas.end());
  std::sort(got_schemas.begin(), got_schemas.end());
  if (got_schemas != want_schemas) {
    differs(input, fmt::format("schemas [{}] instead of [{}]", fmt::join(got_schemas, ", "),
                               fmt::join(want_schemas, ", ")));
  }
  if (copied.tables.size() != source.tables.size()) {
    differs(input,
            fmt::format("{} tables instead of {}", copied.tables.size(), source.tables.size()));
  }
  for (std::size_t i = 0; i < source.tables.size(); ++i) {
    const auto& want = source.tables[i];
    const auto& got = copied.tables[i];
    const auto name = sql::quote_qualified({want.schema, want.name});
    if (got.schema != want.schema || got.name != want.name) {
      differs(input, fmt::format("table {} where {} was expected",
                                 sql::quote_qualified({got.schema, got.name}), name));
    }
    if (got.columns.size() != want.columns.size()) {
      differs(input, fmt::format("table {} has {} columns instead of {}", name, got.columns.size(),
                                 want.columns.size()));
    }
    for (std::size_t c = 0; c < want.columns.size(); ++c) {
      if (describe(got.columns[c]) != describe(want.columns[c])) {
        differs(input, fmt::format("table {} has column {} where {} was expected", name,
                                   describe(got.columns[c]), describe(want.columns[c])));
      }
    }
  }
}

}  // namespace

void verify_copy(sql::Connection& connection, const catalog::Catalog& source,
                 const std::string& source_alias, const std::filesystem::path& input,
                 const std::filesystem::path& copy) {
  connection.exec(fmt::format("ATTACH DATABASE {} AS {} WITH (access_mode = 'readonly')",
                              sql::quote_identifier(copy.string()),
                              sql::quote_identifier(kCopyAlias)));
  try {
    const auto copied = catalog::read_catalog(connection, kCopyAlias, copy.string());
    compare_catalogs(source, copied, input);
    for (const auto& table : source.tables) {
      const auto want = catalog::count_rows(connection, source_alias, table);
      const auto got = catalog::count_rows(connection, kCopyAlias, table);
      if (got != want) {
        differs(input, fmt::format("table {} has {} rows instead of {}",
                                   sql::quote_qualified({table.schema, table.name}), got, want));
      }
    }
  } catch (...) {
    try {
      connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kCopyAlias)));
    } catch (...) {
      // The first error is the one to report.
    }
    throw;
  }
  connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kCopyAlias)));
}

}  // namespace hyperdefrag
