// Defragmenting a .hyper file.
//
// The algorithm, in the order the code below runs it. A package
// (package/package.h) runs it for each extract, and steps 1 and 9 for the
// package file itself; a dry run runs step 1 alone, without side effects.
//
//  1. Preflight, before any side effect (defrag/prepare.h, class Prepared):
//     a. the input is a readable, non-empty regular file that starts with
//        Hyper's magic bytes (a package: a zip archive holding a .hyper
//        entry); its state (inode, size, time, mode) is recorded;
//     b. the output is not the input (compared by device and inode, so
//        symlinks and relative paths are caught), not a directory, does not
//        exist unless --force, and its directory exists and is writable; in
//        place, the input's directory is writable and the backup path passes
//        the same checks and is on the input's file system (it is a hard link);
//     c. run locks on the input and the output keep a second hyperdefrag run
//        off them, and a flock probe finds another program's hyperd holding
//        them (util/lock.h);
//     d. temporaries of earlier runs that were killed are removed from the
//        output directory (util/stale_temps.h);
//     e. free space: about the input's size in the output directory (and,
//        for a package, twice its extracts in the temporary directory),
//        unless --force;
//     f. the output's temporary name is reserved beside its final name.
//  2. Start a private hyperd (engine/hyper_process.h), with umask 077 so
//     that the temporary copy it creates is readable by the owner only, or
//     use the one the caller shares between several files (DefragHooks::engine).
//  3. Attach the input read-only, so that nothing this run does can change
//     it, and read its catalog and file-format version.
//  4. Check that the output's format version (the input's, or the one asked
//     for) can hold every column, before anything is written. Create the
//     output under its temporary name, and attach it.
//  5. Recreate every schema (empty ones too), then every table with all that
//     catalog/preserved.h lists: columns with type, nullability, collation,
//     default and description, assumed primary key and unique constraints.
//     One connection creates the tables one after another, in the input's
//     order, so that the output numbers (and lists) them as the input does.
//  6. Copy each table inside the engine with INSERT ... SELECT, on other
//     connections, as soon as step 5 has created it (the two steps overlap,
//     defrag/copy_rows.h): no row passes through this process. This rewrites
//     the rows into fresh blocks; a database-level copy (CREATE DATABASE ...
//     FROM) with the same version copies the blocks as they are and does not
//     shrink the file (docs/ENGINE.md has the measurements). Then, once every
//     table exists and holds its rows, add the assumed foreign keys.
//  7. Detach the output, so that its bytes are written, wait until hyperd no
//     longer holds it open for writing (its flock), fsync it and record its
//     identity (TempFile::seal): step 9 renames only that very file.
//  8. Verify: reopen the copy read-only and compare it with the input
//     (verify/verify.h): catalogs and row counts always; every row with
//     --verify or --in-place. Detach the input and stop the engine.
//  9. Into place (defrag/place.h, place()):
//     a. the copy gets the input's permission bits, and in place its owner
//        and group as far as this process may;
//     b. not in place: it is fsynced and renamed to its final name, never
//        over an existing file unless --force (the rename itself refuses);
//     c. in place: an exclusive flock on the input keeps every Hyper process
//        from attaching it; the input must be unchanged since step 1a; the
//        backup is made as a hard link under a temporary name and renamed to
//        its name, so an existing backup is only replaced by a complete one;
//        then the copy is renamed over the input;
//     d. the directory is fsynced.
//     The copy carries a note that it is a fresh compacted copy
//     (util/compacted_mark.h), which --min-gain reads.
//
// Disk cost: the output needs at most about the input's size, in the output
// directory (in place: the input's directory); a backup costs nothing (it is
// a second name for the original). The input is never opened for writing.
// Every failure leaves through the owners of what the run made (locks,
// engine, TempFile), so nothing is left behind; docs/SAFETY.md has every
// fault and what happens then.
#include "defrag/defrag.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "catalog/catalog.h"
#include "defrag/copy_rows.h"
#include "defrag/place.h"
#include "defrag/sort_order.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "sql/attach.h"
#include "sql/connection.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hyper_file.h"
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

}  // namespace

