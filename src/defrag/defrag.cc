// Defragmenting a .hyper file.
//
// The algorithm, in the order the code below runs it:
//
//  1. Preflight, before any side effect: the input is a readable, non-empty
//     regular file that starts with Hyper's magic bytes; the output is not
//     the input (compared by device and inode, so symlinks and relative
//     paths are caught), does not exist unless --force, and its directory
//     exists and is writable.
//  2. Start a private hyperd (engine/hyper_process.h), or use the one the
//     caller shares between several files (DefragHooks::engine).
//  3. Attach the input read-only, so that nothing this run does can change
//     it, and read its catalog and file-format version.
//  4. Check that the output's format version (the input's, or the one asked
//     for) can hold every column, before anything is written. Create the
//     output under a temporary name beside its final name, and attach it.
//  5. Recreate every schema (empty ones too), then every table with all that
//     catalog/preserved.h lists: columns with type, nullability, collation,
//     default and description, assumed primary key and unique constraints;
//     then, once every table exists, assumed foreign keys.
//  6. Copy each table inside the engine with INSERT ... SELECT: no row passes
//     through this process. This rewrites the rows into fresh blocks; a
//     database-level copy (CREATE DATABASE ... FROM) with the same version
//     copies the blocks as they are and does not shrink the file
//     (docs/ENGINE.md has the measurements).
//  7. Detach the output, so its bytes are on disk. With --verify, attach it
//     again read-only and prove it equal to the input (verify/verify.h).
//     Detach everything and stop the engine.
//  8. fsync the output, rename it to its final name (replacing an existing
//     file only with --force), fsync the directory.
//
// Disk cost: the output needs at most about the input's size, in the output
// directory. The input is never opened for writing.
#include "defrag/defrag.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "catalog/catalog.h"
#include "defrag/copy_rows.h"
#include "defrag/observe.h"
#include "defrag/sort_order.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "sql/connection.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"
#include "verify/verify.h"

namespace hyperdefrag {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kInputAlias = "input_database";
constexpr const char* kOutputAlias = "output_database";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void input_error(const fs::path& input, const std::string& cause) {
  throw Error(ExitCode::bad_input, fmt::format("{}: {}", input.string(), cause));
}

[[noreturn]] void output_error(const fs::path& output, const std::string& cause) {
  throw Error(ExitCode::bad_output, fmt::format("{}: {}", output.string(), cause));
}

// Step 1 for the input.
void check_input(const fs::path& input) {
  struct stat info {};
  if (stat(input.c_str(), &info) != 0) input_error(input, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) input_error(input, "is a directory, not a .hyper file");
  if (!S_ISREG(info.st_mode)) input_error(input, "is not a regular file");
  if (info.st_size == 0) input_error(input, "is empty, not a .hyper file");
  const int fd = open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) input_error(input, fmt::format("cannot be read: {}", std::strerror(errno)));
  std::array<char, 5> magic{};
  const ssize_t got = read(fd, magic.data(), magic.size());
  close(fd);
  if (got != static_cast<ssize_t>(magic.size()) || std::string_view(magic.data(), 5) != "Hyper") {
    input_error(input, "is not a Hyper database (it does not start with Hyper's file header)");
  }
}

// Step 1 for the output.
void check_output(const fs::path& input, const fs::path& output, bool force) {
  struct stat input_info {};
  struct stat output_info {};
  stat(input.c_str(), &input_info);
  if (stat(output.c_str(), &output_info) == 0) {
    if (output_info.st_dev == input_info.st_dev && output_info.st_ino == input_info.st_ino) {
      output_error(output, "is the input file itself; choose another output path");
    }
    if (S_ISDIR(output_info.st_mode)) output_error(output, "is a directory");
    if (!force) output_error(output, "already exists (use --force to replace it)");
  }
  const fs::path dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
  struct stat dir_info {};
  if (stat(dir.c_str(), &dir_info) != 0 || !S_ISDIR(dir_info.st_mode)) {
    output_error(output, fmt::format("its directory {} does not exist", dir.string()));
  }
  if (access(dir.c_str(), W_OK) != 0) {
    output_error(output, fmt::format("its directory {} is not writable: {}", dir.string(),
                                     std::strerror(errno)));
  }
}

// Turns the engine's refusal to open the input into a message about the file.
[[noreturn]] void explain_attach_failure(const fs::path& input, const sql::SqlError& error) {
  std::string cause = error.engine_message();
  const std::string prefix = "could not load database: ";
  if (cause.rfind(prefix, 0) == 0) cause = cause.substr(prefix.size());
  if (error.sqlstate() == "0AS01") {
    input_error(input, fmt::format("written by a newer Hyper than this engine reads: {}", cause));
  }
  input_error(input, fmt::format("cannot be opened as a Hyper database: {}", cause));
}

// Step 4: refuses, before anything is written, a format version that cannot
// hold a column, naming the table and the column.
void check_version(const fs::path& input, const catalog::Catalog& source, int version) {
  for (const auto& table : source.tables) {
    for (const auto& column : table.columns) {
      const auto need = catalog::minimum_version(column);
      if (need.version > version) {
        throw Error(ExitCode::incompatible_version,
                    fmt::format("{}: cannot write format version {}: column {} of table {} is {}: {}",
                                input.string(), version, sql::quote_identifier(column.name),
                                sql::quote_qualified({table.schema, table.name}), column.type,
                                need.reason));
      }
    }
  }
}

}  // namespace

engine::EngineOptions engine_options(const fs::path& hyperd, const DefragOptions& options) {
  engine::EngineOptions result{hyperd, {}, std::chrono::seconds(60)};
  if (options.memory_limit) result.settings.emplace_back("memory_limit", *options.memory_limit);
  return result;
}

