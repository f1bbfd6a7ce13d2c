// Small file-system helpers whose errors name the file and the cause.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hyperdefrag {

// A file that exists under a temporary name until commit() renames it to its
// final name. If the object dies first, the temporary file is removed: no
// exit path leaves a half-written output behind.
class TempFile {
 public:
  // Reserves <dir>/.<final name>.hyperdefrag-<pid>-<n>.tmp.hyper (the name
  // is recognisable, and ends in .hyper as the engine expects). The file
  // itself is created later, by the engine.
  explicit TempFile(const std::filesystem::path& final_path);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // fsyncs the file, renames it over the final path and fsyncs the directory.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path final_path_;
  bool committed_ = false;
};

// Size in bytes; throws hyperdefrag::Error naming the file.
std::uintmax_t file_size(const std::filesystem::path& path);

// fsync of a file or a directory; throws hyperdefrag::Error naming it.
void sync_path(const std::filesystem::path& path);

// "64.0 MiB", "512 B".
std::string human_size(std::uintmax_t bytes);

}  // namespace hyperdefrag
