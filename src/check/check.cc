#include "check/check.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <numeric>
#include <optional>
#include <utility>

#include "check/tableau_releases.h"
#include "sql/attach.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hyper_file.h"
#include "util/private_dir.h"
#include "util/text.h"

namespace hyperdefrag::check {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAlias = "checked";
constexpr const char* kValuesAlias = "check_values";

// An expression that makes the engine decode a column's every value as a
// query reading it would: its text form (geography values are checked
// against their checksum only when decoded).
std::string decode(const std::string& column) {
  return fmt::format("CAST({} AS TEXT)", sql::quote_identifier(column));
}

// Whether every value of `columns` in `source` (rows filtered by `where`) decodes;
// the engine's message when not.
std::optional<std::string> decode_failure(sql::Connection& connection, const std::string& source,
                                          const std::vector<std::string>& columns,
                                          const std::string& where) {
  std::string select;
  for (const auto& column : columns) {
    if (!select.empty()) select += ", ";
    select += fmt::format("SUM(LENGTH({}))", decode(column));
  }
  try {
    connection.exec(fmt::format("SELECT {} FROM {}{}", select, source, where));
  } catch (const sql::SqlError& error) {
    if (error.connection_lost()) throw;
    return error.engine_message();
  }
  return std::nullopt;
}

// Counts the rows of `column` in the numbered scratch copy whose values do
// not decode, by halving row ranges that fail; stops at kMaxCountedUnreadable.
void count_unreadable(sql::Connection& connection, const std::string& numbered,
                      const std::string& column, long long first, long long last,
                      long long& count) {
  if (count >= kMaxCountedUnreadable || first > last) return;
  const auto failure =
      decode_failure(connection, numbered, {column},
                     fmt::format(" WHERE \"check_row\" BETWEEN {} AND {}", first, last));
  if (!failure) return;
  if (first == last) {
    ++count;
    return;
  }
  const long long middle = first + (last - first) / 2;
  count_unreadable(connection, numbered, column, first, middle, count);
  count_unreadable(connection, numbered, column, middle + 1, last, count);
}

// --deep: decodes every value of every column, a table at a time; a table
// that fails is searched column by column, and each failing column's values
// are counted in a numbered copy (copying does not decode them).
std::vector<Unreadable> find_unreadable(sql::Connection& connection,
                                        const std::vector<TableCheck>& tables,
                                        const fs::path& scratch_dir) {
  std::vector<Unreadable> found;
  for (const auto& checked : tables) {
    const auto& table = checked.table;
    if (table.columns.empty() || checked.rows == 0) continue;
    const auto source = sql::quote_qualified({kAlias, table.schema, table.name});
    std::vector<std::string> names;
    for (const auto& column : table.columns) names.push_back(column.name);
    if (!decode_failure(connection, source, names, "")) continue;
    for (const auto& name : names) {
      const auto message = decode_failure(connection, source, {name}, "");
      if (!message) continue;
      Unreadable bad{table.schema, table.name, name, 0, false, *message};
      const auto copy = scratch_dir / "values.hyper";
      connection.exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(copy.string())));
      sql::Attached values(connection, copy, kValuesAlias, sql::AttachMode::read_write);
      const auto numbered = sql::quote_qualified({kValuesAlias, "public", "numbered"});
      const auto& column = *std::find_if(table.columns.begin(), table.columns.end(),
                                         [&](const auto& c) { return c.name == name; });
      connection.exec(fmt::format("CREATE TABLE {} (\"check_row\" BIGINT NOT NULL, {} {})",
                                  numbered, sql::quote_identifier(name), column.type));
      connection.exec(fmt::format("INSERT INTO {} SELECT ROW_NUMBER() OVER (), {} FROM {}",
                                  numbered, sql::quote_identifier(name), source));
      const long long rows =
          connection.exec(fmt::format("SELECT COUNT(*) FROM {}", numbered)).integer(0, 0);
      count_unreadable(connection, numbered, name, 1, rows, bad.count);
      bad.at_least = bad.count >= kMaxCountedUnreadable;
      values.detach();
      std::error_code ignored;
      fs::remove(copy, ignored);
      found.push_back(std::move(bad));
    }
  }
  return found;
}

