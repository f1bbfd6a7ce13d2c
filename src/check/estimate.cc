#include "check/estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "defrag/copy_rows.h"
#include "sql/attach.h"
#include "sql/quote.h"
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

// Removes a detached scratch file (the engine no longer has it open).
void remove_scratch(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

// Part 1: a Bernoulli sample of about `wanted` rows (the same rows for the
// same file: REPEATABLE). Part 2: two runs of wanted/2 neighbouring rows, in
// the order one scan numbers them, from a quarter and three quarters into the
// table. Returns the rows copied into the scratch table.
long long copy_sample(sql::Connection& connection, const std::string& alias,
                      const catalog::Table& table, long long rows, long long wanted, int part) {
  const auto columns = catalog::column_list(table);
  const auto target = sql::quote_qualified({kScratchAlias, table.schema, table.name});
  const auto source = sql::quote_qualified({alias, table.schema, table.name});
  if (part == 0) {
    return connection
        .exec(fmt::format(
            "INSERT INTO {} ({}) SELECT {} FROM {} TABLESAMPLE BERNOULLI ({}) REPEATABLE (1)",
            target, columns, columns, source, sample_percent(rows, wanted)))
        .affected_rows();
  }
  const long long run = wanted / 2;
  const long long first = rows / 4 - run / 2;
  const long long second = 3 * rows / 4 - run / 2;
  return connection
      .exec(fmt::format(
          "INSERT INTO {0} ({1}) SELECT {1} FROM (SELECT {1}, ROW_NUMBER() OVER () AS "
          "\"check_row\" FROM {2}) AS numbered WHERE \"check_row\" BETWEEN {3} AND {4} OR "
          "\"check_row\" BETWEEN {5} AND {6}",
          target, columns, source, first + 1, first + run, second + 1, second + run))
      .affected_rows();
}

}  // namespace

std::string sample_percent(long long rows, long long wanted) {
  if (rows <= 0 || wanted >= rows) return "100";
  return fmt::format("{:.6f}", 100.0 * static_cast<double>(wanted) / static_cast<double>(rows));
}

Sized blend_sample(long long rows, const SamplePart& bernoulli, const SamplePart& runs) {
  const auto scaled = [&](const SamplePart& part) {
    return static_cast<double>(part.bytes) * static_cast<double>(rows) /
           static_cast<double>(part.rows);
  };
  const auto step = [&](const SamplePart& part) {
    return static_cast<double>(kFileGranularity) * static_cast<double>(rows) /
           static_cast<double>(part.rows);
  };
  if (bernoulli.rows <= 0 && runs.rows <= 0) return {};
  if (bernoulli.rows <= 0) return {scaled(runs), step(runs)};
  if (runs.rows <= 0) return {scaled(bernoulli), step(bernoulli)};
  const double a = scaled(bernoulli);
  const double b = scaled(runs);
  return {(a + b) / 2, std::abs(a - b) / 2 + std::max(step(bernoulli), step(runs))};
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

FileEstimate estimate_compacted(sql::Connection& connection, const std::string& alias,
                                const catalog::Catalog& catalog, const std::vector<long long>& rows,
                                const std::vector<long long>& row_versions, int version,
                                const fs::path& scratch_dir) {
  const auto started = std::chrono::steady_clock::now();
  FileEstimate result;
  result.version = version;
  const auto& tables = catalog.tables;

  // Step 1: every schema and table, and the rows of the small tables.
  const auto exact_path = scratch_dir / fmt::format("exact-v{}.hyper", version);
  std::vector<const catalog::Table*> all;
  for (const auto& table : tables) all.push_back(&table);
  create_scratch(connection, exact_path, version, catalog.schemas, all);
  auto exact = attach(connection, exact_path);
  CopyTarget target{alias, "", kScratchAlias, exact_path.string(), {}};
  for (std::size_t i = 0; i < tables.size(); ++i) {
    TableEstimate table;
    table.rows = rows[i];
    table.live_share =
        row_versions[i] > 0
            ? std::min(1.0, static_cast<double>(rows[i]) / static_cast<double>(row_versions[i]))
            : 1.0;
    table.sampled = rows[i] > kFullCopyRows;
    if (!table.sampled && rows[i] > 0) connection.exec(copy_table_sql(target, tables[i], {}));
    result.tables.push_back(table);
  }
  exact.detach();
  result.exact_bytes = hyperdefrag::file_size(exact_path);
  remove_scratch(exact_path);

  // Step 2: the large tables, each in kSampleParts scratch databases of its own.
  std::vector<Sized> sampled;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    auto& table = result.tables[i];
    if (!table.sampled) continue;
    std::vector<SamplePart> parts;
    for (int part = 0; part < kSampleParts; ++part) {
      const auto path = scratch_dir / fmt::format("sample-v{}-{}-{}.hyper", version, i, part);
      create_scratch(connection, path, version, {tables[i].schema}, {&tables[i]});
      const auto empty = hyperdefrag::file_size(path);
      auto scratch = attach(connection, path);
      const long long copied =
          copy_sample(connection, alias, tables[i], rows[i], kRowsPerPart, part);
      scratch.detach();
      const auto full = hyperdefrag::file_size(path);
      remove_scratch(path);
      parts.push_back(SamplePart{copied, full > empty ? full - empty : std::uintmax_t{0}});
      table.sampled_rows += copied;
    }
    table.data = blend_sample(table.rows, parts[0], parts[1]);
    sampled.push_back(table.data);
  }
  result.size = combine(result.exact_bytes, sampled);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hyperdefrag::check
