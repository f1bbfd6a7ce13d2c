#include "util/lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>

#include "util/error.h"

namespace hyperdefrag {
namespace {

[[noreturn]] void held_by_other_program(const std::filesystem::path& path, Access access,
                                        bool writer) {
  const char* what =
      writer ? "another program has it open for writing" : "another program has it open";
  throw Error(
      ExitCode::busy, path,
      fmt::format("{} (a Hyper process holds its lock, e.g. Tableau or a Hyper API "
                  "program){}; close it there and try again",
                  what,
                  access == Access::replace && !writer ? ", so it cannot be replaced now" : ""));
}

}  // namespace

RunLock::RunLock(const std::filesystem::path& path) {
  std::string key;
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) {
    key = fmt::format("hyperdefrag/file/{}:{}", info.st_dev, info.st_ino);
  } else {
    std::error_code error;
    auto dir =
        std::filesystem::weakly_canonical(std::filesystem::absolute(path).parent_path(), error);
    const auto full = (dir / path.filename()).string();
    key = fmt::format("hyperdefrag/path/{:016x}", std::hash<std::string>{}(full));
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // An abstract address starts with a NUL byte and is not a file.
  std::memcpy(address.sun_path + 1, key.data(), key.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + key.size());
  socket_ = Fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_.valid()) {
    // Out of descriptors or memory: like a held lock, a reason to try again later.
    throw Error(ExitCode::busy, path,
                fmt::format("cannot make its run lock: {}; try again later", std::strerror(errno)));
  }
  if (bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
    const int saved = errno;
    socket_.reset();
    if (saved == EADDRINUSE) {
      throw Error(ExitCode::busy, path,
                  "another hyperdefrag run is working on this file; try again when it has "
                  "finished");
    }
    throw Error(ExitCode::busy, path,
                fmt::format("cannot take its run lock: {}; try again later", std::strerror(saved)));
  }
}

FileLock::FileLock(const std::filesystem::path& path) : path_(path) {
  fd_ = Fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid()) {
    const int saved = errno;
    // Out of descriptors or memory is this process's state, not the file's.
    const bool resources = saved == EMFILE || saved == ENFILE || saved == ENOMEM;
    throw Error(resources ? ExitCode::busy : ExitCode::bad_input, path,
                fmt::format("cannot be opened: {}{}", std::strerror(saved),
                            resources ? "; try again later" : ""));
  }
}

void FileLock::probe_flock(Access access) const {
  // A shared flock succeeds unless someone writes; an exclusive one unless
  // anybody has the file attached.
  if (flock(fd_.get(), (access == Access::read ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) {
    flock(fd_.get(), LOCK_UN);
    return;
  }
  // A file system where flock cannot be taken this way (NFS emulates an
  // exclusive flock with a write lock, refused on a read-only descriptor):
  // nothing can be told, and hyperd's own lock still guards its attach.
  if (errno != EWOULDBLOCK) return;
  // Tell a writer from readers: a shared probe fails only against a writer.
  bool writer = true;
  if (access == Access::replace && flock(fd_.get(), LOCK_SH | LOCK_NB) == 0) {
    flock(fd_.get(), LOCK_UN);
    writer = false;
  }
  held_by_other_program(path_, access, writer);
}

void FileLock::hold_exclusive_flock() {
  if (flocked_) return;
  if (flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return;  // cannot be taken here (see probe_flock)
    probe_flock(Access::replace);      // throws with the reason
    throw Error(ExitCode::busy, path_, "another program has it open");
  }
  flocked_ = true;
}

void FileLock::release_flock() {
  if (!flocked_) return;
  flock(fd_.get(), LOCK_UN);
  flocked_ = false;
}

}  // namespace hyperdefrag
