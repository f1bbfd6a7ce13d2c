// A directory only this user can enter (mode 0700), made with mkdtemp and
// removed with everything in it when the object dies, unless keep() was
// called (for example to leave a log behind for a failed run).
#pragma once

#include <filesystem>
#include <string_view>

namespace hyperdefrag {

class PrivateDir {
 public:
  // Makes <base>/<prefix>XXXXXX. Throws hyperdefrag::Error on failure.
  PrivateDir(const std::filesystem::path& base, std::string_view prefix);
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void keep() { keep_ = true; }
  bool kept() const { return keep_; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

// The directory for temporary files: $TMPDIR if set and usable, else /tmp.
std::filesystem::path temp_base();

}  // namespace hyperdefrag
