#include "check/estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "defrag/copy_rows.h"
#include "sql/attach.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"

namespace hyperdefrag::check {
namespace fs = std::filesystem;
namespace {

constexpr const char* kScratchAlias = "check_scratch";

// A scratch database, attached as kScratchAlias while the object lives.
sql::Attached attach(sql::Connection& connection, const fs::path& path) {
  return sql::Attached(connection, path, kScratchAlias, sql::AttachMode::read_write);
}

// Creates `path` in `version` with the schemas and tables given (and detaches it).
void create_scratch(sql::Connection& connection, const fs::path& path, int version,
                    const std::vector<std::string>& schemas,
                    const std::vector<const catalog::Table*>& tables) {
  connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}",
                              sql::quote_identifier(path.string()), version));
  auto scratch = attach(connection, path);
  for (const auto& schema : schemas) {
    connection.exec(catalog::create_schema_sql(kScratchAlias, schema));
  }
  for (const auto* table : tables) {
    connection.exec(catalog::create_table_sql(kScratchAlias, *table));
    for (const auto& statement : catalog::describe_columns_sql(kScratchAlias, *table)) {
      connection.exec(statement);
    }
  }
  scratch.detach();
}

// The size of a scratch file just detached. hyperd may write a database once
// more after its DETACH returned (docs/SAFETY.md step 7), so the size is read
// once no process holds the file for writing.
std::uintmax_t detached_size(const fs::path& path) {
  if (!wait_until_no_writer(path, std::chrono::seconds(60))) {
    throw Error(ExitCode::busy, path,
                "the engine still had this scratch database open for writing 60 s after "
                "detaching it");
  }
  return hyperdefrag::file_size(path);
}

// Removes a detached scratch file (the engine no longer has it open).
void remove_scratch(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

enum class Part { bernoulli, ends };

// The SELECT of `part`'s INSERT number `insert` (0 or 1) from a table of
// `rows` live rows: a Bernoulli sample of about kRowsPerInsert rows (the same
// rows for the same file and seed: REPEATABLE), or the first, then the last,
// kRowsPerInsert rows in scan order.
std::string sample_select(const std::string& columns, const std::string& source, long long rows,
                          Part part, int insert) {
  if (part == Part::bernoulli) {
    return fmt::format("SELECT {} FROM {} TABLESAMPLE BERNOULLI ({}) REPEATABLE ({})", columns,
                       source, sample_percent(rows, kRowsPerInsert), insert + 1);
  }
  const long long offset = insert == 0 ? 0 : std::max(0LL, rows - kRowsPerInsert);
  return fmt::format("SELECT {} FROM {} LIMIT {} OFFSET {}", columns, source, kRowsPerInsert,
                     offset);
}

// Makes `path` holding only `table`, fills it with `part`'s two INSERTs (a
// DETACH after each, so that the file's size is final) and removes it.
SamplePart measure_part(sql::Connection& connection, const std::string& alias,
                        const catalog::Table& table, long long rows, int version, Part part,
                        const fs::path& path) {
  create_scratch(connection, path, version, {table.schema}, {&table});
  const auto columns = catalog::column_list(table);
  const auto source = sql::quote_qualified({alias, table.schema, table.name});
  std::uintmax_t size = detached_size(path);
  const auto insert = [&](int number, long long& inserted, std::uintmax_t& grown) {
    auto scratch = attach(connection, path);
    inserted = connection
                   .exec(fmt::format("{} {}", catalog::insert_into(kScratchAlias, table),
                                     sample_select(columns, source, rows, part, number)))
                   .affected_rows();
    scratch.detach();
    const auto after = detached_size(path);
    grown = after > size ? after - size : 0;
    size = after;
  };
  SamplePart measured;
  insert(0, measured.rows, measured.bytes);
  insert(1, measured.more_rows, measured.more_bytes);
  remove_scratch(path);
  return measured;
}

}  // namespace

std::string sample_percent(long long rows, long long wanted) {
  if (rows <= 0 || wanted >= rows) return "100";
  return fmt::format("{:.6f}", 100.0 * static_cast<double>(wanted) / static_cast<double>(rows));
}

double scale_part(long long rows, const SamplePart& part) {
  if (part.rows <= 0) return 0;
  const double bytes = static_cast<double>(part.bytes);
  if (part.more_rows <= 0) {
    return bytes * static_cast<double>(rows) / static_cast<double>(part.rows);
  }
  if (part.more_bytes == 0) {
    // The second INSERT fitted in the space the first one's growth step left:
    // its rows cost something all the same, so both INSERTs are scaled together.
    return bytes * static_cast<double>(rows) / static_cast<double>(part.rows + part.more_rows);
  }
  const double left = static_cast<double>(std::max(0LL, rows - part.rows));
  return bytes + static_cast<double>(part.more_bytes) * left / static_cast<double>(part.more_rows);
}

Sized blend_sample(long long rows, const SamplePart& bernoulli, const SamplePart& ends) {
  // A file grows in steps of kFileGranularity; one step in an INSERT, scaled
  // up to the table like its rows.
  const auto step = [&](const SamplePart& part) {
    const long long per_insert = part.more_rows > 0 ? part.more_rows : part.rows;
    return static_cast<double>(kFileGranularity) * static_cast<double>(rows) /
           static_cast<double>(per_insert);
  };
  if (bernoulli.rows <= 0 && ends.rows <= 0) return {};
  if (bernoulli.rows <= 0) return {scale_part(rows, ends), step(ends)};
  if (ends.rows <= 0) return {scale_part(rows, bernoulli), step(bernoulli)};
  const double a = scale_part(rows, bernoulli);
  const double b = scale_part(rows, ends);
  return {(a + b) / 2, std::abs(a - b) / 2 + std::max(step(bernoulli), step(ends))};
}

