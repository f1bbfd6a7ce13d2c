// Safety of the hyperdefrag binary on every fault (docs/SAFETY.md has the
// table these tests fill): in-place replacement, signals, a dying engine, a
// full disk, concurrent runs, leftovers of killed runs, hostile names.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "defrag/defrag.h"
#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

using testing::contains;

using testing::octal_mode;

// An in-place run of `input` held mid-copy (testing::HeldRun): its hyperd
// runs, its temporary copy exists beside the input, and it goes on only
// when wait() is called.
std::unique_ptr<testing::HeldRun> held_in_place_run(const fs::path& input) {
  return std::make_unique<testing::HeldRun>(std::vector<std::string>{"--in-place", input.string()},
                                            input.parent_path());
}

// The --log-dir a running hyperd was given (its private directory).
std::optional<fs::path> engine_directory_of(pid_t hyperd) {
  const auto cmdline = testing::read_bytes(fmt::format("/proc/{}/cmdline", hyperd));
  const std::string flag = "--log-dir=";
  const auto start = cmdline.find(flag);
  if (start == std::string::npos) return std::nullopt;
  return fs::path(
      cmdline.substr(start + flag.size(), cmdline.find('\0', start) - start - flag.size()));
}

// The engine log directory named in an error message "(engine log: DIR)".
std::optional<fs::path> engine_log_in(const std::string& message) {
  const std::string marker = "engine log: ";
  const auto start = message.find(marker);
  if (start == std::string::npos) return std::nullopt;
  const auto end = message.find(')', start);
  return fs::path(message.substr(start + marker.size(), end - start - marker.size()));
}

// The swap: the input is replaced by a smaller file with the same tables and
// rows, keeps its mode and owner, and the original survives byte for byte as
// the backup. Nothing else is left in the directory.
TEST(InPlace, ReplacesTheInputKeepingPermissionsAndABackup) {
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  fs::copy_file(testing::fragmented_fixture(), input);
  const auto original = testing::read_bytes(input);
  const auto counts = testing::table_counts(input);
  ASSERT_EQ(chmod(input.c_str(), 0604), 0);
  ASSERT_EQ(chown(input.c_str(), 65534, 65534), 0);  // nobody; as root we can

  const auto result = run_hyperdefrag({"--in-place", "--backup", input.string()});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Original kept as " + (dir / "in.bak.hyper").string()))
      << result.out;
  EXPECT_LT(fs::file_size(input), original.size() / 2);
  EXPECT_EQ(testing::table_counts(input), counts);
  EXPECT_TRUE(testing::has_bytes(dir / "in.bak.hyper", original));
  EXPECT_EQ(octal_mode(input), "0604");
  struct stat info {};
  ASSERT_EQ(stat(input.c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, 65534u);
  EXPECT_EQ(info.st_gid, 65534u);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper", "in.bak.hyper"}),
            std::vector<std::string>{});

  // Without --backup the original is gone and only the compacted file stays.
  const auto again = run_hyperdefrag({"--in-place", (dir / "in.bak.hyper").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(testing::table_counts(dir / "in.bak.hyper"), counts);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper", "in.bak.hyper"}),
            std::vector<std::string>{});
}

// In place through a symlink: the file it points to is replaced, the link
// stays a link.
TEST(InPlace, ThroughASymlinkReplacesTheTargetAndKeepsTheLink) {
  testing::ScratchDir dir;
  fs::create_directory(dir / "data");
  fs::copy_file(testing::fragmented_fixture(), dir / "data" / "in.hyper");
  const auto counts = testing::table_counts(dir / "data" / "in.hyper");
  fs::create_symlink(dir / "data" / "in.hyper", dir / "link.hyper");

  const auto result = run_hyperdefrag({"--in-place", (dir / "link.hyper").string()});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::is_symlink(dir / "link.hyper"));
  EXPECT_LT(fs::file_size(dir / "data" / "in.hyper"),
            fs::file_size(testing::fragmented_fixture()) / 2);
  EXPECT_EQ(testing::table_counts(dir / "data" / "in.hyper"), counts);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"data", "link.hyper"}),
            std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir / "data", {"in.hyper"}), std::vector<std::string>{});
}