std::string percent(double value) { return fmt::format("{:.1f}%", value); }

std::string signed_size(double bytes) {
  const auto magnitude = static_cast<std::uintmax_t>(std::llround(std::abs(bytes)));
  return fmt::format("{}{} bytes ({})", bytes < 0 ? "-" : "", with_commas(magnitude),
                     human_size(magnitude));
}

std::string estimate_line(const FileCheck& check, const FileEstimate& estimate,
                          const std::string& label) {
  const double size = estimate.size.bytes;
  const double margin = estimate.size.uncertainty;
  return fmt::format("  {}: {} bytes ({}) +/- {}, saving {} ({}), method sample", label,
                     with_commas(static_cast<std::uintmax_t>(std::llround(size))),
                     human_size(static_cast<std::uintmax_t>(std::llround(size))),
                     human_size(static_cast<std::uintmax_t>(std::llround(margin))),
                     signed_size(saving_bytes(check.size, size)),
                     percent(saving_percent(check.size, size)));
}

nlohmann::ordered_json estimate_json(const FileCheck& check, const FileEstimate& estimate) {
  std::size_t sampled = 0;
  for (const auto& table : estimate.tables) sampled += table.sampled ? 1 : 0;
  return {{"format_version", estimate.version},
          {"method", "sample"},
          {"size", std::llround(estimate.size.bytes)},
          {"uncertainty", std::llround(estimate.size.uncertainty)},
          {"saving", std::llround(saving_bytes(check.size, estimate.size.bytes))},
          {"saving_percent", saving_percent(check.size, estimate.size.bytes)},
          {"tables_copied_whole", estimate.tables.size() - sampled},
          {"tables_sampled", sampled},
          {"seconds", estimate.seconds},
          {"opened_by", releases_json(estimate.version)}};
}

}  // namespace

nlohmann::ordered_json releases_json(int version) {
  auto releases = nlohmann::ordered_json::array();
  for (const auto& release : oldest_releases_opening(version)) {
    releases.push_back(release_name(release));
  }
  return {{"description", describe_releases_opening(version)},
          {"oldest_releases", std::move(releases)}};
}

namespace {

// One field of every table, and its sum (FileCheck and Counted hold the same tables).
std::vector<long long> each(const std::vector<TableCheck>& tables, long long TableCheck::*field) {
  std::vector<long long> values;
  for (const auto& table : tables) values.push_back(table.*field);
  return values;
}

long long sum(const std::vector<TableCheck>& tables, long long TableCheck::*field) {
  const auto values = each(tables, field);
  return std::accumulate(values.begin(), values.end(), 0LL);
}

}  // namespace

long long FileCheck::rows() const { return sum(tables, &TableCheck::rows); }
long long FileCheck::row_versions() const { return sum(tables, &TableCheck::row_versions); }
long long Counted::rows() const { return sum(tables, &TableCheck::rows); }
long long Counted::row_versions() const { return sum(tables, &TableCheck::row_versions); }
std::vector<long long> Counted::rows_by_table() const { return each(tables, &TableCheck::rows); }
std::vector<long long> Counted::row_versions_by_table() const {
  return each(tables, &TableCheck::row_versions);
}

Counted count_tables(sql::Connection& connection, const std::string& alias, const fs::path& file) {
  Counted counted;
  counted.catalog = catalog::read_catalog(connection, alias, file.string());
  const auto versions = catalog::row_versions_by_table(connection, alias);
  const auto rows = catalog::count_rows(connection, alias, counted.catalog.tables);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& table = counted.catalog.tables[i];
    TableCheck checked{table, rows[i], 0};
    if (const auto it = versions.find({table.schema, table.name}); it != versions.end()) {
      checked.row_versions = it->second;
    }
    counted.tables.push_back(std::move(checked));
  }
  return counted;
}

