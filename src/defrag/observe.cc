#include "defrag/observe.h"

#include <fmt/format.h>

#include <cmath>

#include "sql/quote.h"

namespace hyperdefrag::defrag_observe {

long long row_versions(sql::Connection& connection, const std::string& alias) {
  const auto quoted = sql::quote_identifier(alias);
  const auto result = connection.exec(fmt::format(
      "SELECT COALESCE(SUM(c.reltuples), 0) FROM {0}.pg_catalog.pg_class c "
      "JOIN {0}.pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tableau') "
      "AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast%'",
      quoted));
  return static_cast<long long>(std::llround(result.real(0, 0)));
}

}  // namespace hyperdefrag::defrag_observe
