// Checking a finished copy before it is trusted.
#pragma once

#include <filesystem>
#include <string>

#include "catalog/catalog.h"
#include "sql/connection.h"

namespace hyperdefrag {

// Checks that the database file `copy` holds what the input attached as
// `source_alias` (whose catalog is `source`) holds: the same schemas, the
// same tables with the same columns (name, type, nullability, collation) in
// the same order, and the same number of rows in every table. The copy is
// attached read-only for the check and detached again, so this sees the bytes
// on disk. Throws hyperdefrag::Error (ExitCode::verify_failed) naming the
// input (whose path is `input`) and the first difference.
//
// This is the minimum checked before any swap; a full comparison of the rows
// (--verify) can replace the body.
void verify_copy(sql::Connection& connection, const catalog::Catalog& source,
                 const std::string& source_alias, const std::filesystem::path& input,
                 const std::filesystem::path& copy);

}  // namespace hyperdefrag
