// Facts about an attached input that only progress displays need.
#pragma once

#include <string>

#include "sql/connection.h"

namespace hyperdefrag::defrag_observe {

// The row versions the engine has ever stored in the user tables of the
// database attached as `alias`: the sum of pg_class.reltuples, which counts
// inserted and updated rows and is not lowered by deletes. Rows (COUNT(*))
// divided by this is the live share of the file (docs/USAGE.md, "Progress").
long long row_versions(sql::Connection& connection, const std::string& alias);

}  // namespace hyperdefrag::defrag_observe