Error refusal(const sql::SqlError& error, const fs::path& file, engine::HyperProcess& engine) {
  const auto full = [&](const std::string& cause) {
    return Error(ExitCode::no_space, file,
                 fmt::format("the disk under check's scratch databases ({}) is full: {}; set "
                             "TMPDIR to a file system with more room",
                             temp_base().string(), cause));
  };
  if (error.connection_lost()) {
    if (auto cause = engine::stopped_by_full_disk(engine, temp_base())) return full(*cause);
    return Error(
        ExitCode::engine, file,
        fmt::format("hyperd stopped or its connection broke while checking it ({})", error.what()));
  }
  if (error.disk_full()) return full(error.engine_message());
  if (error.sqlstate() == "53S02") {
    return Error(
        ExitCode::copy_failed, file,
        fmt::format("the engine ran out of memory while checking it ({})", error.engine_message()));
  }
  if (error.sqlstate() == "XXS01") {
    // "DataBlock is physically corrupted", as defrag reports it.
    return Error(
        ExitCode::bad_input, file,
        fmt::format("is damaged: the engine cannot read all of it ({})", error.engine_message()));
  }
  return Error(ExitCode::copy_failed, file,
               fmt::format("the engine refused a statement while checking it: {} (statement: {})",
                           error.what(), error.statement()));
}

FileCheck check_file(engine::HyperProcess& engine, const fs::path& path,
                     const CheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  FileCheck check;
  check.path = fs::absolute(path).lexically_normal();
  check_hyper_file(check.path);
  check.size = hyperdefrag::file_size(check.path);
  // Made before the statements run, so that it still holds the scratch
  // databases when a failure is explained (refusal).
  std::optional<PrivateDir> scratch;
  try {
    sql::Connection connection(engine.endpoint());
    sql::Attached attached = sql::attach_input(connection, check.path, kAlias);
    auto counted = count_tables(connection, kAlias, check.path);
    const auto rows = counted.rows_by_table();
    const auto row_versions = counted.row_versions_by_table();
    check.catalog = std::move(counted.catalog);
    check.tables = std::move(counted.tables);
    scratch.emplace(temp_base(), "hyperdefrag-check-");
    const Attachment input{connection, engine.endpoint(), check.path, kAlias};
    check.estimate = estimate_compacted(input, check.catalog, rows, row_versions,
                                        check.catalog.format_version, scratch->path());
    check.estimate.size = cap_at_input(check.estimate.size, check.size);
    if (check.catalog.format_version == 0) {
      check.as_version_2 =
          estimate_compacted(input, check.catalog, rows, row_versions, 2, scratch->path());
    }
    if (check.as_version_2) {
      check.as_version_2->size = cap_at_input(check.as_version_2->size, check.size);
    }
    if (options.deep) {
      check.deep = true;
      check.unreadable = find_unreadable(connection, check.tables, scratch->path());
    }
    attached.detach();
  } catch (const sql::SqlError& error) {
    throw refusal(error, check.path, engine);
  }
  check.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return check;
}

