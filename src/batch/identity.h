// Which file a path names right now, as far as a later run can tell: its
// size, modification time and inode. A run from a manifest compares the file
// with what the manifest recorded; a resumed run compares it with what its
// results directory recorded.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace hyperdefrag::batch {

struct FileIdentity {
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;  // nanoseconds since the epoch
  // 0 when not known (a manifest does not record it: a tree copied elsewhere
  // keeps sizes and times but not inodes). The device is not part of it: the
  // same file on shared storage has another device number on each machine.
  std::uintmax_t inode = 0;

  // Equal sizes and times, and equal inodes where both are known.
  bool same_as(const FileIdentity& other) const {
    return size == other.size && mtime_ns == other.mtime_ns &&
           (inode == 0 || other.inode == 0 || inode == other.inode);
  }
};

// The identity of the file at `path` (following symbolic links), or nothing
// if it cannot be read (gone, unreadable directory).
inline std::optional<FileIdentity> identity_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{static_cast<std::uintmax_t>(info.st_size),
                      static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                          info.st_mtim.tv_nsec,
                      static_cast<std::uintmax_t>(info.st_ino)};
}

}  // namespace hyperdefrag::batch
