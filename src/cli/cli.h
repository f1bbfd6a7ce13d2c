// The hyperdefrag command: parses options, calls the library, prints.
#pragma once

namespace hyperdefrag::cli {

// Returns the process exit code (see util/error.h).
int run(int argc, char** argv);

}  // namespace hyperdefrag::cli
