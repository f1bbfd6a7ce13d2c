#include "defrag/place.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/compacted_mark.h"
#include "util/error.h"

namespace hyperdefrag {
namespace fs = std::filesystem;

namespace {

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// a. The input's permissions for the copy.
void adopt_permissions(const fs::path& copy, const FileState& input, bool adopt_owner) {
  if (adopt_owner && chown(copy.c_str(), input.owner, input.group) != 0) {
    if (errno != EPERM) {
      throw Error(ExitCode::bad_output, copy,
                  fmt::format("cannot give it the input's owner: {}", std::strerror(errno)));
    }
    // Not root: the copy keeps our uid, and gets the input's group if we are
    // a member of it (otherwise it keeps ours too, which is not an error).
    [[maybe_unused]] const int ignored = chown(copy.c_str(), static_cast<uid_t>(-1), input.group);
  }
  if (chmod(copy.c_str(), input.mode & 07777) != 0) {
    throw Error(ExitCode::bad_output, copy,
                fmt::format("cannot give it the input's permissions: {}", std::strerror(errno)));
  }
}

// c. The in-place swap.
void replace_in_place(TempFile& copy, FileLock& input_lock, const FileState& before,
                      const std::optional<fs::path>& backup, Force force) {
  const fs::path& input = input_lock.path();
  // Nobody may have the input open from here to the rename.
  input_lock.hold_exclusive_flock();
  // The bytes that were copied are still the input's bytes.
  const FileState now = file_state(input);
  if (now.device != before.device || now.inode != before.inode || now.size != before.size ||
      !same_time(now.modified, before.modified)) {
    throw Error(ExitCode::busy, input,
                "changed while it was being copied (another program wrote to it); it was left "
                "as it is and the copy discarded");
  }
  // The backup: a second name for the input's inode, made under a temporary
  // name and renamed into place.
  bool made_backup = false;
  if (backup) {
    struct stat existing {};
    made_backup = lstat(backup->c_str(), &existing) != 0;
    TempFile link_name(*backup);
    if (link(input.c_str(), link_name.path().c_str()) != 0) {
      throw Error(ExitCode::bad_output, *backup,
                  fmt::format("cannot keep the original as a hard link: {}", std::strerror(errno)));
    }
    link_name.commit(force == Force::yes ? Replace::yes : Replace::no);
  }
  // The swap itself: one rename, then the directory is fsynced.
  try {
    copy.commit(Replace::yes);
  } catch (...) {
    // The input was not replaced: a backup this run added is taken back; one
    // that replaced an older backup stays, since the older one is gone.
    if (made_backup) {
      std::error_code ignored;
      fs::remove(*backup, ignored);
    }
    throw;
  }
  input_lock.release_flock();
}

}  // namespace

void place(Prepared& prepared, std::optional<int> written_version) {
  const Destination& d = prepared.destination();
  adopt_permissions(prepared.temp().path(), prepared.input_state(), d.in_place);
  // The rename keeps the note, and the file's size and time it records.
  mark_compacted(prepared.temp().path(), written_version);
  if (d.in_place) {
    replace_in_place(prepared.temp(), prepared.input_lock(), prepared.input_state(), d.backup,
                     d.force);
  } else {
    prepared.temp().commit(d.force == Force::yes ? Replace::yes : Replace::no);
  }
}

}  // namespace hyperdefrag
