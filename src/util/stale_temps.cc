#include "util/stale_temps.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/fd.h"
#include "util/files.h"

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

}  // namespace

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
