#include "defrag/sort_order.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "sql/quote.h"

namespace hyperdefrag {
namespace {

constexpr int kSampleRows = 100'000;

bool sortable(const std::string& type) {
  for (const char* prefix : {"text", "character", "boolean", "smallint", "integer", "bigint",
                             "date", "timestamp", "numeric", "double precision", "real"}) {
    if (type.rfind(prefix, 0) == 0) return true;
  }
  return false;  // geography, JSON, bytes, interval, time, oid: not worth it or not orderable
}

}  // namespace

std::vector<std::string> choose_sort_columns(sql::Connection& connection, const std::string& alias,
                                             const catalog::Table& table) {
  std::vector<const catalog::Column*> candidates;
  std::string counts;
  for (const auto& column : table.columns) {
    if (!sortable(column.type)) continue;
    candidates.push_back(&column);
    counts += fmt::format(", COUNT(DISTINCT {})", sql::quote_identifier(column.name));
  }
  if (candidates.empty()) return {};
  const auto result = connection.exec(
      fmt::format("SELECT COUNT(*){} FROM (SELECT * FROM {} LIMIT {}) AS sample", counts,
                  sql::quote_qualified({alias, table.schema, table.name}), kSampleRows));
  const long long rows = result.integer(0, 0);
  std::vector<std::pair<long long, std::string>> repeating;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const long long distinct = result.integer(0, static_cast<int>(i + 1));
    if (rows > 0 && distinct * 2 <= rows) repeating.emplace_back(distinct, candidates[i]->name);
  }
  std::stable_sort(repeating.begin(), repeating.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (const auto& [distinct, name] : repeating) names.push_back(name);
  return names;
}

std::vector<std::string> listed_sort_columns(const std::string& wanted,
                                             const catalog::Table& table) {
  std::vector<std::string> names;
  std::stringstream list(wanted);
  for (std::string name; std::getline(list, name, ',');) {
    const bool present = std::any_of(table.columns.begin(), table.columns.end(),
                                     [&](const auto& column) { return column.name == name; });
    if (present) names.push_back(name);
  }
  return names;
}

}  // namespace hyperdefrag
