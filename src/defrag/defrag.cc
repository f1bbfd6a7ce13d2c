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
//  4. Create the output under a temporary name beside its final name, with
//     the input's format version, and attach it.
//  5. Recreate every schema (empty ones too), then every table with each
//     column's name, type, nullability and collation in the input's order.
//  6. Copy each table inside the engine with INSERT ... SELECT: no row passes
//     through this process. This rewrites the rows into fresh blocks; a
//     database-level copy (CREATE DATABASE ... FROM) with the same version
//     copies the blocks as they are and does not shrink the file
//     (docs/ENGINE.md has the measurements).
//  7. Detach both databases, so the output's bytes are on disk, and stop
//     the engine.
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

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "catalog/catalog.h"
#include "defrag/observe.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "sql/connection.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"

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

}  // namespace

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
  engine::HyperProcess& engine =
      hooks.engine ? *hooks.engine
                   : own_engine.emplace(engine::EngineOptions{hyperd->path, {}, std::chrono::seconds(60)});
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

    // 4. Output under its temporary name.
    report.version_after = source.format_version;
    connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}",
                                sql::quote_identifier(temp.path().string()),
                                report.version_after));
    connection.exec(fmt::format("ATTACH DATABASE {} AS {}",
                                sql::quote_identifier(temp.path().string()),
                                sql::quote_identifier(kOutputAlias)));

    // 5. Schemas and tables.
    for (const auto& schema : source.schemas) {
      connection.exec(catalog::create_schema_sql(kOutputAlias, schema));
    }
    for (const auto& table : source.tables) {
      connection.exec(catalog::create_table_sql(kOutputAlias, table));
    }

    // 6. Rows, inside the engine.
    const long long row_versions =
        hooks.on_table_start ? defrag_observe::row_versions(connection, kInputAlias) : 0;
    for (std::size_t index = 0; index < source.tables.size(); ++index) {
      const auto& table = source.tables[index];
      if (hooks.on_table_start) {
        hooks.on_table_start({table.schema, table.name, index, source.tables.size(),
                              catalog::count_rows(connection, kInputAlias, table), row_versions,
                              temp.path()});
      }
      const auto table_started = Clock::now();
      std::string columns;
      for (const auto& column : table.columns) {
        if (!columns.empty()) columns += ", ";
        columns += sql::quote_identifier(column.name);
      }
      const auto inserted = connection.exec(fmt::format(
          "INSERT INTO {} ({}) SELECT {} FROM {}",
          sql::quote_qualified({kOutputAlias, table.schema, table.name}), columns, columns,
          sql::quote_qualified({kInputAlias, table.schema, table.name})));
      TableResult result{table.schema, table.name, inserted.affected_rows(),
                         seconds_since(table_started)};
      if (hooks.on_table) hooks.on_table(result);
      report.tables.push_back(std::move(result));
    }

    // 7. Detach, so that the output's bytes are on disk.
    connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kOutputAlias)));
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
