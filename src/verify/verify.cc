#include "verify/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "sql/attach.h"
#include "sql/quote.h"
#include "util/error.h"

namespace hyperdefrag::verify {
using sql::quote_identifier;

namespace {

using sql::quote_qualified;

std::string table_name(const catalog::Table& table) {
  return quote_qualified({table.schema, table.name});
}

std::string describe(const std::optional<std::string>& value) {
  return value ? fmt::format("'{}'", *value) : "none";
}

void compare_columns(const catalog::Table& a, const catalog::Table& b,
                     std::vector<std::string>& out) {
  const auto where = table_name(a);
  if (a.columns.size() != b.columns.size()) {
    out.push_back(fmt::format("table {}: {} columns in the input, {} in the copy", where,
                              a.columns.size(), b.columns.size()));
    return;
  }
  for (std::size_t i = 0; i < a.columns.size(); ++i) {
    const auto& x = a.columns[i];
    const auto& y = b.columns[i];
    const auto column = fmt::format("table {} column {}", where, quote_identifier(x.name));
    if (x.name != y.name) {
      out.push_back(fmt::format("table {}: column {} is named {} in the copy", where,
                                quote_identifier(x.name), quote_identifier(y.name)));
    }
    if (x.type != y.type)
      out.push_back(fmt::format("{}: type {} became {}", column, x.type, y.type));
    if (x.not_null != y.not_null) {
      out.push_back(
          fmt::format("{}: NOT NULL {} in the copy", column, y.not_null ? "added" : "lost"));
    }
    if (x.collation != y.collation) {
      out.push_back(fmt::format("{}: collation {} became {}", column, describe(x.collation),
                                describe(y.collation)));
    }
    if (x.default_expression != y.default_expression) {
      out.push_back(fmt::format("{}: default {} became {}", column, describe(x.default_expression),
                                describe(y.default_expression)));
    }
    if (x.description != y.description) {
      out.push_back(fmt::format("{}: description {} became {}", column, describe(x.description),
                                describe(y.description)));
    }
  }
}

}  // namespace

Verdict compare_catalogs(const catalog::Catalog& source, const catalog::Catalog& copy,
                         int expected_version) {
  Verdict verdict;
  auto& out = verdict.differences;
  if (copy.format_version != expected_version) {
    out.push_back(fmt::format("catalog: format version {} where {} was expected",
                              copy.format_version, expected_version));
  }
  if (source.schemas != copy.schemas) {
    out.push_back(fmt::format("catalog: schemas [{}] became [{}]", fmt::join(source.schemas, ", "),
                              fmt::join(copy.schemas, ", ")));
  }
  std::map<std::pair<std::string, std::string>, const catalog::Table*> copies;
  for (const auto& table : copy.tables) copies[{table.schema, table.name}] = &table;
  for (const auto& table : source.tables) {
    const auto found = copies.find({table.schema, table.name});
    if (found == copies.end()) {
      out.push_back(fmt::format("table {}: missing from the copy", table_name(table)));
      continue;
    }
    const auto& other = *found->second;
    compare_columns(table, other, out);
    if (table.primary_key != other.primary_key) {
      out.push_back(fmt::format("table {}: assumed primary key ({}) became ({})", table_name(table),
                                fmt::join(table.primary_key, ", "),
                                fmt::join(other.primary_key, ", ")));
    }
    if (table.unique != other.unique) {
      out.push_back(fmt::format("table {}: {} assumed unique constraints became {} different ones",
                                table_name(table), table.unique.size(), other.unique.size()));
    }
    if (table.foreign_keys != other.foreign_keys) {
      out.push_back(fmt::format("table {}: {} assumed foreign keys became {} different ones",
                                table_name(table), table.foreign_keys.size(),
                                other.foreign_keys.size()));
    }
    copies.erase(found);
  }
  for (const auto& [name, table] : copies) {
    out.push_back(fmt::format("table {}: in the copy but not in the input", table_name(*table)));
  }
  if (out.empty()) {
    std::vector<std::string> a;
    std::vector<std::string> b;
    for (const auto& table : source.tables) a.push_back(table_name(table));
    for (const auto& table : copy.tables) b.push_back(table_name(table));
    if (a != b) out.push_back("catalog: the tables are in another order");
  }
  return verdict;
}

namespace {

// RowCheck::counts: each database's tables counted many to a statement
// (catalog::count_rows).
Verdict compare_counts(sql::Connection& connection, const catalog::Catalog& source,
                       const std::string& source_alias, const std::string& copy_alias,
                       std::size_t max_differences, const std::vector<long long>& source_rows) {
  const auto& tables = source.tables;
  const auto source_counts = source_rows.size() == tables.size()
                                 ? source_rows
                                 : catalog::count_rows(connection, source_alias, tables);
  const auto copy_counts = catalog::count_rows(connection, copy_alias, tables);
  Verdict verdict;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (verdict.differences.size() >= max_differences) break;
    if (source_counts[i] != copy_counts[i]) {
      verdict.differences.push_back(fmt::format("table {}: {} rows in the input, {} in the copy",
                                                table_name(tables[i]), source_counts[i],
                                                copy_counts[i]));
    }
  }
  return verdict;
}

}  // namespace

