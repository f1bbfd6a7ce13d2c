// A temporary directory that cannot be made is the file system's fault, with
// its cause's exit code: 8 for a full disk, 4 for a place that cannot be
// written (the code of an unwritable output directory), never 1.
#include "util/private_dir.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstring>

#include "test_support.h"
#include "util/error.h"

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

}  // namespace
}  // namespace hyperdefrag
