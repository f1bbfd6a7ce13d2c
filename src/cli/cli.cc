#include "cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <regex>
#include <string_view>
#include <thread>

#include "batch/batch.h"
#include "batch/check_job.h"
#include "batch/for_tableau.h"
#include "batch/manifest.h"
#include "batch/results.h"
#include "batch/shard.h"
#include "check/check.h"
#include "check/threshold.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "inspect/inspect.h"
#include "package/package.h"
#include "report/console.h"
#include "report/progress.h"
#include "report/report.h"
#include "sql/interrupt.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hyper_file.h"
#include "util/text.h"

namespace hyperdefrag::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0    success\n"
    "  1    internal error\n"
    "  2    bad command-line options\n"
    "  3    bad input: missing, a directory, empty, unreadable, not a Hyper file\n"
    "       (or not a packaged workbook), truncated, too new\n"
    "  4    bad output path: exists (without --force), is the input, directory\n"
    "       missing or not writable\n"
    "  5    engine: hyperd not found, did not start, or died\n"
    "  6    the engine refused a statement during the copy or check's estimate\n"
    "  7    the copy did not match the input; it was not kept\n"
    "  8    not enough free disk space, before the start or while writing\n"
    "  9    busy: another program has the file open, or another hyperdefrag run\n"
    "       is working on it\n"
    "  10   several files were given and at least one failed (see the summary)\n"
    "  11   --target-version or --for-tableau cannot hold the data (NUMERIC above\n"
    "       18 digits needs 3, REAL needs 4)\n"
    "  12   check --deep found values the engine cannot read\n"
    "  129, 130, 143  interrupted by SIGHUP, SIGINT or SIGTERM";

std::string version_text() {
  std::string engine = "hyperd: not found";
  try {
    const auto location = engine::locate_hyperd(std::nullopt);
    engine = fmt::format("hyperd: {} ({})", engine::hyperd_version(location.path),
                         location.path.string());
  } catch (const Error&) {
  }
  return fmt::format("hyperdefrag {}\n{}", HYPERDEFRAG_VERSION, engine);
}

// Parses; returns an exit code when the run ends here (help, version, error).
std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "hyperdefrag: {} (see --help)\n", one_line(e.what()));
    return static_cast<int>(ExitCode::usage);
  }
  return std::nullopt;
}

// Where hyperd is looked for, in engine::locate_hyperd's order.
constexpr const char* kHyperdHelp =
    "the hyperd binary to use (default: $HYPERD_PATH, then the tableauhyperapi\n"
    "installed beside hyperdefrag (pip), the project's .venv, or python3's)";

struct DefragSettings {
  batch::BatchOptions batch;
  std::string output;
  std::string hyperd;
  std::string report_file;
  std::optional<int> target_version;
  std::string memory_limit;
  std::string min_gain;
  std::string for_tableau;
  std::string backup;
  CLI::Option* backup_option = nullptr;
  std::string shard;
  std::optional<std::size_t> shards;
  std::string manifest;
  std::string results_dir;
  CLI::Option* min_gain_option = nullptr;
  bool json = false;
  bool dry_run = false;
  bool quiet = false;
  bool verbose = false;
};