std::vector<std::string> human_lines(const FileCheck& check, bool verbose) {
  std::vector<std::string> lines;
  const std::string name = check.entry.empty()
                               ? check.path.string()
                               : fmt::format("{} [{}]", check.path.string(), check.entry);
  const int version = check.catalog.format_version;
  lines.push_back(
      fmt::format("{}: {} bytes ({})", name, with_commas(check.size), human_size(check.size)));
  lines.push_back(fmt::format("  format version {}, opened by {}", version,
                              describe_releases_opening(version)));
  const long long rows = check.rows();
  const long long versions = check.row_versions();
  lines.push_back(fmt::format(
      "  {}, {}, {} of {} stored ({} live)",
      count_of(check.catalog.schemas.size(), "schema", "schemas"),
      count_of(check.tables.size(), "table", "tables"),
      count_of(static_cast<std::uintmax_t>(rows), "live row", "live rows"),
      count_of(static_cast<std::uintmax_t>(versions), "row version", "row versions"),
      percent(versions > 0 ? 100.0 * static_cast<double>(rows) / static_cast<double>(versions)
                           : 100.0)));
  lines.push_back(estimate_line(check, check.estimate, "compacted"));
  if (check.as_version_2) {
    lines.push_back(estimate_line(check, *check.as_version_2, "compacted as version 2"));
    lines.push_back(fmt::format(
        "  (version 0 cannot compress blocks with deleted rows; version 2 is opened by {}; "
        "write it with --target-version 2)",
        describe_releases_opening(2)));
  }
  if (verbose) {
    for (std::size_t i = 0; i < check.tables.size(); ++i) {
      const auto& table = check.tables[i];
      const auto& estimate = check.estimate.tables[i];
      const std::string how =
          estimate.sampled
              ? fmt::format(
                    "sampled {} rows, data about {} +/- {} (Bernoulli samples: {}; first and "
                    "last rows: {})",
                    with_commas(static_cast<std::uintmax_t>(estimate.sampled_rows)),
                    human_size(static_cast<std::uintmax_t>(std::llround(estimate.data.bytes))),
                    human_size(
                        static_cast<std::uintmax_t>(std::llround(estimate.data.uncertainty))),
                    human_size(static_cast<std::uintmax_t>(std::llround(estimate.bernoulli_bytes))),
                    human_size(static_cast<std::uintmax_t>(std::llround(estimate.ends_bytes))))
              : "copied whole into the scratch database";
      lines.push_back(fmt::format(
          "    table {}: {} of {} ({} live), {}",
          sql::quote_qualified({table.table.schema, table.table.name}),
          count_of(static_cast<std::uintmax_t>(table.rows), "live row", "live rows"),
          count_of(static_cast<std::uintmax_t>(table.row_versions), "row version", "row versions"),
          percent(table.row_versions > 0 ? 100.0 * static_cast<double>(table.rows) /
                                               static_cast<double>(table.row_versions)
                                         : 100.0),
          how));
    }
  }
  if (check.deep) {
    if (check.unreadable.empty()) {
      lines.push_back("  deep: every value of every column decoded");
    }
    for (const auto& bad : check.unreadable) {
      lines.push_back(fmt::format(
          "  deep: column {} of table {}: {}{} unreadable values: {}",
          sql::quote_identifier(bad.column), sql::quote_qualified({bad.schema, bad.table}),
          bad.at_least ? "at least " : "", bad.count, one_line(bad.first_message)));
    }
  }
  return lines;
}

nlohmann::ordered_json to_json(const FileCheck& check) {
  auto tables = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < check.tables.size(); ++i) {
    const auto& table = check.tables[i];
    const auto& estimate = check.estimate.tables[i];
    nlohmann::ordered_json json = {
        {"schema", table.table.schema}, {"name", table.table.name},
        {"rows", table.rows},           {"row_versions", table.row_versions},
        {"sampled", estimate.sampled},  {"sampled_rows", estimate.sampled_rows}};
    if (estimate.sampled) {
      json["data_size"] = std::llround(estimate.data.bytes);
      json["data_uncertainty"] = std::llround(estimate.data.uncertainty);
      json["data_size_bernoulli"] = std::llround(estimate.bernoulli_bytes);
      json["data_size_ends"] = std::llround(estimate.ends_bytes);
    }
    tables.push_back(std::move(json));
  }
  nlohmann::ordered_json json = {{"file", check.path.string()}};
  if (!check.entry.empty()) json["entry"] = check.entry;
  json["size"] = check.size;
  json["format_version"] = check.catalog.format_version;
  json["opened_by"] = releases_json(check.catalog.format_version);
  json["schemas"] = check.catalog.schemas.size();
  json["tables"] = check.tables.size();
  json["rows"] = check.rows();
  json["row_versions"] = check.row_versions();
  json["estimate"] = estimate_json(check, check.estimate);
  json["estimate_as_version_2"] =
      check.as_version_2 ? estimate_json(check, *check.as_version_2) : nlohmann::ordered_json();
  json["table_details"] = std::move(tables);
  if (check.deep) {
    auto unreadable = nlohmann::ordered_json::array();
    for (const auto& bad : check.unreadable) {
      unreadable.push_back({{"schema", bad.schema},
                            {"table", bad.table},
                            {"column", bad.column},
                            {"count", bad.count},
                            {"at_least", bad.at_least},
                            {"first_message", bad.first_message}});
    }
    json["unreadable"] = std::move(unreadable);
  } else {
    json["unreadable"] = nullptr;
  }
  json["seconds"] = check.seconds;
  return json;
}

}  // namespace hyperdefrag::check
