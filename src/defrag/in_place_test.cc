// The checks between the copy and the swap, driven through DefragHooks so
// that the test acts at a fixed point of the run, never against a timing race:
// step 8 compares the copy with the input (row counts always, every row with
// --verify or --in-place), and step 9 refuses to replace an input that changed
// while it was being copied.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defrag/defrag.h"
#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;

// 1000 rows in "s"."t", made through the shared engine.
fs::path make_input(const testing::ScratchDir& dir) {
  const auto path = dir / "in.hyper";
  testing::connect().exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(path.string())));
  testing::with_attached(path, {"CREATE SCHEMA db.s", "CREATE TABLE db.s.t (id INTEGER, v TEXT)",
                                "INSERT INTO db.s.t SELECT g, 'row ' || g FROM "
                                "generate_series(1, 1000) AS g"});
  return path;
}

timespec modified(const fs::path& path) {
  struct stat info {};
  stat(path.c_str(), &info);
  return info.st_mtim;
}

// Sets a file's modification time (and access time) to `when`.
void set_modified(const fs::path& path, timespec when) {
  const timespec times[2] = {when, when};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << std::strerror(errno);
}

// Exit codes compared as numbers, so that a failure prints them as such.
int code(ExitCode value) { return static_cast<int>(value); }

struct Failure {
  int code = 0;
  std::string message;
};

// Runs defragment() on the shared engine with `hooks`; the error it threw.
Failure run(const DefragOptions& options, DefragHooks hooks) {
  hooks.engine = &testing::shared_engine();
  try {
    defragment(options, hooks);
  } catch (const Error& error) {
    return {code(error.code()), error.what()};
  }
  return {};
}

// ---- Step 9: an input changed during the copy is not replaced ----

class InputChangedDuringTheCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = make_input(dir_);
    // A modification time well in the past, so that any write during the
    // run gives it another one whatever the clock's granularity.
    set_modified(input_, {1'600'000'000, 123'456'789});
    before_ = testing::read_bytes(input_);
    options_.input = input_;
    options_.in_place = true;
  }

  // Runs in place, calling `change` once the table is copied; the run must
  // refuse the swap (exit 9), discard the copy and leave the input as
  // `change` made it.
  void expect_refused(const std::function<void()>& change) {
    DefragHooks hooks;
    int calls = 0;
    hooks.on_table = [&](const TableResult&) {
      ++calls;
      change();
    };
    const auto failure = run(options_, hooks);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(failure.code, code(ExitCode::busy)) << failure.message;
    EXPECT_TRUE(contains(failure.message, input_.string() + ": changed while it was being copied"))
        << failure.message;
    EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper"}), std::vector<std::string>{});
  }

  testing::ScratchDir dir_;
  fs::path input_;
  std::string before_;
  DefragOptions options_;
};

// Only the modification time moves, by one nanosecond: same bytes, size and inode.
TEST_F(InputChangedDuringTheCopy, TouchedByOneNanosecond) {
  const auto then = modified(input_);
  expect_refused([&] { set_modified(input_, {then.tv_sec, then.tv_nsec + 1}); });
  EXPECT_TRUE(testing::has_bytes(input_, before_));
  EXPECT_EQ(modified(input_).tv_nsec, then.tv_nsec + 1);
}