void describe_defrag(CLI::App& app, DefragSettings& s) {
  app.description(
      "hyperdefrag: write a compacted copy of Tableau Hyper (.hyper) files.\n"
      "Every schema and table is recreated and its rows copied inside the engine;\n"
      "the input is opened read-only and never changed (--in-place replaces it, in one\n"
      "atomic rename, by its verified copy). Packaged workbooks and\n"
      "data sources (.twbx, .tdsx) are rewritten with every extract compacted.\n"
      "For integrity, hyperdefrag check --deep decodes every value as a query would\n"
      "(--verify compares the copy's raw values with the input's).\n"
      "See also: hyperdefrag check --help (the saving, before copying), hyperdefrag\n"
      "inspect --help\n");
  app.name("hyperdefrag");
  app.add_option("input", s.batch.inputs,
                 "the .hyper, .twbx or .tdsx files to defragment; glob patterns and,\n"
                 "with -r, directories are expanded");
  app.add_option("-o,--output-hyper-file-path", s.output,
                 "where to write the compacted copy (only with one input; default:\n"
                 "<stem>.new.hyper or <stem>.new.twbx beside the input)");
  app.add_flag_callback(
      "-f,--force", [&s] { s.batch.defrag.force = Force::yes; },
      "replace output (or backup) files that exist; skip the free-space check");
  app.add_flag("-r,--recursive", s.batch.recursive,
               "walk directories for .hyper, .twbx and .tdsx files");
  app.add_option("-j,--jobs", s.batch.jobs, "defragment this many files at once (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("-n,--dry-run", s.dry_run,
               "list the inputs, outputs and space each needs; change nothing");
  app.add_flag("--json", s.json, "print the report as one JSON document instead of text");
  app.add_option("--report", s.report_file, "also write the JSON report to this file");
  app.add_flag("-q,--quiet", s.quiet, "print only errors");
  app.add_flag("-v,--verbose", s.verbose,
               "also print the engine's log directory (kept) and each statement's time");
  app.add_flag("--in-place", s.batch.defrag.in_place,
               "replace each input with its compacted copy, atomically, after comparing\n"
               "every row (docs/SAFETY.md)");
  s.backup_option =
      app.add_option("--backup", s.backup,
                     "with --in-place: keep the original as PATH (default: <stem>.bak.hyper)")
          ->expected(0, 1)
          ->type_name("[PATH]");
  app.add_flag("--verify", s.batch.defrag.verify,
               "compare every row of the copy with the input inside the engine (about\n"
               "1.5x the copy's time); on a difference the copy is not kept");
  auto* target_version =
      app.add_option("--target-version", s.target_version,
                     "write this file-format version instead of the input's (refused before\n"
                     "anything is written if a column needs a newer one)")
          ->check(CLI::NonNegativeNumber);
  app.add_option("--for-tableau", s.for_tableau,
                 "write the newest file-format version this Tableau release opens, e.g.\n"
                 "2022.1.2, 2024.3 or \"Server 2023.1\" (without the patch level: the version\n"
                 "every patch opens); refused before anything is written if a column needs\n"
                 "a newer one")
      ->type_name("RELEASE")
      ->excludes(target_version);
  s.min_gain_option =
      app.add_option("--min-gain", s.min_gain,
                     "skip a file whose estimated saving (as `check` estimates it) is below\n"
                     "this share of its size or amount, e.g. 10% or 64MiB; nothing is written\n"
                     "for it and it counts as a success (a package: when every extract is)")
          ->type_name("PCT|SIZE");
  app.add_option("--table-jobs", s.batch.defrag.jobs,
                 "copy this many tables of a file at once, each on its own connection\n"
                 "(default: the machine's cores, at most 4)")
      ->check(CLI::Range(1, 32));
  app.add_option("--sort", s.batch.defrag.sort,
                 "write each table's rows in this order: auto (columns whose values\n"
                 "repeat, fewest distinct first) or a comma-separated column list; off by\n"
                 "default (docs/BENCHMARKS.md: it costs more time than it saves space)");
  app.add_option("--memory-limit", s.memory_limit,
                 "the engine's memory limit (hyperd's memory_limit): e.g. 2g, 512m, 40%")
      ->check(CLI::Validator(
          [](const std::string& value) {
            static const std::regex form(R"(^[0-9]+(\.[0-9]+)?[kmgtKMGT%]$)");
            return std::regex_match(value, form)
                       ? std::string()
                       : std::string("a number followed by k, m, g, t (KiB..TiB) or %");
          },
          "SIZE"));
  app.add_option("--hyperd", s.hyperd, kHyperdHelp);
  app.add_option("--shard", s.shard,
                 "work on shard K of N of the expanded inputs only (1/4 .. 4/4; split by\n"
                 "bytes, the same on every machine), or auto: from Kubernetes'\n"
                 "JOB_COMPLETION_INDEX with --shards N, or Slurm's SLURM_ARRAY_TASK_*")
      ->type_name("K/N|auto");
  app.add_option("--shards", s.shards, "with --shard auto on Kubernetes: the number of shards")
      ->check(CLI::PositiveNumber);
  app.add_option("--manifest", s.manifest,
                 "take the inputs from this manifest (hyperdefrag plan); a file gone or\n"
                 "changed since fails and is not copied")
      ->type_name("FILE");
  app.add_option("--results-dir", s.results_dir,
                 "write one JSON result per input here, and skip inputs an earlier run\n"
                 "finished (see: hyperdefrag results --help)")
      ->type_name("DIR");
  app.set_version_flag("--version", version_text);
  app.footer(fmt::format(
      "Examples:\n"
      "  hyperdefrag Oldfile.hyper                 writes Oldfile.new.hyper beside it\n"
      "  hyperdefrag -o Newfile.hyper Oldfile.hyper\n"
      "  hyperdefrag --in-place --backup Oldfile.hyper   replaces it, keeps Oldfile.bak.hyper\n"
      "  hyperdefrag Sales.twbx                    writes Sales.new.twbx\n"
      "  hyperdefrag --for-tableau 2022.1.2 a.hyper   a copy Tableau 2022.1.2 opens\n"
      "  hyperdefrag -r -j 2 /data/extracts        every file under the directory\n"
      "  hyperdefrag --dry-run -r /data/extracts   what would be done, and the space\n"
      "  hyperdefrag -r --in-place --min-gain 10% /data/extracts\n"
      "                                            only the files that would shrink by 10%\n"
      "  hyperdefrag --json a.hyper b.hyper > report.json\n"
      "  hyperdefrag -r --shard 2/4 --results-dir /data/results /data/extracts\n"
      "  hyperdefrag inspect --json a.hyper\n\n{}",
      kExitCodes));
}