void check_version(const fs::path& input, const catalog::Catalog& source, int version,
                   const DefragOptions& options) {
  for (const auto& table : source.tables) {
    for (const auto& column : table.columns) {
      const auto need = catalog::minimum_version(column);
      if (need.version > version && !options.for_release.empty()) {
        throw Error(
            ExitCode::incompatible_version, input,
            fmt::format("cannot write a file {} opens (format version {}): column {} of table {} "
                        "is {}: {}, which {} open",
                        options.for_release, version, sql::quote_identifier(column.name),
                        sql::quote_qualified({table.schema, table.name}), column.type, need.reason,
                        options.opened_by
                            ? options.opened_by(need.version)
                            : fmt::format("releases that read version {}", need.version)));
      }
      if (need.version > version) {
        throw Error(ExitCode::incompatible_version, input,
                    fmt::format("cannot write format version {}: column {} of table {} is {}: {}",
                                version, sql::quote_identifier(column.name),
                                sql::quote_qualified({table.schema, table.name}), column.type,
                                need.reason));
      }
    }
  }
}

namespace {

// Turns a statement the engine refused during the copy into the error to
// report, after telling whether the engine died.
[[noreturn]] void explain_copy_failure(const sql::SqlError& error, engine::HyperProcess& engine,
                                       const DefragReport& report) {
  // A lost connection is an engine fault even before the kernel reports
  // hyperd's exit, which for a large engine under load can take seconds.
  const bool connection_lost = error.connection_lost();
  const bool engine_died =
      !engine.running() || (connection_lost && engine.exits_within(std::chrono::seconds(5)));
  if (!engine_died && !connection_lost && error.disk_full()) {
    throw Error(ExitCode::no_space, report.output,
                fmt::format("the disk is full: the engine could not grow the copy ({}); the "
                            "partial copy was removed and {} is untouched",
                            error.what(), report.input.string()));
  }
  if (!engine_died && !connection_lost && error.sqlstate() == "XXS01") {
    // "DataBlock is physically corrupted": the input's fault, not the copy's.
    throw Error(
        ExitCode::bad_input, report.input,
        fmt::format("is damaged: the engine cannot read all of it ({})", error.engine_message()));
  }
  if (!engine_died && !connection_lost && error.sqlstate() == "53S02") {
    throw Error(ExitCode::copy_failed, report.input,
                fmt::format("the engine ran out of memory ({}); give it more with "
                            "--memory-limit, or copy fewer tables at once with --table-jobs 1",
                            error.engine_message()));
  }
  if (engine_died || connection_lost) {
    // hyperd aborts, instead of refusing the statement, when the copy cannot
    // grow while it finalizes a block.
    if (auto cause = engine::stopped_by_full_disk(engine, report.output.parent_path())) {
      throw Error(ExitCode::no_space, report.output,
                  fmt::format("the disk is full: the engine could not grow the copy ({}); the "
                              "partial copy was removed and {} is untouched",
                              *cause, report.input.string()));
    }
  }
  engine.keep_log();
  if (engine_died || connection_lost) {
    throw Error(
        ExitCode::engine, report.input,
        fmt::format("{} during the copy ({}); the partial copy was removed and the "
                    "input is untouched (engine log: {})",
                    engine_died ? "hyperd stopped unexpectedly" : "lost the connection to hyperd",
                    error.what(), engine.log_directory().string()));
  }
  throw Error(ExitCode::copy_failed, report.input,
              fmt::format("{} (statement: {}; engine log: {})", error.what(), error.statement(),
                          engine.log_directory().string()));
}

}  // namespace

engine::EngineOptions engine_options(const fs::path& hyperd, const DefragOptions& options) {
  engine::EngineOptions result{hyperd, {}, std::chrono::seconds(60)};
  if (options.memory_limit) result.settings.emplace_back("memory_limit", *options.memory_limit);
  return result;
}

Destination destination_for(const DefragOptions& options) {
  return resolve_destination(options.input, options.output, options.in_place, options.backup,
                             options.force);
}

std::unique_ptr<Prepared> preflight(const DefragOptions& options, DryRun dry_run) {
  const auto check = [](const fs::path& input) {
    check_hyper_file(input);
    return std::vector<SpaceNeed>{};
  };
  return std::make_unique<Prepared>(destination_for(options), check, dry_run);
}

DefragReport defragment(const DefragOptions& options, const TableCallback& on_table) {
  DefragHooks hooks;
  hooks.on_table = on_table;
  return defragment(options, hooks);
}