// Rewritten in place with bytes of the same length (here its own bytes, so
// that the engine reading it sees no difference either): the modification
// time is the only sign.
TEST_F(InputChangedDuringTheCopy, RewrittenAtTheSameSize) {
  struct stat was {};
  ASSERT_EQ(stat(input_.c_str(), &was), 0);
  expect_refused([&] {
    const int fd = open(input_.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(pwrite(fd, before_.data(), before_.size(), 0), static_cast<ssize_t>(before_.size()));
    close(fd);
    struct stat now {};
    ASSERT_EQ(stat(input_.c_str(), &now), 0);
    ASSERT_EQ(now.st_ino, was.st_ino);
    ASSERT_EQ(now.st_size, was.st_size);
    ASSERT_NE(now.st_mtim.tv_sec, was.st_mtim.tv_sec);
  });
  EXPECT_TRUE(testing::has_bytes(input_, before_));
}

// Replaced by another file with the same bytes and the same modification
// time (a program that saves by renaming): the inode is the only sign.
TEST_F(InputChangedDuringTheCopy, ReplacedByAnotherFile) {
  const auto then = modified(input_);
  const auto other = dir_ / "in.hyper.saved";
  expect_refused([&] {
    testing::write_bytes(other, before_);
    set_modified(other, then);
    fs::rename(other, input_);
  });
  EXPECT_TRUE(testing::has_bytes(input_, before_));
}

// Grown by a byte and its modification time set back (a program that keeps
// the time, as cp -p or rsync -t do): the size is the only sign.
TEST_F(InputChangedDuringTheCopy, GrownWithItsTimeSetBack) {
  const auto then = modified(input_);
  expect_refused([&] {
    testing::write_bytes(input_, before_ + "x");
    set_modified(input_, then);
  });
  EXPECT_TRUE(testing::has_bytes(input_, before_ + "x"));
  EXPECT_EQ(modified(input_).tv_nsec, then.tv_nsec);
}

// The same run without a change is replaced: the refusals above come from
// the change, not from the hook.
TEST_F(InputChangedDuringTheCopy, UnchangedIsReplaced) {
  DefragHooks hooks;
  int calls = 0;
  hooks.on_table = [&](const TableResult&) { ++calls; };
  const auto failure = run(options_, hooks);
  EXPECT_EQ(failure.code, code(ExitCode::ok)) << failure.message;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(testing::table_counts(input_), std::vector<std::string>{"s.t=1000"});
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper"}), std::vector<std::string>{});
}

// A Hyper process (Tableau) that attaches the input after the preflight holds
// a shared flock on it, as hyperd does; the swap's exclusive flock finds it,
// and the input is not replaced under it (exit 9).
TEST(InPlaceInUse, AttachedDuringTheCopyIsNotReplaced) {
  testing::ScratchDir dir;
  const auto input = make_input(dir);
  const auto before = testing::read_bytes(input);
  DefragOptions options;
  options.input = input;
  options.in_place = true;
  int reader = -1;
  DefragHooks hooks;
  hooks.on_table = [&](const TableResult&) {
    reader = open(input.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(reader, 0) << std::strerror(errno);
    ASSERT_EQ(flock(reader, LOCK_SH | LOCK_NB), 0) << std::strerror(errno);
  };
  const auto failure = run(options, hooks);
  ASSERT_GE(reader, 0);
  close(reader);
  EXPECT_EQ(failure.code, code(ExitCode::busy)) << failure.message;
  EXPECT_TRUE(contains(failure.message, input.string() + ": another program has it open"))
      << failure.message;
  EXPECT_TRUE(testing::has_bytes(input, before));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
}

// ---- Step 8: the copy is compared with the input before it is kept ----

class CopyChangedBeforeVerify : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = make_input(dir_);
    before_ = testing::read_bytes(input_);
    options_.input = input_;
  }

  // Runs with `statements` applied to the finished copy (attached as "db")
  // just before step 8; returns the failure.
  Failure run_changing_copy(const std::vector<std::string>& statements) {
    DefragHooks hooks;
    hooks.before_verify = [&](const fs::path& copy) {
      copies_.push_back(copy);
      testing::with_attached(copy, statements);
    };
    return run(options_, hooks);
  }

  // Nothing kept but the input, byte for byte.
  void expect_input_only() {
    EXPECT_EQ(copies_.size(), 1u);
    EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper"}), std::vector<std::string>{});
    EXPECT_TRUE(testing::has_bytes(input_, before_));
  }

  testing::ScratchDir dir_;
  fs::path input_;
  std::string before_;
  DefragOptions options_;
  std::vector<fs::path> copies_;
};

const std::string kExtraRow = "INSERT INTO db.s.t VALUES (1001, 'extra')";
const std::string kChangedValue = "UPDATE db.s.t SET v = 'changed' WHERE id = 500";

// Every run compares the row counts, even without --verify.
TEST_F(CopyChangedBeforeVerify, ExtraRowIsCaughtByTheCountsOfEveryRun) {
  options_.output = dir_ / "out.hyper";
  const auto failure = run_changing_copy({kExtraRow});
  EXPECT_EQ(failure.code, code(ExitCode::verify_failed)) << failure.message;
  EXPECT_TRUE(contains(failure.message,
                       "table \"s\".\"t\": 1000 rows in the input, 1001 in the "
                       "copy; the copy was discarded"))
      << failure.message;
  expect_input_only();
}