int run_defrag(int argc, char** argv) {
  CLI::App app;
  DefragSettings s;
  describe_defrag(app, s);
  if (const auto code = parse(app, argc, argv)) return *code;
  if (s.quiet && s.verbose) {
    fmt::print(stderr, "hyperdefrag: --quiet and --verbose exclude each other (see --help)\n");
    return static_cast<int>(ExitCode::usage);
  }
  // "--backup Oldfile.hyper" reads the input as the backup path: take it back.
  if (s.batch.inputs.empty() && s.backup_option->count() > 0 && !s.backup.empty()) {
    s.batch.inputs.push_back(std::exchange(s.backup, std::string()));
  }
  if (!s.manifest.empty()) s.batch.manifest = s.manifest;
  if (s.batch.inputs.empty() && !s.batch.manifest) {
    fmt::print(stderr, "hyperdefrag: input is required (see --help)\n");
    return static_cast<int>(ExitCode::usage);
  }
  try {
    if (s.shard == "auto") {
      s.batch.shard = batch::shard_from_environment(batch::process_environment(), s.shards);
    } else if (!s.shard.empty()) {
      s.batch.shard = batch::parse_shard(s.shard);
    }
  } catch (const Error& error) {
    fmt::print(stderr, "hyperdefrag: {} (see --help)\n", error.what());
    return static_cast<int>(error.code());
  }
  if (s.shards && s.shard != "auto") {
    fmt::print(stderr, "hyperdefrag: --shards goes with --shard auto (see --help)\n");
    return static_cast<int>(ExitCode::usage);
  }
  if (!s.results_dir.empty()) s.batch.results_dir = s.results_dir;
  if (s.backup_option->count() > 0) s.batch.defrag.backup = s.backup;  // empty: the default path
  if (!s.output.empty()) s.batch.output = s.output;
  if (!s.hyperd.empty()) s.batch.defrag.hyperd = s.hyperd;
  s.batch.defrag.target_version = s.target_version;
  if (!s.memory_limit.empty()) s.batch.defrag.memory_limit = s.memory_limit;
  if (s.min_gain_option->count() > 0) {
    try {
      s.batch.min_gain = check::parse_threshold(s.min_gain);
    } catch (const Error& error) {
      fmt::print(stderr, "hyperdefrag: --min-gain: {} (see --help)\n", error.what());
      return static_cast<int>(error.code());
    }
  }
  std::string for_tableau_note;
  if (!s.for_tableau.empty()) {
    try {
      const auto target = check::target_for_release(s.for_tableau);
      batch::write_for(target, s.batch.defrag);
      for_tableau_note = batch::ambiguity_note(s.for_tableau, target);
    } catch (const Error& error) {
      fmt::print(stderr, "hyperdefrag: --for-tableau: {} (see --help)\n", error.what());
      return static_cast<int>(error.code());
    }
  }
  s.batch.shared_engine = s.verbose;
  report::Console console(s.quiet     ? report::Verbosity::quiet
                          : s.verbose ? report::Verbosity::verbose
                                      : report::Verbosity::normal,
                          !s.json);
  const auto started = std::chrono::steady_clock::now();
  if (!for_tableau_note.empty()) console.line(for_tableau_note);

  batch::Plan plan;
  try {
    plan = batch::plan(s.batch);
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {} (see --help)", error.what()));
    return static_cast<int>(error.code());
  }

  std::unique_ptr<std::ofstream> report_out;
  if (!s.report_file.empty()) {
    report_out = std::make_unique<std::ofstream>(s.report_file, std::ios::trunc);
    if (!*report_out) {
      console.error(fmt::format("hyperdefrag: {}: cannot write the report: {}", s.report_file,
                                std::strerror(errno)));
      return static_cast<int>(ExitCode::bad_output);
    }
  }
  const auto emit_json = [&](const nlohmann::ordered_json& json) {
    if (s.json) console.data(json.dump(2) + "\n");
    if (report_out) *report_out << json.dump(2) << "\n";
  };

  if (plan.sharding) {
    const auto& [shard, balance] = *plan.sharding;
    console.line(fmt::format(
        "Shard {}/{}: {} of {} files, {} of {}; the fullest shard holds {:.2f} times the ideal "
        "share",
        shard.index + 1, shard.count, balance.files.at(shard.index),
        std::accumulate(balance.files.begin(), balance.files.end(), std::size_t{0}),
        human_size(balance.bytes.at(shard.index)), human_size(balance.total),
        balance.worst_ratio()));
  }
  if (s.dry_run) {
    auto items = batch::dry_run(plan.jobs, s.batch);
    for (const auto& rejected : plan.rejected) {
      batch::DryRunItem item;
      item.job.input = rejected.input;
      item.job.output = rejected.output;
      item.exit_code = rejected.exit_code;
      item.error = rejected.error;
      items.push_back(std::move(item));
    }
    std::vector<batch::FileResult> outcomes;
    for (const auto& item : items) {
      batch::FileResult outcome;
      outcome.exit_code = item.exit_code;
      outcomes.push_back(outcome);
    }
    const int code = batch::exit_code(outcomes);
    for (const auto& line : report::dry_run_lines(items)) console.line(line);
    emit_json(report::dry_run_json(items, code));
    return code;
  }

  if (s.batch.results_dir) {
    try {
      batch::results::prepare_directory(*s.batch.results_dir);
    } catch (const Error& error) {
      console.error(fmt::format("hyperdefrag: {}", error.what()));
      return static_cast<int>(error.code());
    }
  }

  const std::size_t total = plan.jobs.size() + plan.rejected.size();
  std::optional<report::Progress> progress;
  if (console.progress_wanted()) progress.emplace(console, total);
  batch::Observer observer;
  observer.on_engine_started = [&](const fs::path& log) {
    console.detail(fmt::format("engine log: {} (kept after the run)", log.string()));
  };
  observer.on_file_start = [&](std::size_t slot, const batch::Job& job) {
    std::error_code ignored;
    if (progress) progress->file_started(slot, job.input, fs::file_size(job.input, ignored));
  };
  observer.on_table_start = [&](std::size_t slot, const TableStart& table) {
    if (progress) progress->table_started(slot, table);
  };
  observer.on_table = [&](std::size_t slot, const TableResult& table) {
    if (progress) progress->table_done(slot, table);
    console.line(report::table_line(table));
  };
  observer.on_file_done = [&](std::size_t slot, const batch::FileResult& result) {
    if (progress) progress->file_done(slot);
    if (result.hyper) {
      for (const auto& removed : result.hyper->removed_temporaries) {
        console.error(fmt::format("hyperdefrag: removed {}, left by an earlier run that was killed",
                                  removed.string()));
      }
    }
    if (result.ok()) {
      for (const auto& line : report::file_lines(result)) console.line(line);
    } else {
      console.error("hyperdefrag: " + result.error);
    }
  };
  observer.on_statement = [&](std::string_view statement, double seconds) {
    console.detail(fmt::format("{:8.3f} s  {}", seconds, statement));
  };

  std::vector<batch::FileResult> results;
  try {
    results = batch::run(plan.jobs, s.batch, observer);
  } catch (const std::exception& error) {
    if (progress) progress.reset();
    console.error(fmt::format("hyperdefrag: {}", error.what()));
    return static_cast<int>(ExitCode::internal);
  }
  if (progress) progress.reset();
  for (const auto& rejected : plan.rejected) {
    console.error("hyperdefrag: " + rejected.error);
    results.push_back(rejected);
  }
  try {
    batch::record_rejected(plan.rejected, s.batch);
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {}", error.what()));
  }
  const int code = batch::exit_code(results);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (results.size() > 1) {
    for (const auto& line : report::summary_lines(results, seconds)) console.line(line);
  }
  auto json = report::run_json(results, seconds, code);
  if (plan.sharding) {
    const auto& [shard, balance] = *plan.sharding;
    json["shard"] = {{"k", shard.index + 1},
                     {"n", shard.count},
                     {"bytes", balance.bytes},
                     {"files", balance.files},
                     {"worst_ratio", balance.worst_ratio()}};
  }
  emit_json(json);
  return code;
}

