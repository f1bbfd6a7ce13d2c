// Nobody else on the machine can steer the engine: its callback and listen
// sockets are Unix sockets in the run's private directory, no TCP socket is
// open, and another user's connection attempts are refused (docs/SAFETY.md,
// "Who else is on the machine").
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "engine/hyper_process.h"
#include "engine/locate.h"
#include "sockets.h"
#include "sql/interrupt.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::engine {
namespace {
namespace fs = std::filesystem;
using testing::contains;

EngineOptions real_engine() {
  return {locate_hyperd(std::nullopt).path, {}, std::chrono::seconds(60)};
}

// Every socket of the tool and its engine while the engine is up and a
// connection is open: no TCP or UDP socket at all, and every named Unix
// socket refuses the user nobody, while this user reaches the engine.
TEST(EngineSockets, NoTcpSocketAndNoOtherUserWhileTheEngineIsUp) {
  HyperProcess engine(real_engine());
  sql::Connection connection(engine.endpoint());
  ASSERT_EQ(connection.exec("SELECT 1").integer(0, 0), 1);

  std::set<unsigned long> inodes = testing::socket_inodes(getpid());
  std::size_t engine_sockets = 0;
  for (const pid_t pid : testing::with_descendants(engine.pid())) {
    const auto more = testing::socket_inodes(pid);
    engine_sockets += more.size();
    inodes.insert(more.begin(), more.end());
  }
  ASSERT_GT(engine_sockets, 0u) << "the engine's sockets could not be read";
  EXPECT_EQ(testing::inet_sockets(inodes), std::vector<std::string>{});

  const auto names = testing::unix_socket_names(inodes);
  const auto listen = (engine.log_directory() / ".s.PGSQL.1").string();
  ASSERT_EQ(names.count(listen), 1u) << "the engine's own socket is among those seen";
  EXPECT_FALSE(fs::exists(engine.log_directory() / "callback"))
      << "the callback socket's name is removed once hyperd has called back";
  EXPECT_EQ(testing::connect_as_self(listen), 0) << "this user reaches the engine";
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const auto result = testing::connect_as_nobody(name);
    if (!result) GTEST_SKIP() << "cannot become the user nobody here (not root, or no such user)";
    EXPECT_NE(*result, 0) << "nobody connected";
    if (name.rfind(engine.log_directory().string() + "/", 0) == 0) {
      EXPECT_EQ(*result, EACCES) << std::strerror(*result);
    }
  }
}