fs::path default_output_path(const fs::path& input) {
  return input.parent_path() / (input.stem().string() + ".new.hyper");
}

DefragReport defragment(const DefragOptions& options, const TableCallback& on_table) {
  DefragHooks hooks;
  hooks.on_table = on_table;
  return defragment(options, hooks);
}

DefragReport defragment(const DefragOptions& options, const DefragHooks& hooks) {
  const auto started = Clock::now();
  DefragReport report;
  // Absolute paths: the engine's working directory is not ours to rely on,
  // and the engine names attached databases by the path it was given.
  report.input = fs::absolute(options.input).lexically_normal();
  report.output =
      fs::absolute(options.output.value_or(default_output_path(options.input))).lexically_normal();

  // 1. Preflight.
  check_input(report.input);
  check_output(report.input, report.output, options.force);
  report.size_before = hyperdefrag::file_size(report.input);
  const auto hyperd =
      hooks.engine ? std::nullopt : std::optional(engine::locate_hyperd(options.hyperd));

  // 2. Engine: the caller's, or one of our own.
  std::optional<engine::HyperProcess> own_engine;
  if (!hooks.engine) own_engine.emplace(engine_options(hyperd->path, options));
  engine::HyperProcess& engine = hooks.engine ? *hooks.engine : *own_engine;
  TempFile temp(report.output);
  try {
    sql::Connection connection(engine.endpoint());
    connection.set_observer(hooks.on_statement);

    // 3. Input, read-only.
    try {
      connection.exec(fmt::format("ATTACH DATABASE {} AS {} WITH (access_mode = 'readonly')",
                                  sql::quote_identifier(report.input.string()),
                                  sql::quote_identifier(kInputAlias)));
    } catch (const sql::SqlError& error) {
      explain_attach_failure(report.input, error);
    }
    const auto source = catalog::read_catalog(connection, kInputAlias, report.input.string());
    report.version_before = source.format_version;
    report.schemas = source.schemas.size();

    // 4. Output under its temporary name, in a version that holds every column.
    report.version_after = options.target_version.value_or(source.format_version);
    check_version(report.input, source, report.version_after);
    try {
      connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}",
                                  sql::quote_identifier(temp.path().string()),
                                  report.version_after));
    } catch (const sql::SqlError& error) {
      throw Error(ExitCode::incompatible_version,
                  fmt::format("{}: cannot write format version {}: {}", report.output.string(),
                              report.version_after, error.engine_message()));
    }
    connection.exec(fmt::format("ATTACH DATABASE {} AS {}",
                                sql::quote_identifier(temp.path().string()),
                                sql::quote_identifier(kOutputAlias)));

    // 5. Schemas, tables, descriptions, then foreign keys across them.
    const auto copy_started = Clock::now();
    for (const auto& schema : source.schemas) {
      connection.exec(catalog::create_schema_sql(kOutputAlias, schema));
    }
    // A new database comes with an empty "public" schema; an input may have
    // dropped its own.
    if (std::find(source.schemas.begin(), source.schemas.end(), "public") == source.schemas.end()) {
      connection.exec(fmt::format("DROP SCHEMA {}", sql::quote_qualified({kOutputAlias, "public"})));
    }
    for (const auto& table : source.tables) {
      connection.exec(catalog::create_table_sql(kOutputAlias, table));
      for (const auto& statement : catalog::describe_columns_sql(kOutputAlias, table)) {
        connection.exec(statement);
      }
    }
    for (const auto& table : source.tables) {
      for (const auto& statement : catalog::foreign_keys_sql(kOutputAlias, table)) {
        connection.exec(statement);
      }
    }

    // 6. Rows, inside the engine, on `options.jobs` connections.
    CopyTarget target{kInputAlias, report.input.string(), kOutputAlias, temp.path().string(), {}};
    if (!options.sort.empty()) {
      for (const auto& table : source.tables) {
        target.sort_columns.push_back(options.sort == "auto"
                                          ? choose_sort_columns(connection, kInputAlias, table)
                                          : listed_sort_columns(options.sort, table));
      }
    }
    const long long row_versions =
        hooks.on_table_start ? defrag_observe::row_versions(connection, kInputAlias) : 0;
    report.tables = copy_rows(connection, engine.endpoint(), source, target, options.jobs, hooks,
                              row_versions);

    // 7. Detach, so that the output's bytes are on disk; then verify them.
    connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kOutputAlias)));
    report.copy_seconds = seconds_since(copy_started);
    // Every run compares the catalogs and the row counts; --verify (and
    // --in-place) compares every row.
    const auto verify_started = Clock::now();
    verify_copy(connection, source, kInputAlias, report.input, temp.path(), report.version_after,
                options.verify ? verify::RowCheck::exact : verify::RowCheck::counts);
    report.verified = options.verify;
    report.verify_seconds = seconds_since(verify_started);
    connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kInputAlias)));
  } catch (const sql::SqlError& error) {
    engine.keep_log();
    const bool engine_died = !engine.running();
    throw Error(engine_died ? ExitCode::engine : ExitCode::copy_failed,
                fmt::format("{}: {}{} (statement: {}; engine log: {})", report.input.string(),
                            engine_died ? "hyperd stopped unexpectedly: " : "",
                            error.what(), error.statement(), engine.log_directory().string()));
  }
  if (own_engine) own_engine->stop();

  // 8. Into place.
  temp.commit();
  report.size_after = hyperdefrag::file_size(report.output);
  report.seconds = seconds_since(started);
  return report;
}

}  // namespace hyperdefrag