int run_inspect(int argc, char** argv) {
  CLI::App app;
  app.name("hyperdefrag inspect");
  app.description(
      "hyperdefrag inspect: show what Hyper files hold, without changing them:\n"
      "size, format version, every schema and table with its row count, and each\n"
      "column's name, type, nullability and collation. A packaged workbook or data\n"
      "source (.twbx, .tdsx) shows each extract inside it.\n");
  std::vector<std::string> files;
  bool json = false;
  std::string hyperd;
  app.add_option("file", files, "the .hyper, .twbx or .tdsx files to inspect")->required();
  app.add_flag("--json", json, "print one JSON document per file (or extract), one per line");
  app.add_option("--hyperd", hyperd, kHyperdHelp);
  app.footer(
      "Examples:\n"
      "  hyperdefrag inspect Oldfile.hyper\n"
      "  hyperdefrag inspect --json Sales.twbx | jq .schemas\n\n"
      "Exit codes: as for hyperdefrag; 10 when several files were given and one failed.");
  if (const auto code = parse(app, argc, argv)) return *code;

  report::Console console(report::Verbosity::normal, true);
  std::unique_ptr<engine::HyperProcess> engine;
  const auto get_engine = [&]() -> engine::HyperProcess& {
    if (!engine) {
      const auto location =
          engine::locate_hyperd(hyperd.empty() ? std::nullopt : std::optional<fs::path>(hyperd));
      engine = std::make_unique<engine::HyperProcess>(
          engine::EngineOptions{location.path, {}, std::chrono::seconds(60)});
    }
    return *engine;
  };
  std::vector<batch::FileResult> outcomes;
  bool first = true;
  for (const auto& file : files) {
    batch::FileResult outcome;
    try {
      std::vector<inspect::FileInfo> infos;
      if (input_kind(file) == InputKind::package) {
        package::Unpacked unpacked(fs::absolute(file).lexically_normal());
        for (const auto& extract : unpacked.extracts()) {
          auto info = inspect::inspect_file(get_engine(), extract.path);
          info.path = fs::absolute(file).lexically_normal();
          info.entry = extract.entry;
          infos.push_back(std::move(info));
        }
      } else {
        check_hyper_file(file);
        infos.push_back(inspect::inspect_file(get_engine(), file));
      }
      for (const auto& info : infos) {
        if (json) {
          console.data(inspect::to_json(info).dump() + "\n");
        } else {
          if (!first) console.line("");
          first = false;
          for (const auto& line : inspect::human_lines(info)) console.line(line);
        }
      }
    } catch (const Error& error) {
      outcome.exit_code = static_cast<int>(error.code());
      console.error(fmt::format("hyperdefrag: {}", error.what()));
    } catch (const std::exception& error) {
      outcome.exit_code = static_cast<int>(ExitCode::internal);
      console.error(fmt::format("hyperdefrag: {}: {}", file, error.what()));
    }
    outcomes.push_back(outcome);
    if (sql::interrupted() != 0) break;
  }
  return batch::exit_code(outcomes);
}

