// `hyperdefrag inspect`: what a .hyper file holds, read without changing it
// (attached read-only). Printing lives here too, apart from reading, so that
// a new catalog field needs one line in describe_column / column_json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "engine/hyper_process.h"

namespace hyperdefrag::inspect {

// The JSON shape's version (docs/USAGE.md, "inspect --json").
constexpr int kInspectSchemaVersion = 1;

struct TableInfo {
  catalog::Table table;
  long long rows = 0;
};

struct FileInfo {
  std::filesystem::path path;  // absolute
  std::string entry;           // inside a package: the archive entry's name; else empty
  std::uintmax_t size = 0;
  catalog::Catalog catalog;       // schemas and tables as read
  std::vector<TableInfo> tables;  // catalog.tables with row counts, in order
};

// Reads a .hyper file through `engine`. Throws hyperdefrag::Error naming the
// file: bad input (exit 3) when it is not a readable Hyper file or the engine
// cannot read its content, busy (9) when another program has it open for
// writing, engine (5) when the engine is lost or out of resources.
FileInfo inspect_file(engine::HyperProcess& engine, const std::filesystem::path& path);

// The compact human layout (lines without line breaks: a column description's
// line breaks and tabs are shown as \n, \r and \t; the JSON keeps them as they are).
std::vector<std::string> human_lines(const FileInfo& info);

// One JSON document for the file.
nlohmann::ordered_json to_json(const FileInfo& info);

}  // namespace hyperdefrag::inspect