Sized combine(std::uintmax_t exact_bytes, const std::vector<Sized>& sampled) {
  Sized total{static_cast<double>(exact_bytes), static_cast<double>(kFileGranularity)};
  for (const auto& part : sampled) {
    total.bytes += part.bytes;
    total.uncertainty += part.uncertainty;
  }
  return total;
}

Sized cap_at_input(Sized estimate, std::uintmax_t input_size) {
  estimate.bytes = std::min(estimate.bytes, static_cast<double>(input_size));
  return estimate;
}

double live_share_size(std::uintmax_t size, long long rows, long long row_versions) {
  if (row_versions <= 0) return static_cast<double>(size);
  return static_cast<double>(size) * static_cast<double>(rows) / static_cast<double>(row_versions);
}

double saving_bytes(std::uintmax_t size, double estimated) {
  return static_cast<double>(size) - estimated;
}

double saving_percent(std::uintmax_t size, double estimated) {
  return size == 0 ? 0.0 : 100.0 * saving_bytes(size, estimated) / static_cast<double>(size);
}

int default_sample_jobs() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1U, 4U));
}

FileEstimate estimate_compacted(const Attachment& input, const catalog::Catalog& catalog,
                                const std::vector<long long>& rows,
                                const std::vector<long long>& row_versions, int version,
                                const fs::path& scratch_dir, int jobs) {
  const auto started = std::chrono::steady_clock::now();
  FileEstimate result;
  result.version = version;
  const auto& tables = catalog.tables;
  const auto& alias = input.alias;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    TableEstimate table;
    table.rows = rows[i];
    table.live_share =
        row_versions[i] > 0
            ? std::min(1.0, static_cast<double>(rows[i]) / static_cast<double>(row_versions[i]))
            : 1.0;
    table.sampled = rows[i] > kFullCopyRows;
    result.tables.push_back(table);
  }

  // Step 2's parts, each measured in a scratch database of its own.
  struct Item {
    std::size_t table;
    Part part;
  };
  std::vector<Item> items;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (!result.tables[i].sampled) continue;
    items.push_back({i, Part::bernoulli});
    items.push_back({i, Part::ends});
  }
  std::vector<SamplePart> measured(items.size());
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  const auto measure_items = [&](sql::Connection& connection) {
    for (std::size_t k = next++; k < items.size(); k = next++) {
      const auto& item = items[k];
      const auto path =
          scratch_dir / fmt::format("sample-v{}-{}-{}.hyper", version, item.table,
                                    item.part == Part::bernoulli ? "bernoulli" : "ends");
      measured[k] = measure_part(connection, alias, tables[item.table], rows[item.table], version,
                                 item.part, path);
    }
  };
  // The first failure is kept; every session then stops at its next part.
  const auto guarded = [&](const std::function<void()>& body) {
    try {
      body();
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = items.size();
    }
  };
  std::vector<std::thread> helpers;
  const auto helper_count =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1) - 1), items.size());
  for (std::size_t h = 0; h < helper_count; ++h) {
    helpers.emplace_back([&] {
      guarded([&] {
        sql::Connection own(input.endpoint);
        sql::Attached attached = sql::attach_input(own, input.path, alias);
        measure_items(own);
        attached.detach();
      });
    });
  }

  // Step 1, on the input's own session while the helpers sample: every
  // schema and table, and the rows of the small tables. Then that session
  // takes parts too.
  guarded([&] {
    auto& connection = input.connection;
    const auto exact_path = scratch_dir / fmt::format("exact-v{}.hyper", version);
    std::vector<const catalog::Table*> all;
    for (const auto& table : tables) all.push_back(&table);
    create_scratch(connection, exact_path, version, catalog.schemas, all);
    auto exact = attach(connection, exact_path);
    CopyTarget target{alias, "", kScratchAlias, exact_path.string(), {}};
    for (std::size_t i = 0; i < tables.size(); ++i) {
      if (!result.tables[i].sampled && rows[i] > 0) {
        connection.exec(copy_table_sql(target, tables[i], {}));
      }
    }
    exact.detach();
    result.exact_bytes = detached_size(exact_path);
    remove_scratch(exact_path);
    measure_items(connection);
  });
  for (auto& helper : helpers) helper.join();
  if (failure) std::rethrow_exception(failure);

  std::vector<Sized> sampled;
  for (std::size_t k = 0; k < items.size(); k += 2) {
    auto& table = result.tables[items[k].table];
    const auto& bernoulli = measured[k];
    const auto& ends = measured[k + 1];
    for (const auto* part : {&bernoulli, &ends}) table.sampled_rows += part->rows + part->more_rows;
    table.bernoulli_bytes = scale_part(table.rows, bernoulli);
    table.ends_bytes = scale_part(table.rows, ends);
    table.data = blend_sample(table.rows, bernoulli, ends);
    sampled.push_back(table.data);
  }
  result.size = combine(result.exact_bytes, sampled);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hyperdefrag::check
