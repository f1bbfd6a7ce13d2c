#include "defrag/copy_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

#include "sql/attach.h"
#include "sql/quote.h"
#include "util/error.h"

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

// What the creating connection and the copying ones share: how many tables
// exist in the output so far, and the first failure. Every member is guarded
// by `mutex`, which also serialises the hooks.
class Pipeline {
 public:
  // Table `index` exists now (and every one before it).
  void created(std::size_t index) {
    {
      std::lock_guard lock(mutex);
      created_ = index + 1;
    }
    changed_.notify_all();
  }
  // Waits until table `index` exists; false if the run failed meanwhile.
  bool wait_for(std::size_t index) {
    std::unique_lock lock(mutex);
    changed_.wait(lock, [&] { return first_error_ || created_ > index; });
    return !first_error_;
  }
  bool failed() {
    std::lock_guard lock(mutex);
    return first_error_ != nullptr;
  }
  // Records the exception being handled, unless an earlier one was, and wakes
  // every waiting connection so that it stops.
  void fail() {
    {
      std::lock_guard lock(mutex);
      if (!first_error_) first_error_ = std::current_exception();
    }
    changed_.notify_all();
  }
  void rethrow_first_error() {
    std::lock_guard lock(mutex);
    if (first_error_) std::rethrow_exception(first_error_);
  }

  std::mutex mutex;

 private:
  std::condition_variable changed_;
  std::size_t created_ = 0;
  std::exception_ptr first_error_;
};

// The input's row counts, catalog::kTablesPerCount tables to a statement,
// each group counted once, by the first connection that needs one of its
// tables; the others that need one wait for that count.
class InputCounts {
 public:
  InputCounts(const std::vector<catalog::Table>& tables, std::string alias)
      : tables_(tables),
        alias_(std::move(alias)),
        counts_(tables.size()),
        counted_((tables.size() + catalog::kTablesPerCount - 1) / catalog::kTablesPerCount) {}

  long long of(sql::Connection& connection, std::size_t table) {
    const std::size_t group = table / catalog::kTablesPerCount;
    std::call_once(counted_[group], [&] {
      const std::size_t first = group * catalog::kTablesPerCount;
      const auto counts = catalog::count_rows(
          connection, alias_,
          std::span(tables_).subspan(first,
                                     std::min(catalog::kTablesPerCount, tables_.size() - first)));
      std::copy(counts.begin(), counts.end(), counts_.begin() + static_cast<std::ptrdiff_t>(first));
    });
    return counts_[table];
  }

 private:
  const std::vector<catalog::Table>& tables_;
  const std::string alias_;
  std::vector<long long> counts_;      // written once per group, inside its call_once
  std::vector<std::once_flag> counted_;  // one per group
};

}  // namespace

std::string copy_table_sql(const CopyTarget& target, const catalog::Table& table,
                           const std::vector<std::string>& sort_columns) {
  const std::string columns = catalog::column_list(table);
  std::string order;
  for (const auto& name : sort_columns) {
    order += order.empty() ? " ORDER BY " : ", ";
    order += sql::quote_identifier(name);
  }
  return fmt::format("{} SELECT {} FROM {}{}", catalog::insert_into(target.output_alias, table),
                     columns, sql::quote_qualified({target.input_alias, table.schema, table.name}),
                     order);
}

std::vector<TableResult> create_and_copy_tables(sql::Connection& main,
                                                const sql::Endpoint& endpoint,
                                                const catalog::Catalog& source,
                                                const CopyTarget& target, int jobs,
                                                const DefragHooks& hooks, long long row_versions) {
  const auto& tables = source.tables;
  std::vector<TableResult> results(tables.size());
  Pipeline pipeline;

  // Each table's rows are counted in the input first (for on_table_start and
  // for step 8, which then counts only the copy); the INSERT must report as
  // many.
  InputCounts input_rows(tables, target.input_alias);
  const auto copy = [&](sql::Connection& connection, std::size_t i) {
    const long long rows = input_rows.of(connection, i);
    if (hooks.on_table_start) {
      std::lock_guard lock(pipeline.mutex);
      hooks.on_table_start({tables[i].schema, tables[i].name, i, tables.size(), rows, row_versions,
                            target.output_path});
    }
    results[i] = copy_one(connection, target, tables[i], i);
    if (results[i].rows != rows) {
      throw Error(ExitCode::verify_failed, target.input_path,
                  fmt::format("the copy does not match the input: table {}: {} rows in the "
                              "input, {} copied; the copy was discarded",
                              sql::quote_qualified({tables[i].schema, tables[i].name}), rows,
                              results[i].rows));
    }
    std::lock_guard lock(pipeline.mutex);
    if (hooks.on_table) hooks.on_table(results[i]);
  };
  std::atomic<std::size_t> next{0};
  // Every connection's statements reach on_statement one at a time.
  const auto observe = [&](sql::Connection& connection) {
    if (!hooks.on_statement) return;
    connection.set_observer([&](std::string_view statement, double seconds) {
      std::lock_guard lock(pipeline.mutex);
      hooks.on_statement(statement, seconds);
    });
  };
  const auto work = [&] {
    try {
      sql::Connection connection(endpoint);
      observe(connection);
      sql::Attached input(connection, target.input_path, target.input_alias,
                          sql::AttachMode::read_only);
      sql::Attached output(connection, target.output_path, target.output_alias,
                           sql::AttachMode::read_write);
      for (std::size_t i = next++; i < tables.size() && pipeline.wait_for(i); i = next++) {
        copy(connection, i);
      }
      output.detach();
      input.detach();
    } catch (...) {
      pipeline.fail();
    }
  };

  if (jobs <= 0) jobs = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(jobs), tables.size());
  std::vector<std::thread> threads;
  threads.reserve(workers);
  observe(main);
  try {
    for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(work);
    for (std::size_t i = 0; i < tables.size() && !pipeline.failed(); ++i) {
      main.exec(catalog::create_table_sql(target.output_alias, tables[i]));
      for (const auto& statement : catalog::describe_columns_sql(target.output_alias, tables[i])) {
        main.exec(statement);
      }
      pipeline.created(i);
    }
  } catch (...) {
    pipeline.fail();
  }
  for (auto& thread : threads) thread.join();
  main.set_observer(hooks.on_statement);
  pipeline.rethrow_first_error();
  return results;
}

}  // namespace hyperdefrag
