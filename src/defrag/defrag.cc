// Defragmenting a .hyper file.
//
// The algorithm, in the order the code below runs it:
//
//  1. Preflight, before any side effect: the input is a readable, non-empty
//     regular file that starts with Hyper's magic bytes; the output is not
//     the input (compared by device and inode, so symlinks and relative
//     paths are caught), does not exist unless --force, and its directory
//     exists and is writable; in place, the backup path can be a hard link.
//     Then lock: a run lock on the input and on the output keeps a second
//     hyperdefrag run off them, and a flock probe finds another program's
//     hyperd holding them (util/lock.h). Remove temporaries of
//     earlier runs that were killed (util/stale_temps.h). Check the free
//     space in the output directory: about the input's size.
//  2. Start a private hyperd (engine/hyper_process.h), with umask 077 so
//     that the temporary copy it creates is readable by the owner only, or
//     use the one the caller shares between several files (DefragHooks::engine).
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
//  7. Detach the output, so that its bytes are written, and fsync it.
//  8. Verify: reopen the copy read-only and compare it with the input
//     (verify/verify.h): catalogs and row counts always; every row with
//     --verify or --in-place. Detach the input and stop the engine.
//  9. Into place (defrag/swap.h): the copy gets the input's permissions; it
//     is renamed to its final name (never over an existing file unless
//     --force), or, in place, over the input after taking an exclusive flock
//     and checking the input is unchanged, keeping the original as a hard
//     link if --backup; then the directory is fsynced.
//
// Disk cost: the output needs at most about the input's size, in the output
// directory (in place: the input's directory); a backup costs nothing (it is
// a second name for the original). The input is never opened for writing.
// docs/SAFETY.md has every fault and what happens then.
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
#include "defrag/swap.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "sql/connection.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"
#include "util/free_space.h"
#include "util/hyper_file.h"
#include "util/lock.h"
#include "util/stale_temps.h"
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

}  // namespace

void check_output_path(const fs::path& input, const fs::path& output, bool force) {
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

namespace {

// Step 1 for --in-place: the copy is written beside the input.
void check_in_place(const fs::path& input, const FileState& input_state,
                    const std::optional<fs::path>& backup, bool force) {
  const fs::path dir = input.parent_path();
  if (access(dir.c_str(), W_OK) != 0) {
    output_error(input, fmt::format("cannot be replaced in place: its directory {} is not "
                                    "writable: {}",
                                    dir.string(), std::strerror(errno)));
  }
  if (backup) check_backup_path(input, input_state, *backup, force);
}

// hyperd's message when the file system is full: "growing the database file
// failed" (SQLSTATE 53200 while inserting, 58P01 while creating the database;
// measured on a full tmpfs, docs/SAFETY.md).
bool is_disk_full(const sql::SqlError& error) {
  const auto& message = error.engine_message();
  return error.sqlstate() == "53100" ||
         message.find("growing the database file failed") != std::string::npos ||
         message.find("No space left on device") != std::string::npos;
}

// hyperd's message for a file another process has locked.
bool is_locked_elsewhere(const sql::SqlError& error) {
  return error.sqlstate() == "55006" ||
         error.engine_message().find("locked by another process") != std::string::npos;
}

// Turns the engine's refusal to open the input into a message about the file.
[[noreturn]] void explain_attach_failure(const fs::path& input, const sql::SqlError& error) {
  std::string cause = error.engine_message();
  const std::string prefix = "could not load database: ";
  if (cause.rfind(prefix, 0) == 0) cause = cause.substr(prefix.size());
  if (error.sqlstate() == "0AS01") {
    input_error(input, fmt::format("written by a newer Hyper than this engine reads: {}", cause));
  }
  if (is_locked_elsewhere(error)) {
    throw Error(ExitCode::busy,
                fmt::format("{}: another program has it open for writing ({}); close it there "
                            "and try again",
                            input.string(), cause));
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
        throw Error(
            ExitCode::incompatible_version,
            fmt::format("{}: cannot write format version {}: column {} of table {} is {}: {}",
                        input.string(), version, sql::quote_identifier(column.name),
                        sql::quote_qualified({table.schema, table.name}), column.type,
                        need.reason));
      }
    }
  }
}

