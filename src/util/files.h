// Small file-system helpers whose errors name the file and the cause.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hyperdefrag {

// Whether a rename may replace a file that already has the final name.
enum class Replace { no, yes };

// A file that exists under a temporary name until commit() renames it to its
// final name. If the object dies first, the temporary file is removed: no
// exit path leaves a half-written output behind. (After kill -9 the next run
// removes it: util/stale_temps.h.)
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
  // Creates the file, empty, readable and writable by its owner only (for
  // outputs this process writes itself; the engine creates its own). Throws
  // hyperdefrag::Error (bad output) naming the file.
  void create();
  // Waits until no process has the file open for writing (wait_until_no_writer:
  // the engine may finish unloading it after DETACH returned), then
  // fsyncs the file and records what it is (device, inode, size, time): the
  // copy that is then verified. commit() refuses a file that is no longer
  // that one (another program replaced or changed it meanwhile), with
  // ExitCode::busy. Throws hyperdefrag::Error naming the file.
  void seal();
  // fsyncs the file, renames it to the final path in one step and fsyncs the
  // directory. With Replace::no an existing final file is never replaced: the
  // commit fails with ExitCode::bad_output instead (checked by the rename
  // itself, so a file that appeared during the run is not lost either).
  void commit(Replace replace);

 private:
  std::filesystem::path path_;
  std::filesystem::path final_path_;
  bool committed_ = false;
  std::optional<struct stat> sealed_;
};

// The pid in a TempFile name (".x.hyper.hyperdefrag-<pid>-<n>.tmp.hyper"),
// or nothing if `filename` is not one.
std::optional<pid_t> temp_file_owner(const std::string& filename);

// Waits up to `timeout` until no process holds an exclusive flock on `path`
// (a hyperd that has it attached read-write: hyperd flocks every database it
// attaches, util/lock.h). True once none does, or where the file system has
// no flocks; false on timeout.
bool wait_until_no_writer(const std::filesystem::path& path, std::chrono::milliseconds timeout);

// Writes `text` to `path` in one step: a TempFile beside it, synced and
// renamed over it, readable by everyone (0644: manifests and results are read
// by the runs of other users and machines). Throws hyperdefrag::Error (bad
// output) naming the file and, as `what`, the thing written ("the manifest").
void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           std::string_view what);

// Size in bytes; throws hyperdefrag::Error naming the file.
std::uintmax_t file_size(const std::filesystem::path& path);

// fsync of a file or a directory; throws hyperdefrag::Error naming it.
void sync_path(const std::filesystem::path& path);

// "64.0 MiB", "512 B".
std::string human_size(std::uintmax_t bytes);

}  // namespace hyperdefrag
