#include "defrag/swap.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace hyperdefrag {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void backup_error(const fs::path& backup, const std::string& cause) {
  throw Error(ExitCode::bad_output, fmt::format("{}: {}", backup.string(), cause));
}

fs::path directory_of(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

FileState file_state(const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    throw Error(ExitCode::bad_input,
                fmt::format("{}: cannot read its status: {}", path.string(), std::strerror(errno)));
  }
  return {info.st_dev,  info.st_ino, info.st_size, info.st_mtim,
          info.st_mode, info.st_uid, info.st_gid};
}

void check_backup_path(const fs::path& input, const FileState& input_state, const fs::path& backup,
                       bool force) {
  struct stat info {};
  if (lstat(backup.c_str(), &info) == 0) {
    if (info.st_dev == input_state.device && info.st_ino == input_state.inode) {
      backup_error(backup, "is the input file itself; choose another backup path");
    }
    if (S_ISDIR(info.st_mode)) backup_error(backup, "is a directory");
    if (!force) backup_error(backup, "already exists (use --force to replace it)");
  }
  const fs::path dir = directory_of(backup);
  struct stat dir_info {};
  if (stat(dir.c_str(), &dir_info) != 0 || !S_ISDIR(dir_info.st_mode)) {
    backup_error(backup, fmt::format("its directory {} does not exist", dir.string()));
  }
  if (access(dir.c_str(), W_OK) != 0) {
    backup_error(backup, fmt::format("its directory {} is not writable: {}", dir.string(),
                                     std::strerror(errno)));
  }
  if (dir_info.st_dev != input_state.device) {
    backup_error(backup, fmt::format("is on another file system than {}; the backup is kept as a "
                                     "hard link, so it must be on the same one",
                                     input.string()));
  }
}

void adopt_permissions(const fs::path& copy, const FileState& input, bool adopt_owner) {
  if (adopt_owner && chown(copy.c_str(), input.owner, input.group) != 0) {
    if (errno != EPERM) {
      throw Error(ExitCode::bad_output, fmt::format("{}: cannot give it the input's owner: {}",
                                                    copy.string(), std::strerror(errno)));
    }
    // Not root: the copy keeps our uid, and gets the input's group if we are
    // a member of it (otherwise it keeps ours too).
    if (chown(copy.c_str(), static_cast<uid_t>(-1), input.group) != 0) {
    }
  }
  if (chmod(copy.c_str(), input.mode & 07777) != 0) {
    throw Error(ExitCode::bad_output, fmt::format("{}: cannot give it the input's permissions: {}",
                                                  copy.string(), std::strerror(errno)));
  }
}

void replace_in_place(TempFile& copy, FileLock& input_lock, const FileState& before,
                      const std::optional<fs::path>& backup, bool force) {
  const fs::path& input = input_lock.path();
  // a. Nobody may have the input open from here to the rename.
  input_lock.hold_exclusive_flock();
  // b. The bytes that were copied are still the input's bytes.
  const FileState now = file_state(input);
  if (now.device != before.device || now.inode != before.inode || now.size != before.size ||
      !same_time(now.modified, before.modified)) {
    throw Error(ExitCode::busy,
                fmt::format("{}: changed while it was being copied (another program wrote to "
                            "it); it was left as it is and the copy discarded",
                            input.string()));
  }
  // c. The backup: a second name for the input's inode, made under a
  //    temporary name and renamed into place, so that an existing backup is
  //    only replaced (with --force) by a complete one.
  std::optional<TempFile> backup_link;
  if (backup) {
    backup_link.emplace(*backup);
    if (link(input.c_str(), backup_link->path().c_str()) != 0) {
      backup_error(*backup, fmt::format("cannot keep the original as a hard link: {}",
                                        std::strerror(errno)));
    }
    backup_link->commit(force ? Replace::yes : Replace::no);
  }
  // d. The swap itself: one rename, then the directory is fsynced.
  try {
    copy.commit(Replace::yes);
  } catch (...) {
    if (backup) {
      std::error_code ignored;
      fs::remove(*backup, ignored);
    }
    throw;
  }
  input_lock.release_flock();
}

}  // namespace hyperdefrag
