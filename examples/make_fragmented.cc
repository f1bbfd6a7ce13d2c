// hyperdefrag-make-fragmented: writes a deterministic fragmented .hyper file
// through the real engine, for the README's example and the benchmark.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <optional>

#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "fixture/fragmented.h"
#include "util/error.h"
#include "util/files.h"

int main(int argc, char** argv) {
  CLI::App app{"Write a fragmented .hyper file, as incremental refreshes leave one."};
  std::string path;
  hyperdefrag::fixture::FragmentedSpec spec;
  std::optional<int> version;
  app.add_option("output", path, "the .hyper file to create (must not exist)")->required();
  app.add_option("--rows", spec.rows_per_table, "rows inserted per table before fragmenting");
  app.add_option("--tables", spec.tables, "number of tables");
  app.add_option("--version", version, "file-format version (default: the engine's)");
  std::string layout = "extract";
  app.add_option("--layout", layout,
                 "extract: six mixed columns; wide: one 24-column shape; mixed: tables cycling "
                 "through four shapes")
      ->check(CLI::IsMember({"extract", "wide", "mixed"}));
  CLI11_PARSE(app, argc, argv);
  spec.version = version;
  spec.layout = layout == "wide"    ? hyperdefrag::fixture::Layout::wide
                : layout == "mixed" ? hyperdefrag::fixture::Layout::mixed
                                    : hyperdefrag::fixture::Layout::extract;
  try {
    const auto hyperd = hyperdefrag::engine::locate_hyperd(std::nullopt);
    hyperdefrag::engine::HyperProcess engine({hyperd.path, {}, std::chrono::seconds(60)});
    hyperdefrag::sql::Connection connection(engine.endpoint());
    hyperdefrag::fixture::make_fragmented_file(connection, path, spec);
  } catch (const std::exception& error) {
    fmt::print(stderr, "hyperdefrag-make-fragmented: {}: {}\n", path, error.what());
    return 1;
  }
  fmt::print("Made {} ({})\n", path, hyperdefrag::human_size(hyperdefrag::file_size(path)));
  return 0;
}
