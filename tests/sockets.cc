#include "sockets.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hyperdefrag::testing {
namespace fs = std::filesystem;
namespace {

// A socket address for a path or an "@abstract" name, and its length.
socklen_t unix_address(const std::string& name, sockaddr_un& address) {
  address = {};
  address.sun_family = AF_UNIX;
  const std::size_t size = std::min(name.size(), sizeof address.sun_path - 1);
  std::memcpy(address.sun_path, name.data(), size);
  if (!name.empty() && name[0] == '@') {
    address.sun_path[0] = '\0';  // abstract: no terminating NUL, exact length
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + size);
  }
  return sizeof address;
}

// Runs in a forked child: async-signal-safe calls only.
int try_connect(const sockaddr_un& address, socklen_t length) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return errno;
  const int result = connect(fd, reinterpret_cast<const sockaddr*>(&address), length);
  const int error = result == 0 ? 0 : errno;
  close(fd);
  return error;
}

}  // namespace

std::set<unsigned long> socket_inodes(pid_t pid) {
  std::set<unsigned long> inodes;
  std::error_code error;
  for (fs::directory_iterator it(fmt::format("/proc/{}/fd", pid), error), end; !error && it != end;
       it.increment(error)) {
    std::error_code link_error;
    const auto target = fs::read_symlink(it->path(), link_error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(std::stoul(target.substr(8)));
  }
  return inodes;
}

std::vector<pid_t> with_descendants(pid_t pid) {
  std::vector<pid_t> found = {pid};
  for (std::size_t i = 0; i < found.size(); ++i) {
    // Every thread's children, as /proc/<pid>/task/<tid>/children lists them.
    std::error_code error;
    for (fs::directory_iterator it(fmt::format("/proc/{}/task", found[i]), error), end;
         !error && it != end; it.increment(error)) {
      std::ifstream children(it->path() / "children");
      for (pid_t child; children >> child;) found.push_back(child);
    }
  }
  return found;
}

std::vector<std::string> inet_sockets(const std::set<unsigned long>& inodes) {
  std::vector<std::string> found;
  for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream in(fmt::format("/proc/net/{}", table));
    std::string line;
    std::getline(in, line);  // the heading
    while (std::getline(in, line)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
      std::istringstream fields(line);
      std::string field;
      unsigned long inode = 0;
      for (int i = 0; i < 10 && fields >> field; ++i) {
        if (i == 9) inode = std::stoul(field);
      }
      if (inodes.count(inode) != 0) found.push_back(fmt::format("{}: {}", table, line));
    }
  }
  return found;
}

std::set<std::string> unix_socket_names(const std::set<unsigned long>& inodes) {
  std::set<std::string> names;
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::getline(in, line);  // Num RefCount Protocol Flags Type St Inode Path
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string num, refs, protocol, flags, type, state, path;
    unsigned long inode = 0;
    fields >> num >> refs >> protocol >> flags >> type >> state >> inode;
    if (!(fields >> path) || inodes.count(inode) == 0) continue;
    names.insert(path);
  }
  return names;
}

std::optional<int> connect_as_nobody(const std::string& name) {
  const passwd* nobody = getpwnam("nobody");
  if (geteuid() != 0 || nobody == nullptr) return std::nullopt;
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  sockaddr_un address{};
  const socklen_t length = unix_address(name, address);
  const pid_t child = fork();
  if (child < 0) return std::nullopt;
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(255);
    _exit(try_connect(address, length));
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255) return std::nullopt;
  return WEXITSTATUS(status);
}

int connect_as_self(const std::string& name) {
  sockaddr_un address{};
  const socklen_t length = unix_address(name, address);
  return try_connect(address, length);
}

}  // namespace hyperdefrag::testing
