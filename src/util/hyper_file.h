// Whether a path, or the first bytes of a stream, look like a .hyper file,
// checked without the engine.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace hyperdefrag {

// How many leading bytes has_hyper_header() needs to decide.
inline constexpr std::size_t kHyperHeaderSize = 5;

// True if `first_bytes` (the start of a file or stream, at least
// kHyperHeaderSize bytes to be true) begins with Hyper's file header.
bool has_hyper_header(std::string_view first_bytes);

// The cause given when a file or stream fails has_hyper_header().
inline constexpr std::string_view kNotHyperCause =
    "is not a Hyper database (it does not start with Hyper's file header)";

// Throws hyperdefrag::Error (bad input) naming the file and the cause unless
// it is a readable, non-empty regular file starting with Hyper's magic bytes.
void check_hyper_file(const std::filesystem::path& path);

}  // namespace hyperdefrag
