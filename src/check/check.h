// `hyperdefrag check`: how bloated a .hyper file is and what compacting it
// would give back, read without changing it (the file is attached
// read-only; the estimate writes only scratch databases in a private
// temporary directory). With `deep`, every value of every column is also
// decoded through the engine, as a query on it would, and the values the
// engine cannot read are reported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "check/estimate.h"
#include "engine/hyper_process.h"
#include "sql/connection.h"
#include "util/error.h"

namespace hyperdefrag::check {

// The JSON shape's version (docs/USAGE.md, "check --json").
constexpr int kCheckSchemaVersion = 1;

// Values of one column that the engine could not decode.
struct Unreadable {
  std::string schema;
  std::string table;
  std::string column;
  long long count = 0;
  bool at_least = false;  // counting stopped at kMaxCountedUnreadable
  std::string first_message;
};

// Counting unreadable values of one column stops here (the count is then a lower bound).
constexpr long long kMaxCountedUnreadable = 64;

struct TableCheck {
  catalog::Table table;
  long long rows = 0;          // live rows (COUNT(*))
  long long row_versions = 0;  // rows the engine stores, deleted ones too (pg_class.reltuples)
};

// What a database attached as `alias` holds: its catalog and each table's
// live rows and row versions, in the catalog's order.
struct Counted {
  catalog::Catalog catalog;
  std::vector<TableCheck> tables;

  long long rows() const;
  long long row_versions() const;
  std::vector<long long> rows_by_table() const;
  std::vector<long long> row_versions_by_table() const;
};

// Reads them (`file` names the database in errors). Throws sql::SqlError.
Counted count_tables(sql::Connection& connection, const std::string& alias,
                     const std::filesystem::path& file);

struct FileCheck {
  std::filesystem::path path;  // absolute
  std::string entry;           // inside a package: the archive entry's name; else empty
  std::uintmax_t size = 0;
  catalog::Catalog catalog;
  std::vector<TableCheck> tables;  // in the catalog's order
  FileEstimate estimate;           // in the file's own format version
  // For a version-0 file: the size as version 2, which compresses blocks
  // with deleted rows (docs: version 0 cannot).
  std::optional<FileEstimate> as_version_2;
  bool deep = false;                   // values were decoded
  std::vector<Unreadable> unreadable;  // with deep: the columns with unreadable values
  double seconds = 0;

  long long rows() const;
  long long row_versions() const;
};

struct CheckOptions {
  bool deep = false;
};

// The error about `file` when the engine refused one of check's statements
// (on the file, or filling a scratch database): the engine lost (exit code
// 5), the disk under the scratch databases full (8), the file damaged (3), or
// any other refusal (6), with the engine's message.
// A lost connection is a full disk when the engine stopped because a scratch
// database could not grow (engine::stopped_by_full_disk): call it while the
// scratch databases still exist.
Error refusal(const sql::SqlError& error, const std::filesystem::path& file,
              engine::HyperProcess& engine);

// Checks a .hyper file through `engine`. Throws hyperdefrag::Error naming the
// file: bad input (exit code 3) when it is not a readable Hyper file, and
// refusal()'s when the engine refuses a statement.
FileCheck check_file(engine::HyperProcess& engine, const std::filesystem::path& path,
                     const CheckOptions& options);

// The human report of one file; `verbose` adds a line per table.
std::vector<std::string> human_lines(const FileCheck& check, bool verbose);

// Which Tableau releases open format `version`: {"description": ...,
// "oldest_releases": ["Desktop 2020.4.15", ...]} (check/tableau_releases.h).
nlohmann::ordered_json releases_json(int version);

// One JSON object for the file.
nlohmann::ordered_json to_json(const FileCheck& check);

}  // namespace hyperdefrag::check
