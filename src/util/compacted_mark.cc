#include "util/compacted_mark.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdio>

namespace hyperdefrag {
namespace fs = std::filesystem;

std::string mark_text(std::uintmax_t size, const timespec& modified, std::optional<int> version) {
  return fmt::format("hyperdefrag-compacted 1 size={} mtime={}.{:09} version={}", size,
                     static_cast<long long>(modified.tv_sec), static_cast<long>(modified.tv_nsec),
                     version ? std::to_string(*version) : std::string("-"));
}

std::optional<MarkFields> parse_mark_text(const std::string& text) {
  unsigned long long size = 0;
  long long seconds = 0;
  long nanoseconds = 0;
  char version[16] = {};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "hyperdefrag-compacted 1 size=%llu mtime=%lld.%9ld version=%15s%n",
                  &size, &seconds, &nanoseconds, version, &consumed) != 4 ||
      static_cast<std::size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  MarkFields fields;
  fields.size = size;
  fields.modified.tv_sec = static_cast<time_t>(seconds);
  fields.modified.tv_nsec = nanoseconds;
  const std::string written(version);
  if (written != "-") {
    int number = 0;
    int used = 0;
    if (std::sscanf(written.c_str(), "%d%n", &number, &used) != 1 ||
        static_cast<std::size_t>(used) != written.size() || number < 0) {
      return std::nullopt;
    }
    fields.version = number;
  }
  return fields;
}

void mark_compacted(const fs::path& path, std::optional<int> version) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) return;
  const auto text = mark_text(static_cast<std::uintmax_t>(status.st_size), status.st_mtim, version);
  // Best effort: without the note the file is estimated like any other.
  [[maybe_unused]] const int ignored =
      setxattr(path.c_str(), kCompactedMarkAttribute, text.data(), text.size(), 0);
}

std::optional<CompactedMark> compacted_mark(const fs::path& path) {
  char buffer[256];
  const ssize_t length = getxattr(path.c_str(), kCompactedMarkAttribute, buffer, sizeof buffer - 1);
  if (length <= 0) return std::nullopt;
  const auto fields = parse_mark_text(std::string(buffer, static_cast<std::size_t>(length)));
  if (!fields) return std::nullopt;
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) return std::nullopt;
  if (static_cast<std::uintmax_t>(status.st_size) != fields->size ||
      status.st_mtim.tv_sec != fields->modified.tv_sec ||
      status.st_mtim.tv_nsec != fields->modified.tv_nsec) {
    return std::nullopt;
  }
  return CompactedMark{fields->version};
}

}  // namespace hyperdefrag
