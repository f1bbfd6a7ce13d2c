// Free disk space, checked before a run starts writing.
#pragma once

#include <cstdint>
#include <filesystem>

namespace hyperdefrag {

// Bytes an unprivileged writer can still use in the file system holding
// `dir` (statvfs f_bavail * f_frsize). Throws hyperdefrag::Error naming it.
std::uintmax_t free_bytes(const std::filesystem::path& dir);

// Throws hyperdefrag::Error (ExitCode::no_space) naming `file` if the file
// system of `dir` has fewer than `needed` bytes free.
void require_free_space(const std::filesystem::path& dir, std::uintmax_t needed,
                        const std::filesystem::path& file);

}  // namespace hyperdefrag
