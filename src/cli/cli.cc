#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <optional>

#include "defrag/defrag.h"
#include "engine/locate.h"
#include "sql/interrupt.h"
#include "sql/quote.h"
#include "util/error.h"
#include "util/files.h"

namespace hyperdefrag::cli {
namespace {

std::string with_commas(std::uintmax_t number) {
  std::string digits = std::to_string(number);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

// Engine messages can span lines; an error is reported on one.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void print_report(const DefragReport& report) {
  fmt::print("Successfully converted {} into {}\n", report.input.string(), report.output.string());
  const auto saved = static_cast<long double>(report.size_before) - report.size_after;
  const double percent = report.size_before == 0 ? 0.0 : static_cast<double>(100.0L * saved / report.size_before);
  fmt::print("Size: {} bytes ({}) -> {} bytes ({}), {} {} bytes ({:.1f}%)\n",
             with_commas(report.size_before), human_size(report.size_before),
             with_commas(report.size_after), human_size(report.size_after),
             saved >= 0 ? "saved" : "grew by",
             with_commas(static_cast<std::uintmax_t>(saved >= 0 ? saved : -saved)),
             saved >= 0 ? percent : -percent);
  fmt::print("Format version: {} -> {}; {} schemas, {} tables in {:.2f} s\n", report.version_before,
             report.version_after, report.schemas, report.tables.size(), report.seconds);
}

}  // namespace

int run(int argc, char** argv) {
  sql::install_signal_handlers();

  CLI::App app{
      "hyperdefrag: write a compacted copy of a Tableau Hyper (.hyper) file.\n"
      "Every schema and table is recreated and its rows copied inside the engine;\n"
      "the input is opened read-only; with --in-place it is replaced atomically by the\n"
      "verified copy."};
  app.name("hyperdefrag");
  DefragOptions options;
  std::string input;
  std::string output;
  std::string hyperd;
  std::string backup;
  app.add_option("input", input, "the .hyper file to defragment");
  app.add_option("-o,--output-hyper-file-path", output,
                 "where to write the compacted copy (default: <stem>.new.hyper beside the input)");
  app.add_flag("-f,--force", options.force,
               "replace the output (or backup) file if it exists; skip the free-space check");
  app.add_flag("--in-place", options.in_place,
               "replace the input with its compacted copy, atomically (see docs/SAFETY.md)");
  auto* backup_option =
      app.add_option("--backup", backup,
                     "with --in-place: keep the original as PATH (default: <stem>.bak.hyper)")
          ->expected(0, 1)
          ->type_name("[PATH]");
  app.add_option("--hyperd", hyperd,
                 "the hyperd binary to use (default: $HYPERD_PATH, the project's .venv, "
                 "or tableauhyperapi of python3)");
  app.set_version_flag("--version", [] {
    std::string engine = "hyperd: not found";
    try {
      const auto location = engine::locate_hyperd(std::nullopt);
      engine = fmt::format("hyperd: {} ({})", engine::hyperd_version(location.path),
                           location.path.string());
    } catch (const Error&) {
    }
    return fmt::format("hyperdefrag {}\n{}", HYPERDEFRAG_VERSION, engine);
  });
  app.footer(
      "Examples:\n"
      "  hyperdefrag Oldfile.hyper                 writes Oldfile.new.hyper beside it\n"
      "  hyperdefrag -o Newfile.hyper Oldfile.hyper\n"
      "  hyperdefrag --in-place --backup Oldfile.hyper\n"
      "                                            replaces it, keeps Oldfile.bak.hyper\n\n"
      "Exit codes: 0 success, 2 bad options, 3 bad input, 4 bad output path,\n"
      "5 engine problem, 6 copy failed, 7 copy does not match the input,\n"
      "8 not enough disk space, 9 file in use by another program or run,\n"
      "129/130/143 interrupted (SIGHUP/SIGINT/SIGTERM).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "hyperdefrag: {} (see --help)\n", e.what());
    return static_cast<int>(ExitCode::usage);
  }

  // "--backup Oldfile.hyper" reads the input as the backup path: take it back.
  if (input.empty() && backup_option->count() > 0 && !backup.empty()) std::swap(input, backup);
  if (input.empty()) {
    fmt::print(stderr, "hyperdefrag: input is required (see --help)\n");
    return static_cast<int>(ExitCode::usage);
  }
  options.input = input;
  if (backup_option->count() > 0) options.backup = backup;  // empty: the default path
  if (!output.empty()) options.output = output;
  if (!hyperd.empty()) options.hyperd = hyperd;

  try {
    const auto report = defragment(options, [](const TableResult& table) {
      fmt::print("Successfully converted table {} ({} rows, {:.2f} s)\n",
                 sql::quote_qualified({"input_database", table.schema, table.name}), table.rows,
                 table.seconds);
      std::fflush(stdout);
    });
    for (const auto& removed : report.removed_temporaries) {
      fmt::print(stderr, "hyperdefrag: removed {}, left by an earlier run that was killed\n",
                 removed.string());
    }
    print_report(report);
    if (report.backup) fmt::print("Original kept as {}\n", report.backup->string());
    return 0;
  } catch (const Error& error) {
    fmt::print(stderr, "hyperdefrag: {}\n", one_line(error.what()));
    return static_cast<int>(error.code());
  } catch (const std::exception& error) {
    fmt::print(stderr, "hyperdefrag: {}: {}\n", input, one_line(error.what()));
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace hyperdefrag::cli
