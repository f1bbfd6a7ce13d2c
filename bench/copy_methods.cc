// hyperdefrag-copy-methods: measures, on one fragmented file, the output size
// and time of each way to copy a .hyper file inside the engine, and whether
// the copy keeps every column definition. docs/ENGINE.md keeps its table.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "catalog/catalog.h"
#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "fixture/fragmented.h"
#include "sql/quote.h"
#include "util/files.h"
#include "util/private_dir.h"

namespace {
namespace fs = std::filesystem;
using hyperdefrag::sql::Connection;
using hyperdefrag::sql::quote_identifier;
using hyperdefrag::sql::quote_qualified;

struct Method {
  std::string name;
  std::function<void(Connection&, const std::string& in, const std::string& out, int version)> run;
};

void attach(Connection& c, const std::string& path, const char* alias) {
  c.exec(fmt::format("ATTACH DATABASE {} AS {}", quote_identifier(path), quote_identifier(alias)));
}

void detach(Connection& c, const char* alias) {
  c.exec(fmt::format("DETACH DATABASE {}", quote_identifier(alias)));
}

// Copies every table with `copy(table)` after recreating schemas (and, if
// `create_tables`, tables from their definitions).
void per_table(Connection& c, const std::string& in, const std::string& out, int version,
               bool create_tables,
               const std::function<std::string(const hyperdefrag::catalog::Table&)>& copy) {
  attach(c, in, "src");
  const auto catalog = hyperdefrag::catalog::read_catalog(c, "src", in);
  c.exec(fmt::format("CREATE DATABASE {} WITH VERSION {}", quote_identifier(out), version));
  attach(c, out, "dst");
  for (const auto& schema : catalog.schemas)
    c.exec(hyperdefrag::catalog::create_schema_sql("dst", schema));
  for (const auto& table : catalog.tables) {
    if (create_tables) c.exec(hyperdefrag::catalog::create_table_sql("dst", table));
    c.exec(copy(table));
  }
  detach(c, "dst");
  detach(c, "src");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Compare the engine's ways to copy a fragmented .hyper file."};
  long long rows = 3'000'000;
  int tables = 1;
  std::optional<int> version;
  app.add_option("--rows", rows, "rows per table before fragmenting");
  app.add_option("--tables", tables, "number of tables");
  app.add_option("--version", version, "file-format version of the fragmented file");
  CLI11_PARSE(app, argc, argv);

  const auto hyperd = hyperdefrag::engine::locate_hyperd(std::nullopt);
  hyperdefrag::engine::HyperProcess engine({hyperd.path, {}, std::chrono::seconds(60)});
  Connection c(engine.endpoint());
  hyperdefrag::PrivateDir dir(hyperdefrag::temp_base(), "hyperdefrag-methods-");
  const auto input = (dir.path() / "fragmented.hyper").string();
  hyperdefrag::fixture::make_fragmented_file(c, input, {rows, tables, version});
  attach(c, input, "src");
  const int input_version = hyperdefrag::catalog::read_format_version(c, input);
  detach(c, "src");
  const int other_version = input_version == 4 ? 2 : 4;

  const std::vector<Method> methods = {
      {"CREATE TABLE + INSERT ... SELECT (hyperdefrag, the sample)",
       [](Connection& c, const std::string& in, const std::string& out, int v) {
         per_table(c, in, out, v, true, [](const auto& t) {
           return fmt::format("INSERT INTO {} SELECT * FROM {}",
                              quote_qualified({"dst", t.schema, t.name}),
                              quote_qualified({"src", t.schema, t.name}));
         });
       }},
      {"CREATE TABLE ... AS SELECT",
       [](Connection& c, const std::string& in, const std::string& out, int v) {
         per_table(c, in, out, v, false, [](const auto& t) {
           return fmt::format("CREATE TABLE {} AS SELECT * FROM {}",
                              quote_qualified({"dst", t.schema, t.name}),
                              quote_qualified({"src", t.schema, t.name}));
         });
       }},
      {"CREATE DATABASE ... FROM",
       [](Connection& c, const std::string& in, const std::string& out, int) {
         c.exec(fmt::format("CREATE DATABASE {} FROM {}", quote_identifier(out),
                            quote_identifier(in)));
       }},
      {fmt::format("CREATE DATABASE ... WITH VERSION {} FROM (same version)", input_version),
       [](Connection& c, const std::string& in, const std::string& out, int v) {
         c.exec(fmt::format("CREATE DATABASE {} WITH VERSION {} FROM {}", quote_identifier(out), v,
                            quote_identifier(in)));
       }},
      {fmt::format("CREATE DATABASE ... WITH VERSION {} FROM (other version)", other_version),
       [other_version](Connection& c, const std::string& in, const std::string& out, int) {
         c.exec(fmt::format("CREATE DATABASE {} WITH VERSION {} FROM {}", quote_identifier(out),
                            other_version, quote_identifier(in)));
       }},
  };

  const auto input_size = hyperdefrag::file_size(input);
  fmt::print("input: {} tables x {} rows before fragmenting, format version {}, {} bytes\n\n",
             tables, rows, input_version, input_size);
  fmt::print("| method | output bytes | output / input | seconds | NOT NULL kept |\n");
  fmt::print("| --- | ---: | ---: | ---: | --- |\n");
  int n = 0;
  for (const auto& method : methods) {
    const auto out = (dir.path() / fmt::format("out{}.hyper", n++)).string();
    const auto started = std::chrono::steady_clock::now();
    method.run(c, input, out, input_version);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    attach(c, out, "chk");
    const auto copy = hyperdefrag::catalog::read_catalog(c, "chk", out);
    detach(c, "chk");
    const bool not_null = !copy.tables.empty() && copy.tables[0].columns[0].not_null;
    const auto size = hyperdefrag::file_size(out);
    fmt::print("| {} | {} | {:.2f} | {:.2f} | {} |\n", method.name, size,
               static_cast<double>(size) / static_cast<double>(input_size), seconds,
               not_null ? "yes" : "no");
  }
  return 0;
}
