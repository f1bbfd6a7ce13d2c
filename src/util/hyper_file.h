// Whether a path looks like a .hyper file, checked without the engine.
#pragma once

#include <filesystem>

namespace hyperdefrag {

// Throws hyperdefrag::Error (bad input) naming the file and the cause unless
// it is a readable, non-empty regular file starting with Hyper's magic bytes.
void check_hyper_file(const std::filesystem::path& path);

}  // namespace hyperdefrag