int run_check(int argc, char** argv) {
  CLI::App app;
  app.name("hyperdefrag check");
  app.description(
      "hyperdefrag check: how much compacting Hyper files would give back, without\n"
      "changing them: size, format version and the Tableau releases that open it,\n"
      "schemas, tables, live rows and the row versions the engine stores, and the\n"
      "estimated size after compaction with its uncertainty (docs/CHECK.md). A\n"
      "packaged workbook or data source (.twbx, .tdsx) shows each extract inside it.\n");
  batch::BatchOptions inputs;
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  std::string report_file;
  std::string hyperd;
  check::CheckOptions options;
  app.add_option("input", inputs.inputs,
                 "the .hyper, .twbx or .tdsx files to check; glob patterns and, with -r,\n"
                 "directories are expanded")
      ->required();
  app.add_flag("-r,--recursive", inputs.recursive,
               "walk directories for .hyper, .twbx and .tdsx files");
  app.add_option("-j,--jobs", inputs.jobs, "check this many files at once (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("--deep", options.deep,
               "also decode every value of every column through the engine and report\n"
               "the values it cannot read (exit code 12 if any)");
  app.add_flag("--json", json, "print the report as one JSON document instead of text");
  app.add_option("--report", report_file, "also write the JSON report to this file");
  app.add_flag("-v,--verbose", verbose, "also print a line per table");
  app.add_flag("-q,--quiet", quiet, "print only errors");
  app.add_option("--hyperd", hyperd, kHyperdHelp);
  app.footer(
      fmt::format("Examples:\n"
                  "  hyperdefrag check Oldfile.hyper\n"
                  "  hyperdefrag check -r -j 2 --json /data/extracts > check.json\n"
                  "  hyperdefrag check --deep Sales.twbx\n\n{}",
                  kExitCodes));
  if (const auto code = parse(app, argc, argv)) return *code;
  if (quiet && verbose) {
    fmt::print(stderr, "hyperdefrag: --quiet and --verbose exclude each other (see --help)\n");
    return static_cast<int>(ExitCode::usage);
  }
  report::Console console(quiet ? report::Verbosity::quiet : report::Verbosity::normal, !json);
  const auto started = std::chrono::steady_clock::now();
  batch::Plan plan;
  try {
    plan = batch::plan(inputs);
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {} (see --help)", error.what()));
    return static_cast<int>(error.code());
  }
  std::unique_ptr<std::ofstream> report_out;
  if (!report_file.empty()) {
    report_out = std::make_unique<std::ofstream>(report_file, std::ios::trunc);
    if (!*report_out) {
      console.error(fmt::format("hyperdefrag: {}: cannot write the report: {}", report_file,
                                std::strerror(errno)));
      return static_cast<int>(ExitCode::bad_output);
    }
  }

  std::vector<batch::CheckOutcome> outcomes(plan.jobs.size());
  std::unique_ptr<engine::HyperProcess> engine;
  if (!plan.jobs.empty()) {
    try {
      const auto location =
          engine::locate_hyperd(hyperd.empty() ? std::nullopt : std::optional<fs::path>(hyperd));
      engine = std::make_unique<engine::HyperProcess>(
          engine::EngineOptions{location.path, {}, std::chrono::seconds(60)});
    } catch (const Error& error) {
      console.error(fmt::format("hyperdefrag: {}", error.what()));
      return static_cast<int>(error.code());
    }
  }
  std::mutex mutex;
  std::size_t next = 0;
  bool first_block = true;
  const auto worker = [&] {
    for (;;) {
      std::size_t index = 0;
      {
        std::lock_guard lock(mutex);
        if (next >= plan.jobs.size() || sql::interrupted() != 0) return;
        index = next++;
      }
      auto outcome = batch::check_job(*engine, plan.jobs[index], options);
      std::lock_guard lock(mutex);
      if (!outcome.result.error.empty()) console.error("hyperdefrag: " + outcome.result.error);
      for (const auto& checked : outcome.checks) {
        if (!first_block) console.line("");
        first_block = false;
        for (const auto& line : check::human_lines(checked, verbose)) console.line(line);
      }
      outcomes[index] = std::move(outcome);
    }
  };
  const std::size_t workers =
      std::min<std::size_t>(static_cast<std::size_t>(inputs.jobs), plan.jobs.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers; ++i) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();

  std::vector<batch::FileResult> results;
  bool unreadable = false;
  for (const auto& outcome : outcomes) {
    unreadable =
        unreadable || outcome.result.exit_code == static_cast<int>(ExitCode::unreadable_values);
    results.push_back(outcome.result);
    if (results.back().exit_code == static_cast<int>(ExitCode::unreadable_values)) {
      results.back().exit_code = 0;
    }
  }
  for (const auto& rejected : plan.rejected) {
    console.error("hyperdefrag: " + rejected.error);
    results.push_back(rejected);
  }
  int code = batch::exit_code(results);
  if (code == 0 && unreadable) code = static_cast<int>(ExitCode::unreadable_values);

  auto files = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& outcome = outcomes[i];
    nlohmann::ordered_json entry = {
        {"input", plan.jobs[i].input.string()},
        {"kind", plan.jobs[i].package ? "package" : "hyper"},
        {"ok", outcome.result.error.empty()},
        {"exit_code", outcome.result.exit_code},
        {"error", outcome.result.error.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(outcome.result.error)}};
    auto extracts = nlohmann::ordered_json::array();
    for (const auto& checked : outcome.checks) extracts.push_back(check::to_json(checked));
    entry["checks"] = std::move(extracts);
    files.push_back(std::move(entry));
  }
  for (const auto& rejected : plan.rejected) {
    files.push_back({{"input", rejected.input.string()},
                     {"kind", "hyper"},
                     {"ok", false},
                     {"exit_code", rejected.exit_code},
                     {"error", rejected.error},
                     {"checks", nlohmann::ordered_json::array()}});
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const nlohmann::ordered_json document = {{"hyperdefrag_check", check::kCheckSchemaVersion},
                                           {"tool_version", HYPERDEFRAG_VERSION},
                                           {"exit_code", code},
                                           {"seconds", seconds},
                                           {"files", std::move(files)}};
  if (json) console.data(document.dump(2) + "\n");
  if (report_out) *report_out << document.dump(2) << "\n";
  return code;
}