Verdict compare_rows(sql::Connection& connection, const catalog::Catalog& source,
                     const std::string& source_alias, const std::string& copy_alias, RowCheck check,
                     std::size_t max_differences, const std::vector<long long>& source_rows) {
  if (check == RowCheck::counts) {
    return compare_counts(connection, source, source_alias, copy_alias, max_differences,
                          source_rows);
  }
  Verdict verdict;
  for (std::size_t i = 0; i < source.tables.size(); ++i) {
    const auto& table = source.tables[i];
    if (verdict.differences.size() >= max_differences) break;
    const auto a = quote_qualified({source_alias, table.schema, table.name});
    const auto b = quote_qualified({copy_alias, table.schema, table.name});
    const auto result = connection.exec(fmt::format(
        "SELECT (SELECT COUNT(*) FROM {a}), (SELECT COUNT(*) FROM {b}), (SELECT COUNT(*) FROM "
        "(SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}) AS d)",
        fmt::arg("a", a), fmt::arg("b", b), fmt::arg("cols", catalog::column_list(table))));
    const long long source_count = result.integer(0, 0);
    const long long copy_count = result.integer(0, 1);
    const long long missing = result.integer(0, 2);
    if (source_count != copy_count || missing != 0) {
      verdict.differences.push_back(
          fmt::format("table {}: {} rows in the input, {} in the copy, {} rows of the input not "
                      "found in the copy",
                      table_name(table), source_count, copy_count, missing));
    }
  }
  return verdict;
}

void verify_copy(sql::Connection& connection, const catalog::Catalog& source,
                 const std::string& source_alias, const std::filesystem::path& input,
                 const std::filesystem::path& copy, int expected_version, RowCheck check,
                 const std::vector<long long>& source_rows) {
  constexpr const char* kCopyAlias = "verify_database";
  sql::Attached attached(connection, copy, kCopyAlias, sql::AttachMode::read_only);
  const auto copied = catalog::read_catalog(connection, kCopyAlias, copy.string());
  Verdict verdict = compare_catalogs(source, copied, expected_version);
  if (verdict.equal()) {
    verdict = compare_rows(connection, source, source_alias, kCopyAlias, check, 20, source_rows);
  }
  attached.detach();
  if (!verdict.equal()) {
    throw Error(
        ExitCode::verify_failed, input,
        fmt::format("the copy does not match the input: {}{}; the copy was discarded",
                    verdict.differences.front(),
                    verdict.differences.size() > 1
                        ? fmt::format(" (and {} more differences)", verdict.differences.size() - 1)
                        : ""));
  }
}

}  // namespace hyperdefrag::verify
