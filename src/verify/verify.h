// Proving a copy equal to its source, inside the engine.
//
// Catalogs: the same schemas in the same order, the same tables in the same
// order, each column's name, type, nullability, collation, default and
// description, each assumed constraint, and the expected format version.
//
// Rows: for each table, one query computes both row counts and the number of
// rows of the source that EXCEPT ALL does not find in the copy. EXCEPT ALL is
// multiset difference (duplicates count, NULLs compare equal), so if the
// copy has as many rows as the source and no source row is missing from it,
// the two hold exactly the same multiset of rows; the reverse difference
// would add nothing. docs/ENGINE.md has its cost.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "sql/connection.h"

namespace hyperdefrag::verify {

struct Verdict {
  // One line per difference found, naming the table (or "catalog").
  std::vector<std::string> differences;
  bool equal() const { return differences.empty(); }
};

// Compares the catalogs of two attached databases. `expected_version` is the
// version the copy should have (the source's unless a target was asked for).
Verdict compare_catalogs(const catalog::Catalog& source, const catalog::Catalog& copy,
                         int expected_version);

enum class RowCheck {
  counts,  // every table has as many rows in the copy as in the source
  exact,   // ... and the same multiset of rows (EXCEPT ALL)
};

// Compares the rows of every table of `source` with the same table in the
// database attached as `copy_alias`. Stops at the first `max_differences`.
Verdict compare_rows(sql::Connection& connection, const catalog::Catalog& source,
                     const std::string& source_alias, const std::string& copy_alias,
                     RowCheck check = RowCheck::exact, std::size_t max_differences = 20);

// Checks the database file `copy` against the input attached as
// `source_alias` (whose catalog is `source` and whose path is `input`): the
// catalogs always, and the rows as `check` says. The copy is attached
// read-only for the check and detached again, so this sees the bytes on disk.
// Throws hyperdefrag::Error (ExitCode::verify_failed) naming the input and the
// first difference.
void verify_copy(sql::Connection& connection, const catalog::Catalog& source,
                 const std::string& source_alias, const std::filesystem::path& input,
                 const std::filesystem::path& copy, int expected_version, RowCheck check);

}  // namespace hyperdefrag::verify
