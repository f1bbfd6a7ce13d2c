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
#include "util/fd.h"

namespace hyperdefrag {
namespace {

[[noreturn]] void bad_input(const std::filesystem::path& path, const std::string& cause) {
  throw Error(ExitCode::bad_input, path, cause);
}

}  // namespace

bool has_hyper_header(std::string_view first_bytes) {
  return first_bytes.substr(0, kHyperHeaderSize) == std::string_view("Hyper", kHyperHeaderSize);
}

void check_hyper_file(const std::filesystem::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) bad_input(path, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) bad_input(path, "is a directory, not a .hyper file");
  if (!S_ISREG(info.st_mode)) bad_input(path, "is not a regular file");
  if (info.st_size == 0) bad_input(path, "is empty, not a .hyper file");
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) bad_input(path, fmt::format("cannot be read: {}", std::strerror(errno)));
  std::array<char, kHyperHeaderSize> magic{};
  const ssize_t got = read(fd.get(), magic.data(), magic.size());
  if (got < 0 || !has_hyper_header(std::string_view(magic.data(), static_cast<std::size_t>(got)))) {
    bad_input(path, std::string(kNotHyperCause));
  }
}

}  // namespace hyperdefrag
