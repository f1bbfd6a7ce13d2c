// A directory only this user can enter (mode 0700), made with mkdtemp and
// removed with everything in it when the object dies, unless keep() was
// called (for example to leave a log behind for a failed run). Its name
// carries the process's pid, and the object holds an flock on it, so that
// the next run can tell and remove the directory of a killed one
// (util/stale_temps.h remove_stale_private_dirs).
#pragma once

#include <filesystem>
#include <string_view>

#include "util/fd.h"

namespace hyperdefrag {

class PrivateDir {
 public:
  // Removes the directories that killed runs left in `base`, then makes
  // <base>/<prefix><pid>-XXXXXX; `prefix` is "hyperdefrag-<what>-". Throws
  // hyperdefrag::Error on failure.
  PrivateDir(const std::filesystem::path& base, std::string_view prefix);
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Leaves the directory behind (marked with kKeptMarker, so that no later
  // run takes it for a killed run's leftovers).
  void keep();
  bool kept() const { return keep_; }

 private:
  std::filesystem::path path_;
  Fd lock_;  // flock(LOCK_SH) on the directory while this object lives
  bool keep_ = false;
};

// The file that marks a kept directory.
constexpr const char* kKeptMarker = ".hyperdefrag-kept";

// The directory for temporary files: $TMPDIR if set and usable, else /tmp.
std::filesystem::path temp_base();

}  // namespace hyperdefrag
