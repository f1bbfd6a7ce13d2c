#include "util/free_space.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/files.h"

namespace hyperdefrag {

std::uintmax_t free_bytes(const std::filesystem::path& dir) {
  struct statvfs info {};
  if (statvfs(dir.c_str(), &info) != 0) {
    throw Error(ExitCode::bad_output, dir,
                fmt::format("cannot read its free space: {}", std::strerror(errno)));
  }
  return static_cast<std::uintmax_t>(info.f_bavail) * info.f_frsize;
}

void require_free_space(const std::filesystem::path& dir, std::uintmax_t needed,
                        const std::filesystem::path& file) {
  const auto available = free_bytes(dir);
  if (available >= needed) return;
  throw Error(ExitCode::no_space, file,
              fmt::format("not enough free disk space in {}: the run needs about {} there and {} "
                          "is free; free some space or use --force to try anyway",
                          dir.string(), human_size(needed), human_size(available)));
}

}  // namespace hyperdefrag
