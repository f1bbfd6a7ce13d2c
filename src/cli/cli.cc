#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <regex>

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
  if (report.verified) {
    fmt::print("Verified: the copy holds exactly the input's catalog and rows ({:.2f} s, {:.2f}x the "
               "copy's time)\n",
               report.verify_seconds,
               report.copy_seconds > 0 ? report.verify_seconds / report.copy_seconds : 0.0);
  }
}

}  // namespace

int run(int argc, char** argv) {
  sql::install_signal_handlers();

  CLI::App app{
      "hyperdefrag: write a compacted copy of a Tableau Hyper (.hyper) file.\n"
      "Every schema and table is recreated and its rows copied inside the engine;\n"
      "the input is opened read-only and never changed."};
  app.name("hyperdefrag");
  DefragOptions options;
  std::string input;
  std::string output;
  std::string hyperd;
  app.add_option("input", input, "the .hyper file to defragment")->required();
  app.add_option("-o,--output-hyper-file-path", output,
                 "where to write the compacted copy (default: <stem>.new.hyper beside the input)");
  app.add_flag("-f,--force", options.force, "replace the output file if it exists");
  app.add_flag("--verify", options.verify,
               "prove inside the engine that the copy holds exactly the input's rows and catalog; "
               "on a mismatch the copy is not kept");
  app.add_option("--table-jobs", options.jobs,
                 "copy this many tables at once, each on its own connection to the engine")
      ->check(CLI::Range(1, 32));
  app.add_option("--sort", options.sort,
                 "write each table's rows in this order: auto (columns whose values repeat, "
                 "fewest distinct first) or a comma-separated column list; off by default "
                 "(docs/BENCHMARKS.md: it costs more time than it saves space)");
  std::string memory_limit;
  app.add_option("--memory-limit", memory_limit,
                 "the engine's memory limit, as hyperd's memory_limit setting: e.g. 2g, 512m, 40%")
      ->check(CLI::Validator(
          [](const std::string& value) {
            static const std::regex form(R"(^[0-9]+(\.[0-9]+)?[kmgtKMGT%]$)");
            return std::regex_match(value, form)
                       ? std::string()
                       : std::string("a number followed by k, m, g, t (KiB..TiB) or %");
          },
          "SIZE"));
  std::optional<int> target_version;
  app.add_option("--target-version", target_version,
                 "write this file-format version instead of the input's (refused, before anything "
                 "is written, if a column needs a newer one)")
      ->check(CLI::NonNegativeNumber);
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
      "  hyperdefrag -o Newfile.hyper Oldfile.hyper\n\n"
      "Exit codes: 0 success, 2 bad options, 3 bad input, 4 bad output path,\n"
      "5 engine problem, 6 copy failed, 7 verification failed, 11 target version cannot\n"
      "hold the data, 130/143 interrupted (SIGINT/SIGTERM).");

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

  options.input = input;
  if (!output.empty()) options.output = output;
  if (!hyperd.empty()) options.hyperd = hyperd;
  options.target_version = target_version;
  if (!memory_limit.empty()) options.memory_limit = memory_limit;

  try {
    const auto report = defragment(options, [](const TableResult& table) {
      fmt::print("Successfully converted table {} ({} rows, {:.2f} s)\n",
                 sql::quote_qualified({"input_database", table.schema, table.name}), table.rows,
                 table.seconds);
      std::fflush(stdout);
    });
    print_report(report);
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
