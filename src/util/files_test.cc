#include "util/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/stale_temps.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

TEST(TempFile, NamesAreRecognisableAndCarryThePid) {
  testing::ScratchDir dir;
  TempFile temp(dir / "out.hyper");
  const auto name = temp.path().filename().string();
  EXPECT_EQ(name.rfind(".out.hyper.hyperdefrag-", 0), 0u) << name;
  EXPECT_EQ(temp_file_owner(name), getpid());
  EXPECT_EQ(temp_file_owner("out.hyper"), std::nullopt);
  EXPECT_EQ(temp_file_owner(".out.hyper.hyperdefrag-12-0.tmp.txt"), std::nullopt);
  EXPECT_EQ(temp_file_owner(".out.hyper.hyperdefrag-x-0.tmp.hyper"), std::nullopt);
}

// hyperd may finish unloading a database a moment after its DETACH returned
// (seen with several files on one engine): the copy is sealed only once no
// process holds its writer's (exclusive) flock. A reader's shared flock, as
// for a read-only attach, does not count.
TEST(TempFile, WaitUntilNoWriterWaitsForTheWritersFlockOnly) {
  testing::ScratchDir dir;
  const auto path = dir / "copy.hyper";
  testing::write_bytes(path, "rows");
  EXPECT_TRUE(wait_until_no_writer(path, std::chrono::milliseconds(0)));
  Fd writer(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(flock(writer.get(), LOCK_EX), 0);
  EXPECT_FALSE(wait_until_no_writer(path, std::chrono::milliseconds(50)));
  writer.reset();
  EXPECT_TRUE(wait_until_no_writer(path, std::chrono::milliseconds(0)));
  const Fd reader(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(flock(reader.get(), LOCK_SH), 0);
  EXPECT_TRUE(wait_until_no_writer(path, std::chrono::milliseconds(0)));
  EXPECT_TRUE(testing::has_bytes(path, "rows"));
}

TEST(TempFile, CommitWithoutReplaceKeepsAFileThatAppeared) {
  testing::ScratchDir dir;
  fs::path temp_path;
  {
    TempFile temp(dir / "out.hyper");
    temp_path = temp.path();
    testing::write_bytes(temp.path(), "new");
    testing::write_bytes(dir / "out.hyper", "appeared meanwhile");
    try {
      temp.commit(Replace::no);
      ADD_FAILURE() << "commit replaced an existing file";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::bad_output);
      EXPECT_NE(std::string(error.what()).find("appeared while the copy was being written"),
                std::string::npos)
          << error.what();
    }
  }
  EXPECT_TRUE(testing::has_bytes(dir / "out.hyper", "appeared meanwhile"));
  EXPECT_FALSE(fs::exists(temp_path)) << "the temporary file outlived its owner";

  TempFile temp(dir / "out.hyper");
  testing::write_bytes(temp.path(), "new");
  temp.commit(Replace::yes);
  EXPECT_TRUE(testing::has_bytes(dir / "out.hyper", "new"));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"out.hyper"}), std::vector<std::string>{});
}

// A temporary that a hyperd has attached is in use, whatever its pid says
// (a run in another pid namespace on a shared volume).
TEST(StaleTemporaries, OneAttachedByAnEngineIsKept) {
  testing::ScratchDir dir;
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const auto busy = dir / (".b.hyper.hyperdefrag-" + std::to_string(dead) + "-0.tmp.hyper");
  auto connection = testing::connect();
  connection.exec("CREATE DATABASE " + sql::quote_identifier(busy.string()));
  connection.exec("ATTACH DATABASE " + sql::quote_identifier(busy.string()) + " AS busy");
  EXPECT_TRUE(remove_stale_temporaries(dir.path()).removed.empty());
  EXPECT_TRUE(fs::exists(busy));
  connection.exec("DETACH DATABASE busy");
  EXPECT_EQ(remove_stale_temporaries(dir.path()).removed, std::vector<fs::path>{busy});
}

TEST(StaleTemporaries, OnlyThoseOfDeadProcessesAreRemoved) {
  testing::ScratchDir dir;
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const auto stale = dir / (".a.hyper.hyperdefrag-" + std::to_string(dead) + "-0.tmp.hyper");
  const auto mine = dir / (".a.hyper.hyperdefrag-" + std::to_string(getpid()) + "-0.tmp.hyper");
  const auto init = dir / ".a.hyper.hyperdefrag-1-0.tmp.hyper";  // pid 1 is always alive
  const auto other = dir / "a.hyper";
  for (const auto& path : {stale, mine, init, other}) testing::write_bytes(path, "x");
  const auto result = remove_stale_temporaries(dir.path());
  EXPECT_EQ(result.removed, std::vector<fs::path>{stale});
  EXPECT_TRUE(result.kept.empty());
  std::vector<std::string> left = {mine.filename().string(), init.filename().string(), "a.hyper"};
  std::sort(left.begin(), left.end());
  EXPECT_EQ(testing::unexpected_files(dir.path(), {}), left);
}

}  // namespace
}  // namespace hyperdefrag
