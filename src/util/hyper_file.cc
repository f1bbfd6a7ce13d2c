#include "util/hyper_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "util/error.h"

namespace hyperdefrag {
namespace {

[[noreturn]] void bad_input(const std::filesystem::path& path, const std::string& cause) {
  throw Error(ExitCode::bad_input, path, cause);
}

}  // namespace

void check_hyper_file(const std::filesystem::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) bad_input(path, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) bad_input(path, "is a directory, not a .hyper file");
  if (!S_ISREG(info.st_mode)) bad_input(path, "is not a regular file");
  if (info.st_size == 0) bad_input(path, "is empty, not a .hyper file");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) bad_input(path, fmt::format("cannot be read: {}", std::strerror(errno)));
  std::array<char, 5> magic{};
  const ssize_t got = read(fd, magic.data(), magic.size());
  close(fd);
  if (got != static_cast<ssize_t>(magic.size()) || std::string_view(magic.data(), 5) != "Hyper") {
    bad_input(path, "is not a Hyper database (it does not start with Hyper's file header)");
  }
}

}  // namespace hyperdefrag