DefragReport defragment(const DefragOptions& options, const DefragHooks& hooks) {
  const auto started = Clock::now();

  // 1. Preflight: checks, locks, stale temporaries, free space.
  const auto prepared = preflight(options, DryRun::no);
  const Destination& destination = prepared->destination();
  DefragReport report;
  report.input = destination.input;
  report.output = destination.output;
  report.backup = destination.backup;
  report.removed_temporaries = prepared->removed_temporaries();
  report.size_before = prepared->input_state().size;
  TempFile& temp = prepared->temp();

  // 2. Engine: the caller's, or one of our own.
  std::optional<engine::HyperProcess> own_engine;
  if (!hooks.engine) {
    own_engine.emplace(engine_options(engine::locate_hyperd(options.hyperd).path, options));
  }
  engine::HyperProcess& engine = hooks.engine ? *hooks.engine : *own_engine;
  try {
    sql::Connection connection(engine.endpoint());
    connection.set_observer(hooks.on_statement);

    // 3. Input, read-only.
    sql::Attached input = sql::attach_input(connection, report.input, kInputAlias);
    const auto source = catalog::read_catalog(connection, kInputAlias, report.input.string());
    report.version_before = source.format_version;
    report.schemas = source.schemas.size();

    // 4. Output under its temporary name, in a version that holds every column.
    report.version_after = options.target_version.value_or(source.format_version);
    check_version(report.input, source, report.version_after, options);
    try {
      connection.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}",
                                  sql::quote_identifier(temp.path().string()),
                                  report.version_after));
    } catch (const sql::SqlError& error) {
      // A lost engine or a full disk is reported as such (explain_copy_failure).
      if (error.connection_lost() || error.disk_full()) throw;
      throw Error(ExitCode::incompatible_version, report.output,
                  fmt::format("cannot write format version {}: {}", report.version_after,
                              error.engine_message()));
    }
    sql::Attached output(connection, temp.path(), kOutputAlias, sql::AttachMode::read_write);

    // 5 and 6. Schemas; then tables, created in order on this connection while
    // other connections copy the rows of each one that exists; then foreign
    // keys across them.
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
    CopyTarget target{kInputAlias, report.input.string(), kOutputAlias, temp.path().string(), {}};
    if (!options.sort.empty()) {
      for (const auto& table : source.tables) {
        target.sort_columns.push_back(options.sort == "auto"
                                          ? choose_sort_columns(connection, kInputAlias, table)
                                          : listed_sort_columns(options.sort, table));
      }
    }
    const long long row_versions =
        hooks.on_table_start ? catalog::row_versions(connection, kInputAlias) : 0;
    report.tables = create_and_copy_tables(connection, engine.endpoint(), source, target,
                                           options.jobs, hooks, row_versions);
    for (const auto& table : source.tables) {
      for (const auto& statement : catalog::foreign_keys_sql(kOutputAlias, table)) {
        connection.exec(statement);
      }
    }

    // 7. Detach the output, so that its bytes are written, and fsync it.
    output.detach();
    temp.seal();
    report.copy_seconds = seconds_since(copy_started);

    // 8. Verify the copy as it is on disk, then let the input go. Every run
    // compares the catalogs and the row counts; --verify and --in-place
    // compare every row.
    if (hooks.before_verify) hooks.before_verify(temp.path());
    const auto verify_started = Clock::now();
    const bool every_row = options.verify || options.in_place;
    // The input's row counts were taken in step 6, while it was attached
    // read-only as it still is: only the copy is counted here.
    std::vector<long long> input_rows;
    for (const auto& table : report.tables) input_rows.push_back(table.rows);
    verify::verify_copy(connection, source, kInputAlias, report.input, temp.path(),
                        report.version_after,
                        every_row ? verify::RowCheck::exact : verify::RowCheck::counts, input_rows);
    report.verified = every_row;
    report.verify_seconds = seconds_since(verify_started);
    input.detach();
  } catch (const sql::SqlError& error) {
    explain_copy_failure(error, engine, report);
  }
  if (own_engine) own_engine->stop();

  // 9. Into place.
  place(*prepared, report.version_after);
  report.size_after = hyperdefrag::file_size(report.output);
  report.seconds = seconds_since(started);
  return report;
}

}  // namespace hyperdefrag