// Turns a statement the engine refused during the copy into the error to
// report, after telling whether the engine died.
[[noreturn]] void explain_copy_failure(const sql::SqlError& error, engine::HyperProcess& engine,
                                       const DefragReport& report) {
  // A lost connection is an engine fault even before the kernel reports
  // hyperd's exit, which for a large engine under load can take seconds.
  const bool connection_lost = error.sqlstate().rfind("08", 0) == 0;
  const bool engine_died =
      !engine.running() || (connection_lost && engine.exits_within(std::chrono::seconds(5)));
  if (!engine_died && !connection_lost && is_disk_full(error)) {
    throw Error(ExitCode::no_space,
                fmt::format("{}: the disk is full: the engine could not grow the copy ({}); "
                            "the partial copy was removed and {} is untouched",
                            report.output.string(), error.what(), report.input.string()));
  }
  if (!engine_died && !connection_lost && error.sqlstate() == "53S02") {
    throw Error(ExitCode::copy_failed,
                fmt::format("{}: the engine ran out of memory ({}); give it more with "
                            "--memory-limit, or copy fewer tables at once with --table-jobs 1",
                            report.input.string(), error.engine_message()));
  }
  engine.keep_log();
  if (engine_died || connection_lost) {
    throw Error(
        ExitCode::engine,
        fmt::format("{}: {} during the copy ({}); the partial copy was removed and the "
                    "input is untouched (engine log: {})",
                    report.input.string(),
                    engine_died ? "hyperd stopped unexpectedly" : "lost the connection to hyperd",
                    error.what(), engine.log_directory().string()));
  }
  throw Error(ExitCode::copy_failed,
              fmt::format("{}: {} (statement: {}; engine log: {})", report.input.string(),
                          error.what(), error.statement(), engine.log_directory().string()));
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

fs::path default_backup_path(const fs::path& input) {
  return input.parent_path() / (input.stem().string() + ".bak.hyper");
}

DefragReport defragment(const DefragOptions& options, const TableCallback& on_table) {
  DefragHooks hooks;
  hooks.on_table = on_table;
  return defragment(options, hooks);
}

DefragReport defragment(const DefragOptions& options, const DefragHooks& hooks) {
  const auto started = Clock::now();
  DefragReport report;
  if (options.in_place && options.output) {
    throw Error(ExitCode::usage, "--in-place writes over the input; it takes no output path");
  }
  if (options.backup && !options.in_place) {
    throw Error(ExitCode::usage, "--backup only goes with --in-place");
  }
  // Absolute paths: the engine's working directory is not ours to rely on,
  // and the engine names attached databases by the path it was given.
  report.input = fs::absolute(options.input).lexically_normal();
  // In place through a symlink: replace the file it points to, keep the link.
  if (options.in_place) report.input = fs::weakly_canonical(report.input);
  report.output = options.in_place
                      ? report.input
                      : fs::absolute(options.output.value_or(default_output_path(options.input)))
                            .lexically_normal();
  if (options.backup) {
    report.backup =
        fs::absolute(options.backup->empty() ? default_backup_path(options.input) : *options.backup)
            .lexically_normal();
  }

  // 1. Preflight: checks, locks, stale temporaries, free space.
  check_hyper_file(report.input);  // step 1 for the input
  const FileState input_state = file_state(report.input);
  if (options.in_place) {
    check_in_place(report.input, input_state, report.backup, options.force);
  } else {
    check_output_path(report.input, report.output, options.force);
  }
  const RunLock input_run_lock(report.input);
  std::optional<RunLock> output_run_lock;
  if (!options.in_place) output_run_lock.emplace(report.output);
  FileLock input_lock(report.input);
  input_lock.probe_flock(options.in_place ? Access::replace : Access::read);
  if (!options.in_place && fs::exists(report.output)) {
    FileLock(report.output).probe_flock(Access::replace);
  }
  const fs::path output_dir = report.output.parent_path();
  report.removed_temporaries = remove_stale_temporaries(output_dir).removed;
  report.size_before = input_state.size;
  if (!options.force) require_free_space(output_dir, report.size_before, report.output);
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
      if (error.sqlstate().rfind("08", 0) == 0) throw;  // the engine, not the file
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
      // A lost engine or a full disk is reported as such (explain_copy_failure).
      if (error.sqlstate().rfind("08", 0) == 0 || is_disk_full(error)) throw;
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
      connection.exec(
          fmt::format("DROP SCHEMA {}", sql::quote_qualified({kOutputAlias, "public"})));
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
    report.tables =
        copy_rows(connection, engine.endpoint(), source, target, options.jobs, hooks, row_versions);

    // 7. Detach the output, so that its bytes are written, and fsync it.
    connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kOutputAlias)));
    sync_path(temp.path());
    report.copy_seconds = seconds_since(copy_started);

    // 8. Verify the copy as it is on disk, then let the input go. Every run
    // compares the catalogs and the row counts; --verify and --in-place
    // compare every row.
    if (hooks.before_verify) hooks.before_verify(temp.path());
    const auto verify_started = Clock::now();
    const bool every_row = options.verify || options.in_place;
    verify_copy(connection, source, kInputAlias, report.input, temp.path(), report.version_after,
                every_row ? verify::RowCheck::exact : verify::RowCheck::counts);
    report.verified = every_row;
    report.verify_seconds = seconds_since(verify_started);
    connection.exec(fmt::format("DETACH DATABASE {}", sql::quote_identifier(kInputAlias)));
  } catch (const sql::SqlError& error) {
    explain_copy_failure(error, engine, report);
  }
  if (own_engine) own_engine->stop();

  // 9. Into place.
  adopt_permissions(temp.path(), input_state, options.in_place);
  if (options.in_place) {
    replace_in_place(temp, input_lock, input_state, report.backup, options.force);
  } else {
    temp.commit(options.force ? Replace::yes : Replace::no);
  }
  report.size_after = hyperdefrag::file_size(report.output);
  report.seconds = seconds_since(started);
  return report;
}

}  // namespace hyperdefrag
