// Putting a finished, verified copy where it belongs: beside the input under
// a new name, or over the input itself (--in-place), in one rename.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "util/files.h"
#include "util/lock.h"

namespace hyperdefrag {

// What a file was when the run started: to notice a change before the swap,
// and to give the copy the same permissions.
struct FileState {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{};
  mode_t mode = 0;
  uid_t owner = 0;
  gid_t group = 0;
};

// Throws hyperdefrag::Error naming the file.
FileState file_state(const std::filesystem::path& path);

// Checks, before any side effect, that `backup` can be made as a hard link
// of `input`: it is not the input, it does not exist unless `force`, and its
// directory exists, is writable and is on the input's file system. Throws
// hyperdefrag::Error (ExitCode::bad_output) naming the backup path.
void check_backup_path(const std::filesystem::path& input, const FileState& input_state,
                       const std::filesystem::path& backup, bool force);

// Gives the copy the input's permission bits and, with adopt_owner, its
// owner and group (as far as this process may: a non-root user keeps its own
// uid). Throws hyperdefrag::Error naming the copy.
void adopt_permissions(const std::filesystem::path& copy, const FileState& input, bool adopt_owner);

// The in-place swap (docs/SAFETY.md has the numbered steps and why):
// takes an exclusive flock on the input so that no Hyper process can attach
// it, checks that it is unchanged since `before`, links it to `backup` if
// asked, then renames the copy over it and fsyncs the directory. Until that
// rename the input is untouched; if any step fails, the backup link made here
// is removed again and the copy is left to its TempFile to remove.
void replace_in_place(TempFile& copy, FileLock& input_lock, const FileState& before,
                      const std::optional<std::filesystem::path>& backup, bool force);

}  // namespace hyperdefrag
