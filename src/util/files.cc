#include "util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "util/error.h"
#include "util/fd.h"

namespace hyperdefrag {
namespace fs = std::filesystem;

namespace {
std::atomic<int> g_counter{0};
}

TempFile::TempFile(const fs::path& final_path) : final_path_(final_path) {
  path_ = final_path.parent_path() / fmt::format(".{}.hyperdefrag-{}-{}.tmp.hyper",
                                                 final_path.filename().string(), getpid(),
                                                 g_counter.fetch_add(1));
}

TempFile::~TempFile() {
  if (committed_) return;
  std::error_code ignored;
  fs::remove(path_, ignored);
}

std::optional<pid_t> temp_file_owner(const std::string& filename) {
  static const std::regex pattern(R"(^\..+\.hyperdefrag-([0-9]{1,9})-[0-9]+\.tmp\.hyper$)");
  std::smatch match;
  if (!std::regex_match(filename, match, pattern)) return std::nullopt;
  return static_cast<pid_t>(std::stol(match[1].str()));
}

void TempFile::create() {
  const Fd fd(open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    throw Error(ExitCode::bad_output, path_,
                fmt::format("cannot create: {}", std::strerror(errno)));
  }
}

namespace {

struct stat status_of(const fs::path& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) {
    throw Error(
        ExitCode::busy, path,
        fmt::format("the copy is gone before it could be put in place: {}", std::strerror(errno)));
  }
  return info;
}

}  // namespace

bool wait_until_no_writer(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return true;  // nothing to wait for; sealing reports a missing file
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // A shared flock conflicts only with an exclusive one: a writer's.
    if (flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return true;  // closing fd releases it
    if (errno != EWOULDBLOCK && errno != EINTR) return true;   // no flocks here (NFS)
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void TempFile::seal() {
  // The engine may still be unloading the database for a moment after its
  // DETACH returned, and write it once more (seen with several files on one
  // engine): the copy is sealed once no process has it open for writing.
  if (!wait_until_no_writer(path_, std::chrono::seconds(60))) {
    throw Error(ExitCode::busy, final_path_,
                fmt::format("the engine still had its copy {} open for writing 60 s after "
                            "detaching it; nothing was replaced",
                            path_.string()));
  }
  sync_path(path_);
  sealed_ = status_of(path_);
}

void TempFile::commit(Replace replace) {
  if (sealed_) {
    const struct stat now = status_of(path_);
    if (now.st_dev != sealed_->st_dev || now.st_ino != sealed_->st_ino ||
        now.st_size != sealed_->st_size || now.st_mtim.tv_sec != sealed_->st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != sealed_->st_mtim.tv_nsec) {
      throw Error(ExitCode::busy, final_path_,
                  fmt::format("its verified copy {} was replaced or changed by another program "
                              "before it could be put in place; nothing was replaced",
                              path_.string()));
    }
  }
  sync_path(path_);
  int renamed = 0;
  if (replace == Replace::yes) {
    renamed = std::rename(path_.c_str(), final_path_.c_str());
  } else {
    renamed = renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, final_path_.c_str(), RENAME_NOREPLACE);
    if (renamed != 0 && errno == EINVAL) {
      // A file system without RENAME_NOREPLACE: link() also refuses to replace.
      renamed = link(path_.c_str(), final_path_.c_str());
      if (renamed == 0) unlink(path_.c_str());
    }
  }
  if (renamed != 0) {
    const int saved = errno;
    throw Error(ExitCode::bad_output, final_path_,
                saved == EEXIST ? std::string("appeared while the copy was being written; it was "
                                              "left as it is (use --force to replace it)")
                                : fmt::format("cannot rename {} into place: {}", path_.string(),
                                              std::strerror(saved)));
  }
  committed_ = true;
  sync_path(final_path_.parent_path().empty() ? fs::path(".") : final_path_.parent_path());
}

std::uintmax_t file_size(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) {
    throw Error(ExitCode::bad_output, path,
                fmt::format("cannot read its size: {}", error.message()));
  }
  return size;
}

void sync_path(const fs::path& path) {
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || fsync(fd.get()) != 0) {
    const int saved = errno;
    throw Error(saved == ENOSPC || saved == EDQUOT ? ExitCode::no_space : ExitCode::bad_output,
                path, fmt::format("cannot sync to disk: {}", std::strerror(saved)));
  }
}

std::string human_size(std::uintmax_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           std::string_view what) {
  TempFile temp(path);
  temp.create();
  {
    std::ofstream out(temp.path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      throw Error(ExitCode::bad_output, path,
                  fmt::format("cannot write {}: {}", what, std::strerror(errno)));
    }
  }
  std::error_code ignored;
  std::filesystem::permissions(
      temp.path(),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
          std::filesystem::perms::group_read | std::filesystem::perms::others_read,
      ignored);
  temp.commit(Replace::yes);
}

}  // namespace hyperdefrag
