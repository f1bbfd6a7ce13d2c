#include "util/private_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "util/error.h"
#include "util/stale_temps.h"

namespace hyperdefrag {

PrivateDir::PrivateDir(const std::filesystem::path& base, std::string_view prefix) {
  remove_stale_private_dirs(base);
  std::string pattern = (base / fmt::format("{}{}-XXXXXX", prefix, getpid())).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    const int saved = errno;
    // A full disk is exit 8; any other refusal is a place hyperdefrag cannot
    // write to, like an output directory (exit 4).
    const bool full = saved == ENOSPC || saved == EDQUOT;
    throw Error(full ? ExitCode::no_space : ExitCode::bad_output,
                fmt::format("cannot create a temporary directory in {}: {}; set TMPDIR to a "
                            "writable directory{}",
                            base.string(), std::strerror(saved), full ? " with free space" : ""));
  }
  path_ = pattern;
  // mkdtemp already uses 0700; say so explicitly in case of an odd umask.
  chmod(path_.c_str(), S_IRWXU);
  // Shared: only the sweep of a later run takes it exclusively. A directory
  // that cannot be locked is still private; it is only left to its pid.
  lock_ = Fd(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock_.valid()) flock(lock_.get(), LOCK_SH | LOCK_NB);
}

void PrivateDir::keep() {
  keep_ = true;
  std::ofstream marker(path_ / kKeptMarker);
}

PrivateDir::~PrivateDir() {
  if (keep_ || path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path temp_base() {
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && tmpdir[0] != '\0') {
    std::error_code error;
    if (std::filesystem::is_directory(tmpdir, error)) return tmpdir;
  }
  return "/tmp";
}

}  // namespace hyperdefrag
