// The locks' failures that are not another holder carry their cause's exit
// code: a file that cannot be opened is bad input (3); a process out of
// descriptors is busy (9, try again), never an internal error (1).
#include "util/lock.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

template <typename Body>
ExitCode code_of(Body body) {
  try {
    body();
  } catch (const Error& error) {
    return error.code();
  }
  return ExitCode::ok;
}

TEST(FileLock, AFileThatCannotBeOpenedIsBadInput) {
  testing::ScratchDir dir;
  fs::create_symlink(dir / "loop", dir / "loop");  // ELOOP, once an internal error
  EXPECT_EQ(code_of([&] { FileLock lock(dir / "loop"); }), ExitCode::bad_input);
  EXPECT_EQ(code_of([&] { FileLock lock(dir / "missing"); }), ExitCode::bad_input);
}

// In a child whose descriptor limit is used up, both locks fail with busy.
TEST(Locks, NoDescriptorLeftIsBusy) {
  testing::ScratchDir dir;
  const auto file = dir / "file";
  testing::write_bytes(file, "x");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Descriptors 0..2 are open; with a limit of 3 no new one can be made.
    const rlimit limit{3, 3};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(100);
    const auto run = code_of([&] { RunLock lock(file); });
    const auto open = code_of([&] { FileLock lock(file); });
    _exit(run == ExitCode::busy && open == ExitCode::busy ? 0 : 10 + static_cast<int>(run));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 + RunLock's code, or 100: setrlimit failed";
}

}  // namespace
}  // namespace hyperdefrag