// EXCEPT ALL finds input rows missing from the copy, not extra ones: with
// --verify the counts must still be compared.
TEST_F(CopyChangedBeforeVerify, ExtraRowIsCaughtWithVerify) {
  options_.output = dir_ / "out.hyper";
  options_.verify = true;
  const auto failure = run_changing_copy({kExtraRow});
  EXPECT_EQ(failure.code, code(ExitCode::verify_failed)) << failure.message;
  EXPECT_TRUE(contains(failure.message,
                       "table \"s\".\"t\": 1000 rows in the input, 1001 in the "
                       "copy, 0 rows of the input not found in the copy"))
      << failure.message;
  expect_input_only();
}

TEST_F(CopyChangedBeforeVerify, ExtraRowIsCaughtInPlace) {
  options_.in_place = true;
  const auto failure = run_changing_copy({kExtraRow});
  EXPECT_EQ(failure.code, code(ExitCode::verify_failed)) << failure.message;
  EXPECT_TRUE(contains(failure.message,
                       "table \"s\".\"t\": 1000 rows in the input, 1001 in the "
                       "copy, 0 rows of the input not found in the copy"))
      << failure.message;
  expect_input_only();
}

// In place, every row is compared even without --verify: one changed value,
// with the row count unchanged, is caught (exit 7) and the input kept.
TEST_F(CopyChangedBeforeVerify, InPlaceComparesEveryRowWithoutVerify) {
  options_.in_place = true;
  const auto failure = run_changing_copy({kChangedValue});
  EXPECT_EQ(failure.code, code(ExitCode::verify_failed)) << failure.message;
  EXPECT_TRUE(contains(failure.message,
                       "table \"s\".\"t\": 1000 rows in the input, 1000 in the "
                       "copy, 1 rows of the input not found in the copy"))
      << failure.message;
  expect_input_only();
}

TEST_F(CopyChangedBeforeVerify, ChangedValueIsCaughtWithVerify) {
  options_.output = dir_ / "out.hyper";
  options_.verify = true;
  const auto failure = run_changing_copy({kChangedValue});
  EXPECT_EQ(failure.code, code(ExitCode::verify_failed)) << failure.message;
  EXPECT_TRUE(contains(failure.message, "1 rows of the input not found in the copy"))
      << failure.message;
  expect_input_only();
}

// The hook sees the temporary copy that is then verified and kept: a run
// whose hook changes nothing succeeds, in place, with every row compared.
TEST_F(CopyChangedBeforeVerify, UnchangedCopyIsKeptWithEveryRowCompared) {
  options_.in_place = true;
  DefragHooks hooks;
  hooks.engine = &testing::shared_engine();
  hooks.before_verify = [&](const fs::path& copy) {
    copies_.push_back(copy);
    EXPECT_EQ(copy.parent_path(), dir_.path());
    EXPECT_EQ(testing::temporaries_in(dir_.path()), std::vector<fs::path>{copy});
    EXPECT_EQ(testing::table_counts(copy), std::vector<std::string>{"s.t=1000"});
  };
  const auto report = defragment(options_, hooks);
  EXPECT_TRUE(report.verified);
  EXPECT_EQ(copies_.size(), 1u);
  EXPECT_EQ(testing::table_counts(input_), std::vector<std::string>{"s.t=1000"});
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.hyper"}), std::vector<std::string>{});
}

// ---- Step 9: only the very file that was verified is put in place ----

// Another program swaps the verified copy for a byte-identical one (another
// inode) between step 7 and the rename: it passes every comparison, yet it
// is not the file this run verified, so nothing is replaced (exit 9), in
// place and to a new output alike.
TEST(SealedCopy, AReplacedCopyIsNeverPutInPlace) {
  for (const bool in_place : {true, false}) {
    testing::ScratchDir dir;
    const auto input = make_input(dir);
    const auto before = testing::read_bytes(input);
    DefragOptions options;
    options.input = input;
    options.in_place = in_place;
    DefragHooks hooks;
    hooks.before_verify = [&](const fs::path& copy) {
      const auto twin = dir / "twin.hyper";
      fs::copy_file(copy, twin);
      fs::rename(twin, copy);
    };
    const auto failure = run(options, hooks);
    EXPECT_EQ(failure.code, code(ExitCode::busy)) << failure.message;
    EXPECT_TRUE(contains(failure.message, "replaced or changed by another program"))
        << failure.message;
    EXPECT_TRUE(testing::has_bytes(input, before));
    EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  }
}

}  // namespace
}  // namespace hyperdefrag