int run_plan(int argc, char** argv) {
  CLI::App app;
  app.name("hyperdefrag plan");
  app.description(
      "hyperdefrag plan: write a manifest of the files a sharded run will work on,\n"
      "one JSON line per file (path, size, modification time, format version and\n"
      "check's estimated saving), sorted by path. Every shard given the manifest\n"
      "(hyperdefrag --manifest FILE --shard K/N) splits the same list, even if the\n"
      "tree changes meanwhile; nothing is changed.\n");
  batch::BatchOptions inputs;
  std::string output;
  std::string min_gain;
  std::string hyperd;
  bool quiet = false;
  app.add_option("input", inputs.inputs,
                 "the .hyper, .twbx or .tdsx files; glob patterns and, with -r,\n"
                 "directories are expanded")
      ->required();
  app.add_flag("-r,--recursive", inputs.recursive,
               "walk directories for .hyper, .twbx and .tdsx files");
  app.add_option("--output", output, "the manifest to write (replaced atomically; - for stdout)")
      ->required()
      ->type_name("FILE");
  app.add_option("--min-gain", min_gain,
                 "leave out files whose estimated saving is below this: a share (10%)\n"
                 "or an amount (64MiB)")
      ->type_name("X");
  app.add_option("-j,--jobs", inputs.jobs, "check this many files at once (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("-q,--quiet", quiet, "print only errors");
  app.add_option("--hyperd", hyperd, kHyperdHelp);
  app.footer(
      fmt::format("Examples:\n"
                  "  hyperdefrag plan -r /data/extracts --output /data/manifest.jsonl\n"
                  "  hyperdefrag plan -r --min-gain 10% /data/extracts --output manifest.jsonl\n"
                  "  hyperdefrag --manifest /data/manifest.jsonl --shard 2/4 --results-dir "
                  "/data/results\n\n{}",
                  kExitCodes));
  if (const auto code = parse(app, argc, argv)) return *code;
  report::Console console(quiet ? report::Verbosity::quiet : report::Verbosity::normal,
                          output != "-");
  std::optional<check::Threshold> threshold;
  batch::Plan plan;
  try {
    if (!min_gain.empty()) threshold = check::parse_threshold(min_gain);
    plan = batch::plan(inputs);
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {} (see --help)", error.what()));
    return static_cast<int>(error.code());
  }
  batch::ManifestBuild build;
  if (!plan.jobs.empty()) {
    try {
      const auto location =
          engine::locate_hyperd(hyperd.empty() ? std::nullopt : std::optional<fs::path>(hyperd));
      engine::HyperProcess engine({location.path, {}, std::chrono::seconds(60)});
      build = batch::build_manifest(plan.jobs, engine, inputs.jobs, threshold);
    } catch (const Error& error) {
      console.error(fmt::format("hyperdefrag: {}", error.what()));
      return static_cast<int>(error.code());
    }
  }
  for (auto& failed : plan.rejected) build.failed.push_back(std::move(failed));
  for (const auto& failed : build.failed) console.error("hyperdefrag: " + failed.error);
  if (sql::interrupted() != 0) return batch::exit_code(build.failed);
  try {
    if (output == "-") {
      for (const auto& entry : build.entries) console.data(batch::to_json(entry).dump() + "\n");
    } else {
      batch::write_manifest(output, build.entries);
    }
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {}", error.what()));
    return static_cast<int>(error.code());
  }
  std::uintmax_t bytes = 0;
  double saving = 0;
  for (const auto& entry : build.entries) {
    bytes += entry.identity.size;
    saving += entry.estimated_saving;
  }
  console.line(fmt::format(
      "Planned {} files, {}, estimated saving {}{}{} -> {}", build.entries.size(),
      human_size(bytes), human_size(static_cast<std::uintmax_t>(std::max(saving, 0.0))),
      threshold ? fmt::format("; {} below --min-gain {} left out", build.below_threshold,
                              check::describe(*threshold))
                : std::string(),
      build.failed.empty() ? std::string() : fmt::format("; {} failed", build.failed.size()),
      output));
  if (build.failed.empty()) return 0;
  // One file given and it failed: its own code, as for the other commands.
  if (build.failed.size() == 1 && build.entries.empty() && build.below_threshold == 0) {
    return build.failed[0].exit_code;
  }
  return static_cast<int>(ExitCode::some_failed);
}

int run_results(int argc, char** argv) {
  CLI::App app;
  app.name("hyperdefrag results");
  app.description(
      "hyperdefrag results: merge the per-file results that runs with --results-dir\n"
      "wrote (on any number of machines) into one summary: files done, skipped and\n"
      "failed, with their exit codes, and the bytes saved. Exit code 0 if no file\n"
      "failed, 10 if one did (or a file there is not a result), 3 if DIR cannot be read.\n");
  std::string dir;
  bool json = false;
  app.add_option("dir", dir, "the results directory")->required()->type_name("DIR");
  app.add_flag("--json", json, "print the summary and every result as one JSON document");
  app.footer(
      "Examples:\n"
      "  hyperdefrag results /data/results\n"
      "  hyperdefrag results --json /data/results | jq .failed_by_exit_code");
  if (const auto code = parse(app, argc, argv)) return *code;
  report::Console console(report::Verbosity::normal, !json);
  try {
    const auto merged = batch::results::merge(dir);
    if (json) {
      console.data(batch::results::summary_json(dir, merged).dump(2) + "\n");
    } else {
      for (const auto& line : batch::results::summary_lines(dir, merged)) console.line(line);
    }
    return batch::results::exit_code(merged);
  } catch (const Error& error) {
    console.error(fmt::format("hyperdefrag: {}", error.what()));
    return static_cast<int>(error.code());
  }
}

}  // namespace

int run(int argc, char** argv) {
  sql::install_signal_handlers();
  if (argc > 1 && std::string_view(argv[1]) == "inspect") return run_inspect(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "check") return run_check(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "plan") return run_plan(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "results") return run_results(argc - 1, argv + 1);
  return run_defrag(argc, argv);
}

}  // namespace hyperdefrag::cli