// Another program writes the input while it is being copied in place (here:
// its modification time changes while the run is held mid-copy): the swap is
// refused with exit 9, the copy discarded, the input left as that program
// made it. src/defrag/in_place_test.cc has the same-size rewrite and the
// replaced file, through the library's hooks.
TEST(InPlace, InputChangedDuringTheCopyIsNotReplaced) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  // A modification time in the past, so that "touch" surely changes it.
  const timespec past[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (dir / "in.hyper").c_str(), past, 0), 0);
  const auto run = held_in_place_run(dir / "in.hyper");
  ASSERT_TRUE(run->copying());
  ASSERT_EQ(utimensat(AT_FDCWD, (dir / "in.hyper").c_str(), nullptr, 0), 0);  // "touch"
  const auto result = run->wait();
  EXPECT_EQ(result.exit_code, 9) << result.err;
  EXPECT_TRUE(contains(result.err, "changed while it was being copied")) << result.err;
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
}

// SIGTERM or SIGHUP (a closed terminal) mid-copy in place: exit 128 +
// signal, the engine stops, the temporary copy is removed and the input is
// byte-identical.
class InPlaceSignal : public ::testing::TestWithParam<int> {};

TEST_P(InPlaceSignal, LeavesTheInputAndNothingElse) {
  const int signal_number = GetParam();
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  const auto run = held_in_place_run(dir / "in.hyper");
  ASSERT_TRUE(run->copying());
  ASSERT_EQ(kill(run->pid(), signal_number), 0);
  const auto result = run->wait();
  EXPECT_EQ(result.exit_code, 128 + signal_number) << result.err;
  EXPECT_TRUE(
      contains(result.err, fmt::format("interrupted by SIG{}", sigabbrev_np(signal_number))))
      << result.err;
  EXPECT_TRUE(testing::wait_gone(run->engine(), 5'000));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

INSTANTIATE_TEST_SUITE_P(TermAndHup, InPlaceSignal, ::testing::Values(SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

// hyperd dies (SIGKILL) while the copy is written: exit 5, the message says
// so and names the engine log, which only its owner can read; the partial copy
// is removed and the input is byte-identical.
TEST(Faults, EngineKilledMidCopyIsReportedAndLeavesTheInput) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  const auto run = held_in_place_run(dir / "in.hyper");
  ASSERT_TRUE(run->copying());
  ASSERT_EQ(kill(run->engine(), SIGKILL), 0);
  const auto result = run->wait();
  EXPECT_EQ(result.exit_code, 5) << result.err;
  // "hyperd stopped unexpectedly", or "lost the connection to hyperd" if the
  // kernel has not reported its exit within 5 s (a loaded machine).
  EXPECT_TRUE(contains(result.err, "hyperd stopped unexpectedly during the copy") ||
              contains(result.err, "lost the connection to hyperd during the copy"))
      << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  const auto log = engine_log_in(result.err);
  ASSERT_TRUE(log.has_value()) << result.err;
  EXPECT_TRUE(fs::exists(*log / "hyperd.log")) << *log;
  EXPECT_EQ(octal_mode(*log), "0700");
  for (const auto& entry : fs::directory_iterator(*log)) {
    // Nothing for the group or others: the mode ends in "00".
    EXPECT_EQ(octal_mode(entry.path()).substr(2), "00") << entry.path();
  }
  fs::remove_all(*log);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

// hyperd dies while the disk under the copy is full, without having said
// why (here SIGKILL, after a filler took the disk's last bytes; for real, it
// aborts when a block cannot be finalized and its log may be on that disk):
// the run reports the full disk, exit 8, not an engine fault, and removes
// the partial copy (docs/ENGINE.md, "Disk full").
TEST(Faults, EngineDeadOnAFullDiskIsReportedAsTheFullDisk) {
  testing::ScratchDir dir;
  testing::SmallFileSystem small(dir / "small", "64m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  const auto output = dir / "small" / "out.hyper";
  testing::HeldRun run({"--force", "-o", output.string(), (dir / "in.hyper").string()},
                       dir / "small");
  ASSERT_TRUE(run.copying());
  {
    const int filler = open((dir / "small" / "filler").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(filler, 0);
    const std::string block(1 << 20, 'x');
    while (write(filler, block.data(), block.size()) > 0) {
    }
    close(filler);
  }
  ASSERT_EQ(kill(run.engine(), SIGKILL), 0);
  const auto result = run.wait();
  fs::remove(dir / "small" / "filler");
  EXPECT_EQ(result.exit_code, 8) << result.err;
  EXPECT_TRUE(contains(result.err,
                       "the disk is full: the engine could not grow the copy (hyperd "
                       "stopped while writing there, with "))
      << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_EQ(testing::unexpected_files(dir / "small", {}), std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

// A full disk, for real: the output goes to a 20 MiB tmpfs and the copy needs
// about 30 MiB. Without --force the free-space check refuses before starting;
// with it the engine runs out of space mid-copy. Both: exit 8, a message that
// says the disk is full, nothing left on the small file system, the input
// byte-identical.
TEST(Faults, DiskFullIsReportedAndLeavesNothing) {
  testing::ScratchDir dir;
  testing::SmallFileSystem small(dir / "small", "20m");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small.error();
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  const auto output = (dir / "small" / "out.hyper").string();

  const auto refused = run_hyperdefrag({"-o", output, (dir / "in.hyper").string()});
  EXPECT_EQ(refused.exit_code, 8) << refused.err;
  EXPECT_TRUE(contains(refused.err, "not enough free disk space")) << refused.err;
  EXPECT_TRUE(contains(refused.err, output)) << refused.err;

  const auto full = run_hyperdefrag({"--force", "-o", output, (dir / "in.hyper").string()});
  EXPECT_EQ(full.exit_code, 8) << full.err;
  EXPECT_TRUE(contains(full.err, "the disk is full")) << full.err;
  EXPECT_TRUE(contains(full.err, output)) << full.err;
  EXPECT_EQ(std::count(full.err.begin(), full.err.end(), '\n'), 1) << full.err;

  EXPECT_EQ(testing::unexpected_files(dir / "small", {}), std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper", "small"}),
            std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

// Two runs on the same file at once: while the first is held mid-copy, a
// second (in place or not) fails at once with exit 9 and touches nothing;
// the first then completes.
TEST(Faults, SecondRunOnTheSameFileIsRefusedWhileTheFirstProceeds) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto counts = testing::table_counts(dir / "in.hyper");
  const auto first = held_in_place_run(dir / "in.hyper");
  ASSERT_TRUE(first->copying());

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--in-place", (dir / "in.hyper").string()}, {(dir / "in.hyper").string()}}) {
    const auto second = run_hyperdefrag(args);
    EXPECT_EQ(second.exit_code, 9) << second.err;
    EXPECT_TRUE(contains(second.err, "another hyperdefrag run is working on this file"))
        << second.err;
  }
  const auto result = first->wait();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Successfully converted table")) << result.out;
  EXPECT_EQ(testing::table_counts(dir / "in.hyper"), counts);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
}

// After kill -9 a temporary copy may stay behind; the next run in that
// directory removes the ones whose process is gone, says so, and leaves alone
// those of a live process and every other file.
TEST(Faults, NextRunRemovesTemporariesOfKilledRuns) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const auto stale = fmt::format(".in.new.hyper.hyperdefrag-{}-0.tmp.hyper", dead);
  const auto live = fmt::format(".in.new.hyper.hyperdefrag-{}-3.tmp.hyper", getpid());
  const std::string other = "notes.hyperdefrag-1-1.tmp.txt";
  for (const auto& name : {stale, live, other}) testing::write_bytes(dir / name, "partial");

  const auto result = run_hyperdefrag({(dir / "in.hyper").string()});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(fs::exists(dir / stale));
  EXPECT_TRUE(contains(result.err, (dir / stale).string())) << result.err;
  EXPECT_TRUE(contains(result.err, "left by an earlier run that was killed")) << result.err;
  EXPECT_TRUE(testing::has_bytes(dir / live, "partial"));
  EXPECT_TRUE(testing::has_bytes(dir / other, "partial"));
}

// The same for real: kill -9 mid-copy leaves the temporary copy and the
// engine's private directory in $TMPDIR (nothing can run in a killed
// process), the engine exits by itself, and the next run removes both
// leftovers and completes.
TEST(Faults, TemporaryLeftByKill9IsRemovedByTheNextRun) {
  testing::ScratchDir dir;
  testing::ScratchDir tmpdir;
  const std::vector<std::string> with_tmpdir = {"/usr/bin/env", "TMPDIR=" + tmpdir.path().string()};
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  testing::HeldRun run({"--in-place", (dir / "in.hyper").string()}, dir.path(), with_tmpdir);
  ASSERT_TRUE(run.copying());
  const auto engine_dir = engine_directory_of(run.engine());
  ASSERT_TRUE(engine_dir.has_value());
  EXPECT_EQ(engine_dir->parent_path(), tmpdir.path());
  ASSERT_EQ(kill(run.pid(), SIGKILL), 0);
  run.wait();
  ASSERT_TRUE(testing::wait_gone(run.engine(), 30'000));
  EXPECT_TRUE(fs::is_directory(*engine_dir)) << "the killed run's engine directory";
  const auto left = testing::temporaries_in(dir.path());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));

  const auto result = run_hyperdefrag({"--in-place", (dir / "in.hyper").string()}, with_tmpdir);

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "removed " + left[0].string())) << result.err;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(*engine_dir)) << "the killed run's engine directory is still there";
  EXPECT_EQ(testing::unexpected_files(tmpdir.path(), {}), std::vector<std::string>{});
}

// Names that would be SQL if pasted into a statement are copied as names, and
// nothing else happens: every table is there with its rows.
TEST(Security, HostileNamesAreCopiedExactlyAndNothingElseHappens) {
  testing::ScratchDir dir;
  const auto input = dir / "hostile.hyper";
  const std::string schema = "s\"; DROP SCHEMA public CASCADE; --";
  const std::string table = "x\"; DROP TABLE public.keep; --";
  const std::string column = "c'); DELETE FROM public.keep; --";
  {
    auto connection = testing::connect();
    connection.exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(input.string())));
  }
  testing::with_attached(
      input,
      {"CREATE TABLE db.public.keep (a INTEGER)", "INSERT INTO db.public.keep VALUES (1), (2), (3)",
       fmt::format("CREATE SCHEMA {}", sql::quote_qualified({"db", schema})),
       fmt::format("CREATE TABLE {} ({} TEXT)", sql::quote_qualified({"db", schema, table}),
                   sql::quote_identifier(column)),
       fmt::format("INSERT INTO {} VALUES ('a'), ('b')",
                   sql::quote_qualified({"db", schema, table}))});
  const auto counts = testing::table_counts(input);
  ASSERT_EQ(counts, (std::vector<std::string>{"public.keep=3", schema + "." + table + "=2"}));

  const auto result = run_hyperdefrag({"--in-place", input.string()});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::table_counts(input), counts);
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                              sql::quote_identifier(input.string())));
  EXPECT_EQ(connection
                .exec(fmt::format("SELECT string_agg({}, ',' ORDER BY 1) FROM {}",
                                  sql::quote_identifier(column),
                                  sql::quote_qualified({"db", schema, table})))
                .value(0, 0),
            "a,b");
  connection.exec("DETACH DATABASE db");
}

}  // namespace
}  // namespace hyperdefrag
