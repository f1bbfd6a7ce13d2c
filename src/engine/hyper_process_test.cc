#include "engine/hyper_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <optional>

#include "engine/locate.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::engine {
namespace {
namespace fs = std::filesystem;

EngineOptions default_options() {
  return {locate_hyperd(std::nullopt).path, {}, std::chrono::seconds(60)};
}

bool process_alive(pid_t pid) { return kill(pid, 0) == 0; }

TEST(HyperProcess, ListensOnAPrivateUnixSocketAndStopsCleanly) {
  fs::path dir;
  pid_t pid = -1;
  {
    HyperProcess engine(default_options());
    dir = engine.log_directory();
    pid = engine.pid();
    EXPECT_EQ(engine.endpoint().socket_directory, dir.string());
    EXPECT_EQ(testing::octal_mode(dir), "0700") << "only the owner may reach the socket";
    EXPECT_TRUE(fs::is_socket(dir / ".s.PGSQL.1"));
    sql::Connection connection(engine.endpoint());
    EXPECT_EQ(connection.exec("SELECT 42").integer(0, 0), 42);
    EXPECT_TRUE(engine.running());
  }
  EXPECT_FALSE(process_alive(pid)) << "hyperd outlived its owner";
  EXPECT_FALSE(fs::exists(dir)) << "the log directory is removed after a clean run";
}

TEST(HyperProcess, KeepsTheLogWhenAsked) {
  fs::path dir;
  {
    HyperProcess engine(default_options());
    dir = engine.log_directory();
    engine.keep_log();
  }
  EXPECT_TRUE(fs::exists(dir / "hyperd.log"));
  fs::remove_all(dir);
}

TEST(HyperProcess, NoticesWhenTheEngineDies) {
  HyperProcess engine(default_options());
  ASSERT_TRUE(engine.running());
  kill(engine.pid(), SIGKILL);
  for (int i = 0; i < 500 && engine.running(); ++i) usleep(10'000);
  EXPECT_FALSE(engine.running());
}

// When hyperd dies without logging why (here SIGKILL; for real, when its log
// is on the disk that filled up), a full disk is told by the free space
// left where it was writing; room left is not a full disk.
TEST(HyperProcess, AFullDiskIsToldByTheFreeSpaceWhenTheLogSaysNothing) {
  testing::ScratchDir dir;
  const auto small_dir = dir / "small";
  testing::SmallFileSystem small(small_dir, "1m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  HyperProcess engine(default_options());
  kill(engine.pid(), SIGKILL);
  EXPECT_EQ(engine.fatal_error(), std::nullopt);
  EXPECT_EQ(stopped_by_full_disk(engine, dir.path()), std::nullopt) << "room left";
  const auto cause = stopped_by_full_disk(engine, small_dir);
  ASSERT_TRUE(cause.has_value());
  EXPECT_EQ(*cause, "hyperd stopped while writing there, with 1.0 MiB left free");
}

TEST(HyperProcess, FailsClearlyWhenTheBinaryCannotStart) {
  testing::ScratchDir dir;
  const auto fake = dir / "hyperd";
  testing::write_bytes(fake, "#!/bin/sh\nexit 3\n");
  fs::permissions(fake, fs::perms::owner_all);
  try {
    HyperProcess engine({fake, {}, std::chrono::seconds(10)});
    FAIL() << "a hyperd that exits at once must not start";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::engine);
    EXPECT_NE(std::string(error.what()).find("exited during start-up"), std::string::npos);
    const std::string message = error.what();
    const auto at = message.find("engine log: ");
    ASSERT_NE(at, std::string::npos) << message;
    fs::remove_all(message.substr(at + 12, message.size() - at - 13));  // the kept log
  }
}

TEST(HyperProcess, NamesASettingTheEngineRefuses) {
  auto options = default_options();
  options.settings.emplace_back("memory_limit", "bogus");
  try {
    HyperProcess engine(options);
    FAIL() << "hyperd accepted memory_limit=bogus";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ExitCode::engine);
    EXPECT_NE(message.find("memory_limit"), std::string::npos) << message;
    const auto log = message.substr(message.find("engine log: ") + 12);
    fs::remove_all(log.substr(0, log.size() - 1));  // the kept log directory
  }
}

TEST(LocateHyperd, ExplicitPathMustBeExecutable) {
  try {
    locate_hyperd(fs::path("/no/such/hyperd"));
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::engine);
    EXPECT_NE(std::string(error.what()).find("/no/such/hyperd"), std::string::npos);
  }
}

TEST(LocateHyperd, ReportsTheEngineVersion) {
  const auto location = locate_hyperd(std::nullopt);
  EXPECT_NE(hyperd_version(location.path).find("Hyper version"), std::string::npos);
}

}  // namespace
}  // namespace hyperdefrag::engine
