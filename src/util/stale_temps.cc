#include "util/stale_temps.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <regex>
#include <system_error>

#include "util/fd.h"
#include "util/files.h"
#include "util/private_dir.h"

namespace hyperdefrag {
namespace fs = std::filesystem;

namespace {

// kill(pid, 0) tells whether a process exists without touching it; EPERM
// means it exists but belongs to someone else.
bool process_exists(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

// A hyperd that has the file attached holds its flock. This catches a live
// run whose pid is not visible here (another pid namespace on a shared
// volume) while its engine writes the file.
bool attached_somewhere(const fs::path& path) {
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return false;
  // Closing the descriptor also releases the probe's own lock.
  return flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

// A live PrivateDir holds a shared flock on its directory.
bool held_by_a_live_run(const fs::path& dir) {
  const Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return true;  // cannot tell: leave it
  return flock(fd.get(), LOCK_EX | LOCK_NB) != 0;
}

}  // namespace

std::optional<pid_t> private_dir_owner(const std::string& filename) {
  static const std::regex pattern("hyperdefrag-[a-z]+-([0-9]{1,9})-[A-Za-z0-9]{6}");
  std::smatch match;
  if (!std::regex_match(filename, match, pattern)) return std::nullopt;
  return static_cast<pid_t>(std::stol(match[1].str()));
}

StaleTemporaries remove_stale_private_dirs(const fs::path& base) {
  StaleTemporaries result;
  std::error_code error;
  for (fs::directory_iterator it(base, error), end; !error && it != end; it.increment(error)) {
    const auto owner = private_dir_owner(it->path().filename().string());
    if (!owner || *owner == getpid() || process_exists(*owner)) continue;
    struct stat info {};
    if (lstat(it->path().c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
        info.st_uid != geteuid()) {
      continue;
    }
    std::error_code marker_error;
    if (fs::exists(it->path() / kKeptMarker, marker_error) || marker_error) continue;
    if (held_by_a_live_run(it->path())) continue;
    std::error_code remove_error;
    fs::remove_all(it->path(), remove_error);
    if (remove_error) {
      result.kept.emplace_back(it->path(), remove_error.message());
    } else {
      result.removed.push_back(it->path());
    }
  }
  return result;
}

StaleTemporaries remove_stale_temporaries(const fs::path& dir) {
  StaleTemporaries result;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const auto owner = temp_file_owner(it->path().filename().string());
    if (!owner || *owner == getpid() || process_exists(*owner)) continue;
    std::error_code type_error;
    if (!it->is_regular_file(type_error) || it->is_symlink(type_error)) continue;
    if (attached_somewhere(it->path())) continue;
    std::error_code remove_error;
    if (fs::remove(it->path(), remove_error)) {
      result.removed.push_back(it->path());
    } else if (remove_error) {
      result.kept.emplace_back(it->path(), remove_error.message());
    }
  }
  return result;
}

}  // namespace hyperdefrag
