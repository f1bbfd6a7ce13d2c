// A temporary directory that cannot be made is the file system's fault, with
// its cause's exit code: 8 for a full disk, 4 for a place that cannot be
// written (the code of an unwritable output directory), never 1.
#include "util/private_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "test_support.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/stale_temps.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

ExitCode code_of_private_dir(const fs::path& base) {
  try {
    PrivateDir dir(base, "private-dir-test-");
  } catch (const Error& error) {
    EXPECT_TRUE(testing::contains(error.what(), base.string())) << error.what();
    EXPECT_TRUE(testing::contains(error.what(), "TMPDIR")) << error.what();
    return error.code();
  }
  ADD_FAILURE() << "made a directory in " << base;
  return ExitCode::ok;
}

// /proc takes no new directories, not even from root.
TEST(PrivateDir, AnUnwritablePlaceIsABadOutput) {
  EXPECT_EQ(code_of_private_dir("/proc"), ExitCode::bad_output);
}

TEST(PrivateDir, AFullFileSystemIsNoSpace) {
  testing::ScratchDir dir;
  // A tmpfs with room for its root directory only: mkdir fails with ENOSPC.
  if (mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=4k,nr_inodes=1") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  const auto code = code_of_private_dir(dir.path());
  umount2(dir.path().c_str(), MNT_DETACH);
  EXPECT_EQ(code, ExitCode::no_space);
}

// The binary: an engine directory that cannot be made ends with exit 4 and
// one line naming the cause, and leaves nothing behind.
TEST(PrivateDir, TheToolExitsWithTheCauseWhenTheEngineDirectoryCannotBeMade) {
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  testing::make_small_fragmented(input, 1'000);
  const auto before = testing::read_bytes(input);
  const auto result = testing::run_hyperdefrag({input.string()}, {"/usr/bin/env", "TMPDIR=/proc"});
  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::bad_output)) << result.err;
  EXPECT_TRUE(testing::contains(result.err, "cannot create a temporary directory in /proc"))
      << result.err;
  EXPECT_EQ(testing::read_bytes(input), before);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
}

// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

// A new PrivateDir first removes the directories that killed runs left
// beside it, and only those: not a live process's, not one another run holds
// (its flock: a live run in another pid namespace), not one kept for its log,
// not a symlink, not a name of another pattern.
TEST(PrivateDir, RemovesOnlyTheDirectoriesOfKilledRuns) {
  testing::ScratchDir base;
  const pid_t dead = dead_pid();
  const auto stale = base / fmt::format("hyperdefrag-engine-{}-Ab12Cd", dead);
  const auto stale_package = base / fmt::format("hyperdefrag-package-{}-zzzzzz", dead);
  const auto live = base / fmt::format("hyperdefrag-engine-{}-Ab12Cd", getppid());
  const auto held = base / fmt::format("hyperdefrag-check-{}-held00", dead);
  const auto kept = base / fmt::format("hyperdefrag-engine-{}-kept00", dead);
  const auto old_style = base / "hyperdefrag-engine-Ab12Cd";
  const auto other = base / fmt::format("notes-{}-Ab12Cd", dead);
  for (const auto& dir : {stale, stale_package, live, held, kept, old_style, other}) {
    fs::create_directory(dir);
    testing::write_bytes(dir / "log", "x");
  }
  testing::write_bytes(kept / kKeptMarker, "");
  const auto link = base / fmt::format("hyperdefrag-engine-{}-link00", dead);
  fs::create_directory_symlink(other, link);
  const Fd holder(open(held.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_EQ(flock(holder.get(), LOCK_SH), 0);

  const PrivateDir made(base.path(), "hyperdefrag-test-");

  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_package));
  for (const auto& dir : {live, held, kept, old_style, other, link}) {
    EXPECT_TRUE(fs::exists(dir / "log")) << dir << " was removed";
  }
  EXPECT_EQ(made.path().parent_path(), base.path());
  EXPECT_TRUE(
      made.path().filename().string().starts_with(fmt::format("hyperdefrag-test-{}-", getpid())))
      << made.path();
  EXPECT_EQ(private_dir_owner(made.path().filename().string()), getpid());
}

// A kept directory stays after the object, marked, and no later run removes it.
TEST(PrivateDir, AKeptDirectoryOutlivesItsRunAndTheNextOne) {
  testing::ScratchDir base;
  fs::path path;
  {
    PrivateDir dir(base.path(), "hyperdefrag-test-");
    path = dir.path();
    dir.keep();
  }
  EXPECT_TRUE(fs::exists(path / kKeptMarker));
  const auto renamed = base / fmt::format("hyperdefrag-test-{}-Kept00", dead_pid());
  fs::rename(path, renamed);  // as if its process had ended
  { const PrivateDir next(base.path(), "hyperdefrag-test-"); }
  EXPECT_TRUE(fs::exists(renamed / kKeptMarker));
}

}  // namespace
}  // namespace hyperdefrag