// During start-up, before hyperd calls back: a fake hyperd records its
// arguments and waits for a file the test makes, so the callback socket is
// open for as long as the test needs. It is a Unix socket in the private
// 0700 directory; the user nobody cannot connect to it; and a process of this
// user that is not hyperd is not believed: the engine does not start.
TEST(EngineSockets, CallbackSocketIsPrivateAndOnlyHyperdIsBelieved) {
  testing::ScratchDir scratch;
  const auto fake = scratch / "hyperd";
  testing::write_bytes(fake, fmt::format("#!/bin/sh\n"
                                         "printf '%s\\n' \"$@\" > {0}/args.tmp\n"
                                         "mv {0}/args.tmp {0}/args\n"
                                         "i=0\n"
                                         "while [ ! -e {0}/go ] && [ $i -lt 6000 ]; do\n"
                                         "  sleep 0.01; i=$((i + 1))\n"
                                         "done\n"
                                         "exit 3\n",
                                         scratch.path().string()));
  fs::permissions(fake, fs::perms::owner_all);
  std::string failure;
  std::thread starter([&] {
    try {
      HyperProcess engine({fake, {}, std::chrono::seconds(60)});
      failure = "the engine started";
    } catch (const Error& error) {
      failure = error.what();
    }
  });
  // Lets the fake hyperd exit and waits for the start-up to give up; also on
  // an early return.
  struct Go {
    const fs::path path;
    std::thread& thread;
    void finish() {
      if (!thread.joinable()) return;
      testing::write_bytes(path, "");
      thread.join();
    }
    ~Go() { finish(); }
  } go{scratch / "go", starter};

  for (int i = 0; i < 6000 && !fs::exists(scratch / "args"); ++i) usleep(10'000);
  ASSERT_TRUE(fs::exists(scratch / "args")) << "the fake hyperd did not start";
  std::string callback;
  std::istringstream args(testing::read_bytes(scratch / "args"));
  for (std::string arg; std::getline(args, arg);) {
    if (arg.rfind("--callback-connection=", 0) == 0) callback = arg.substr(22);
    EXPECT_FALSE(contains(arg, "tab.tcp")) << arg;
  }
  const std::string prefix = "tab.domain://";
  const auto split = callback.rfind("/domain/");
  ASSERT_EQ(callback.rfind(prefix, 0), 0u) << callback;
  ASSERT_NE(split, std::string::npos) << callback;
  const fs::path dir = callback.substr(prefix.size(), split - prefix.size());
  const fs::path socket_path = dir / callback.substr(split + 8);
  struct stat info {};
  ASSERT_EQ(stat(dir.c_str(), &info), 0) << dir;
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  EXPECT_EQ(info.st_uid, geteuid());
  EXPECT_TRUE(fs::is_socket(socket_path)) << socket_path;

  const auto nobody = testing::connect_as_nobody(socket_path.string());
  if (nobody) {
    EXPECT_EQ(*nobody, EACCES) << std::strerror(*nobody);
  }

  // This user, not hyperd, answers first with an endpoint of its own.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  const std::string forged = "tab.domain:///tmp/elsewhere/domain/.s.PGSQL.1";
  const std::string message = std::string(1, static_cast<char>(forged.size())) + forged;
  // The tool may already have hung up (it checks who connected at once).
  send(fd, message.data(), message.size(), MSG_NOSIGNAL);
  go.finish();
  close(fd);
  EXPECT_TRUE(contains(failure, "not from hyperd")) << failure;
  EXPECT_FALSE(contains(failure, "elsewhere")) << "the forged endpoint was read: " << failure;
  fs::remove_all(dir);  // the log directory a failed start-up keeps
  if (!nobody) GTEST_SKIP() << "cannot become the user nobody here (not root, or no such user)";
}

// A --hyperd that is a wrapper script starting the real hyperd as its child
// (not exec): the callback comes from a descendant of the process the tool
// started, which is believed.
TEST(EngineSockets, CallbackFromAWrappersChildIsBelieved) {
  testing::ScratchDir scratch;
  const auto wrapper = scratch / "hyperd";
  testing::write_bytes(
      wrapper, fmt::format("#!/bin/sh\n\"{}\" \"$@\"\nexit $?\n", real_engine().hyperd.string()));
  fs::permissions(wrapper, fs::perms::owner_all);
  HyperProcess engine({wrapper, {}, std::chrono::seconds(60)});
  const auto children = testing::with_descendants(engine.pid());
  EXPECT_GT(children.size(), 1u) << "the wrapper started hyperd as its child";
  sql::Connection connection(engine.endpoint());
  EXPECT_EQ(connection.exec("SELECT 7").integer(0, 0), 7);
}

// Interrupted during start-up (Ctrl-C before hyperd has called back): the
// callback socket is closed and its name removed before the engine is
// stopped, so hyperd never connects to a callback nobody accepts (before,
// it did, and the tool then waited 30 s for it to exit).
TEST(EngineSockets, InterruptedStartUpLeavesNoCallbackPending) {
  testing::ScratchDir scratch;
  sql::install_signal_handlers();
  raise(SIGINT);
  ASSERT_EQ(sql::interrupted(), SIGINT);
  setenv("TMPDIR", scratch.path().c_str(), 1);
  std::string message;
  try {
    HyperProcess engine(real_engine());
  } catch (const Error& error) {
    message = error.what();
  }
  unsetenv("TMPDIR");
  sql::reset_interrupted();
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) signal(number, SIG_DFL);
  EXPECT_TRUE(contains(message, "interrupted")) << message;
  // The engine's directory, kept for its log.
  const auto kept = testing::unexpected_files(scratch.path(), {});
  ASSERT_EQ(kept.size(), 1u);
  const fs::path dir = scratch / kept[0];
  EXPECT_FALSE(fs::exists(dir / "callback"));
  const auto log = testing::read_bytes(dir / "hyperd.log");
  EXPECT_FALSE(contains(log, "monitor-endpoint-start")) << "hyperd connected to the callback";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hyperdefrag::engine
