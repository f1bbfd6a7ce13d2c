// Who else is on the machine (docs/SAFETY.md): the hyperdefrag binary opens no
// TCP socket and no other user can connect to a socket of its run; hostile
// packages are refused before they cost disk.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "raw_zip.h"
#include "sockets.h"
#include "test_support.h"

extern char** environ;

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

// The hyperdefrag binary with stdout on `stdout_fd` and stderr in a file.
// wait() leaves the exited process unreaped until it has read its I/O
// counters, so what it wrote can be measured.
class Tool {
 public:
  Tool(const std::vector<std::string>& args, int stdout_fd, const fs::path& err_file) {
    std::vector<std::string> argv = {HYPERDEFRAG_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (stdout_fd >= 0) {
      posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    } else {
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Tool() {
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // Waits for the exit; returns the exit code and the bytes the process
  // passed to write() and similar calls in its life (/proc/<pid>/io wchar).
  std::pair<int, std::uint64_t> wait() {
    siginfo_t info{};
    while (waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    std::uint64_t written = ~0ull;
    std::ifstream io(fmt::format("/proc/{}/io", pid_));
    std::string key;
    for (std::uint64_t value = 0; io >> key >> value;) {
      if (key == "wchar:") written = value;
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), written};
  }

 private:
  pid_t pid_ = -1;
};

// True while a thread of `pid` is blocked writing to its stdout (its
// /proc/<pid>/task/<tid>/syscall: write, fd 1).
bool blocked_writing_stdout(pid_t pid) {
  std::error_code error;
  for (fs::directory_iterator it(fmt::format("/proc/{}/task", pid), error), end;
       !error && it != end; it.increment(error)) {
    std::ifstream in(it->path() / "syscall");
    std::string number, fd;
    in >> number >> fd;
    if (number == "1" && fd == "0x1") return true;
  }
  return false;
}

// A run of the binary, held still at a deterministic point: its stdout is a
// pipe the test filled, so the tool blocks in write() when it reports the
// first table copied, with its engine up and the copy attached. There, every
// socket of the tool and of its engine: no TCP or UDP socket, and the user
// nobody is refused by every named Unix socket, while this user reaches the
// engine.
TEST(WhoElse, NoTcpSocketAndNoOtherUserDuringARun) {
  testing::ScratchDir dir;
  testing::make_small_fragmented(dir / "in.hyper", 20'000, 2);
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  fcntl(pipe_fds[1], F_SETPIPE_SZ, 4096);
  fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
  const std::string filler(4096, '.');
  while (write(pipe_fds[1], filler.data(), filler.size()) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  fcntl(pipe_fds[1], F_SETFL, 0);  // the tool's writes block

  Tool tool({(dir / "in.hyper").string()}, pipe_fds[1], dir / "stderr");
  close(pipe_fds[1]);
  const auto engine = testing::child_hyperd(tool.pid(), 60'000);
  bool blocked = false;
  for (int i = 0; i < 6000 && !(blocked = blocked_writing_stdout(tool.pid())); ++i) usleep(10'000);

  if (blocked && engine) {
    std::set<unsigned long> inodes = testing::socket_inodes(tool.pid());
    std::size_t engine_sockets = 0;
    for (const pid_t pid : testing::with_descendants(*engine)) {
      const auto more = testing::socket_inodes(pid);
      engine_sockets += more.size();
      inodes.insert(more.begin(), more.end());
    }
    EXPECT_GT(engine_sockets, 0u) << "the engine's sockets could not be read";
    EXPECT_EQ(testing::inet_sockets(inodes), std::vector<std::string>{});
    const auto names = testing::unix_socket_names(inodes);
    std::string listen;
    for (const auto& name : names) {
      if (fs::path(name).filename() == ".s.PGSQL.1") listen = name;
    }
    EXPECT_FALSE(listen.empty()) << "the engine's socket is among those seen";
    if (!listen.empty()) {
      EXPECT_EQ(testing::connect_as_self(listen), 0);
    }
    bool as_nobody = true;
    for (const auto& name : names) {
      SCOPED_TRACE(name);
      const auto result = testing::connect_as_nobody(name);
      if (!result) {
        as_nobody = false;
        break;
      }
      EXPECT_NE(*result, 0) << "nobody connected";
      if (name[0] == '/') {
        EXPECT_EQ(*result, EACCES) << std::strerror(*result);
      }
    }
    // Let the run finish: read what it writes until it closes its stdout.
    char buffer[4096];
    while (read(pipe_fds[0], buffer, sizeof buffer) > 0) {
    }
    close(pipe_fds[0]);
    const auto [code, written] = tool.wait();
    EXPECT_EQ(code, 0) << testing::read_bytes(dir / "stderr");
    if (!as_nobody)
      GTEST_SKIP() << "cannot become the user nobody here (not root, or no such user)";
    return;
  }
  close(pipe_fds[0]);
  tool.wait();
  FAIL() << "the tool never blocked writing its first table line (engine "
         << (engine ? "seen" : "not seen") << "): " << testing::read_bytes(dir / "stderr");
}

// Temporary directories of the tool go to TMPDIR, pointed at the test's own
// scratch directory, to see what is written there and that nothing is left.
class HostilePackage : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::shared_engine();  // the test's own engine keeps its directory elsewhere
    fs::create_directory(dir_ / "tmp");
    setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  }
  void TearDown() override { unsetenv("TMPDIR"); }

  testing::ScratchDir dir_;
};

// The 3 MB package of issue 15, through the binary: exit 3, one line naming
// the package, the entry and the cause; the process wrote less than 1 MiB in
// all; nothing is left in TMPDIR; the package is unchanged.
TEST_F(HostilePackage, ZipBombIsRefusedWithoutBeingExtracted) {
  const auto package = dir_ / "Bomb.twbx";
  testing::write_raw_zip(package, {testing::stored_entry("Bomb.twb", "<workbook/>"),
                                   testing::zeros_entry("Data/Extracts/bomb.hyper", 51)});
  const auto before = testing::read_bytes(package);
  Tool tool({package.string()}, -1, dir_ / "stderr");
  const auto [code, written] = tool.wait();
  const auto err = testing::read_bytes(dir_ / "stderr");
  EXPECT_EQ(code, 3) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_TRUE(
      contains(err, package.string() + " [Data/Extracts/bomb.hyper]: is not a Hyper database"))
      << err;
  EXPECT_LT(written, 1u << 20) << "bytes the tool wrote";
  EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"tmp", "Bomb.twbx", "stderr"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::read_bytes(package), before);
}

// An extract that claims less than it holds, through the binary: exit 3, and
// the tool stopped writing at the declared size.
TEST_F(HostilePackage, EntryClaimingLessThanItHoldsIsRefused) {
  const auto package = dir_ / "Liar.twbx";
  auto entry =
      testing::deflated_entry("Data/Extracts/liar.hyper", "Hyper" + std::string(16 << 20, 'y'));
  entry.size = 100'000;
  testing::write_raw_zip(package, {entry});
  Tool tool({package.string()}, -1, dir_ / "stderr");
  const auto [code, written] = tool.wait();
  const auto err = testing::read_bytes(dir_ / "stderr");
  EXPECT_EQ(code, 3) << err;
  EXPECT_TRUE(contains(err,
                       "Liar.twbx [Data/Extracts/liar.hyper]: holds more than the 100000 "
                       "bytes the archive declares"))
      << err;
  EXPECT_LT(written, 1u << 20) << "bytes the tool wrote";
  EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{});
}

// Real extracts named with ../ and with an absolute path: the run succeeds,
// keeps the names in the new package, and writes nothing where they point.
TEST_F(HostilePackage, NamesWithDotDotOrAbsolutePathStayInside) {
  fs::create_directories(dir_ / "work" / "deep");
  testing::make_small_fragmented(dir_ / "work" / "x.hyper", 5'000, 1);
  const auto absolute = (dir_ / "work" / "absolute.hyper").string();
  const std::vector<std::string> names = {"../../escape.hyper", absolute};
  testing::make_zip(dir_ / "work" / "deep" / "p.twbx", {{names[0], "", dir_ / "work" / "x.hyper"},
                                                        {names[1], "", dir_ / "work" / "x.hyper"}});
  setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  Tool tool({(dir_ / "work" / "deep" / "p.twbx").string()}, -1, dir_ / "stderr");
  const auto [code, written] = tool.wait();
  ASSERT_EQ(code, 0) << testing::read_bytes(dir_ / "stderr");
  std::vector<std::string> after;
  for (const auto& entry : testing::read_zip(dir_ / "work" / "deep" / "p.new.twbx"))
    after.push_back(entry.name);
  EXPECT_EQ(after, names);
  EXPECT_EQ(testing::unexpected_files(dir_ / "work", {"deep", "x.hyper"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir_ / "work" / "deep", {"p.twbx", "p.new.twbx"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"tmp", "work", "stderr"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{});
}

// A package with 10,000 entries (one extract, 9,999 small files) is handled:
// every entry is in the new package, in order, the others byte-identical.
TEST_F(HostilePackage, TenThousandEntriesAreHandled) {
  testing::make_small_fragmented(dir_ / "x.hyper", 5'000, 1);
  std::vector<testing::ZipInput> entries;
  entries.push_back({"Data/Extracts/x.hyper", "", dir_ / "x.hyper"});
  for (int i = 1; i < 10'000; ++i)
    entries.push_back({fmt::format("Image/{:05}.txt", i), fmt::format("file {}", i)});
  testing::make_zip(dir_ / "Many.twbx", entries);
  Tool tool({(dir_ / "Many.twbx").string()}, -1, dir_ / "stderr");
  const auto [code, written] = tool.wait();
  ASSERT_EQ(code, 0) << testing::read_bytes(dir_ / "stderr");
  const auto after = testing::read_zip(dir_ / "Many.new.twbx");
  ASSERT_EQ(after.size(), 10'000u);
  EXPECT_EQ(after[0].name, "Data/Extracts/x.hyper");
  for (int i = 1; i < 10'000; ++i) {
    ASSERT_EQ(after[i].name, entries[i].name);
    ASSERT_EQ(after[i].bytes, entries[i].bytes);
  }
  EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{});
}

// Not enough room in TMPDIR for an extract's declared size (30 MiB on a
// 20 MiB tmpfs): the preflight refuses it (the extracts need twice their
// size there); with --force, which skips that check, the extraction refuses
// the entry before writing it. Both exit 8, and nothing is written.
TEST_F(HostilePackage, NoRoomToExtractIsExit8BeforeWriting) {
  const auto small = dir_ / "small";
  testing::SmallFileSystem mounted(small, "20m");
  if (!mounted.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << mounted.error();
  const auto package = dir_ / "Big.twbx";
  testing::write_raw_zip(package, {testing::deflated_entry("Data/Extracts/big.hyper",
                                                           "Hyper" + std::string(30 << 20, 'z'))});
  setenv("TMPDIR", small.c_str(), 1);
  for (const bool force : {false, true}) {
    std::vector<std::string> args{package.string()};
    if (force) args.insert(args.begin(), "--force");
    Tool tool(args, -1, dir_ / "stderr");
    const auto [code, written] = tool.wait();
    const auto err = testing::read_bytes(dir_ / "stderr");
    EXPECT_EQ(code, 8) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_TRUE(contains(err, force
                                  ? "Big.twbx [Data/Extracts/big.hyper]: not enough free disk space"
                                  : "not enough free disk space in " + small.string()))
        << err;
    EXPECT_LT(written, 1u << 20) << "bytes the tool wrote";
    EXPECT_EQ(testing::unexpected_files(small, {}), std::vector<std::string>{});
  }
}

}  // namespace
}  // namespace hyperdefrag
