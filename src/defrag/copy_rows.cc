#include "defrag/copy_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "sql/attach.h"
#include "sql/quote.h"

namespace hyperdefrag {
namespace {

using Clock = std::chrono::steady_clock;

TableResult copy_one(sql::Connection& connection, const CopyTarget& target,
                     const catalog::Table& table, std::size_t index) {
  const auto started = Clock::now();
  const auto inserted = connection.exec(copy_table_sql(target, table,
                                                       index < target.sort_columns.size()
                                                           ? target.sort_columns[index]
                                                           : std::vector<std::string>{}));
  return {table.schema, table.name, inserted.affected_rows(),
          std::chrono::duration<double>(Clock::now() - started).count()};
}

}  // namespace

std::string copy_table_sql(const CopyTarget& target, const catalog::Table& table,
                           const std::vector<std::string>& sort_columns) {
  const std::string columns = catalog::column_list(table);
  std::string order;
  for (const auto& name : sort_columns) {
    order += order.empty() ? " ORDER BY " : ", ";
    order += sql::quote_identifier(name);
  }
  // A table without columns still holds rows: INSERT INTO t SELECT FROM s.
  return fmt::format("INSERT INTO {}{} SELECT {} FROM {}{}",
                     sql::quote_qualified({target.output_alias, table.schema, table.name}),
                     columns.empty() ? std::string() : " (" + columns + ")", columns,
                     sql::quote_qualified({target.input_alias, table.schema, table.name}), order);
}

std::vector<TableResult> copy_rows(sql::Connection& main, const sql::Endpoint& endpoint,
                                   const catalog::Catalog& source, const CopyTarget& target,
                                   int jobs, const DefragHooks& hooks, long long row_versions) {
  const auto& tables = source.tables;
  std::vector<TableResult> results(tables.size());
  std::mutex mutex;  // serialises the hooks (and guards first_error below)
  const auto copy = [&](sql::Connection& connection, std::size_t i) {
    if (hooks.on_table_start) {
      const long long rows = catalog::count_rows(connection, target.input_alias, tables[i]);
      std::lock_guard lock(mutex);
      hooks.on_table_start({tables[i].schema, tables[i].name, i, tables.size(), rows, row_versions,
                            target.output_path});
    }
    results[i] = copy_one(connection, target, tables[i], i);
    std::lock_guard lock(mutex);
    if (hooks.on_table) hooks.on_table(results[i]);
  };
  if (jobs <= 0) jobs = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  const int workers = std::max(1, std::min<int>(jobs, static_cast<int>(tables.size())));
  if (workers == 1) {
    for (std::size_t i = 0; i < tables.size(); ++i) copy(main, i);
    return results;
  }

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  const auto work = [&] {
    try {
      sql::Connection connection(endpoint);
      if (hooks.on_statement) {
        connection.set_observer([&](std::string_view statement, double seconds) {
          std::lock_guard lock(mutex);
          hooks.on_statement(statement, seconds);
        });
      }
      sql::Attached input(connection, target.input_path, target.input_alias,
                          sql::AttachMode::read_only);
      sql::Attached output(connection, target.output_path, target.output_alias,
                           sql::AttachMode::read_write);
      for (std::size_t i = next++; i < tables.size() && !failed; i = next++) copy(connection, i);
      output.detach();
      input.detach();
    } catch (...) {
      failed = true;
      std::lock_guard lock(mutex);
      if (!first_error) first_error = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& thread : threads) thread.join();
  if (first_error) std::rethrow_exception(first_error);
  return results;
}

}  // namespace hyperdefrag
