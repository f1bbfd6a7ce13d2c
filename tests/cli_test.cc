// The hyperdefrag binary, run as a user runs it, against the real engine.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>

#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using testing::contains;

TEST(Cli, HelpShowsTheSamplesInterface) {
  const auto result = run_hyperdefrag({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(contains(result.out, "-o,--output-hyper-file-path"));
  EXPECT_TRUE(contains(result.out, "--force"));
  EXPECT_TRUE(contains(result.out, "Exit codes"));
  EXPECT_TRUE(contains(result.out, "--in-place"));
  EXPECT_TRUE(contains(result.out, "--backup"));
  EXPECT_TRUE(contains(result.out, "8    not enough free disk space")) << result.out;
  EXPECT_TRUE(contains(result.out, "9    busy: another program has the file open")) << result.out;
}

TEST(Cli, VersionNamesToolAndEngine) {
  const auto result = run_hyperdefrag({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(contains(result.out, "hyperdefrag 0.")) << result.out;
  EXPECT_TRUE(contains(result.out, "Hyper version")) << result.out;
}

TEST(Cli, DefragmentsBesideTheInputAndReports) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "Oldfile.hyper");
  const auto result = run_hyperdefrag({(dir / "Oldfile.hyper").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  const auto out = lines(result.out);
  ASSERT_EQ(out.size(), 4u) << result.out;
  EXPECT_EQ(
      out[0].rfind(
          "Successfully converted table \"input_database\".\"Extract\".\"Extract\" (1200000 rows",
          0),
      0u)
      << out[0];
  EXPECT_EQ(out[1],
            fmt::format("Successfully converted {} into {}", (dir / "Oldfile.hyper").string(),
                        (dir / "Oldfile.new.hyper").string()));
  const auto before = fs::file_size(dir / "Oldfile.hyper");
  const auto after = fs::file_size(dir / "Oldfile.new.hyper");
  EXPECT_TRUE(contains(out[2], "saved")) << out[2];
  EXPECT_TRUE(contains(out[2], fmt::format("{:.1f}%", 100.0 * (before - after) / before)))
      << out[2];
  EXPECT_TRUE(contains(out[3], "Format version: 2 -> 2")) << out[3];
  EXPECT_EQ(testing::table_counts(dir / "Oldfile.new.hyper"),
            testing::table_counts(dir / "Oldfile.hyper"));
}

TEST(Cli, OutputOptionInBothSpellings) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  for (const char* flag : {"-o", "--output-hyper-file-path"}) {
    const auto output = dir / fmt::format("out{}.hyper", flag);
    const auto result = run_hyperdefrag({flag, output.string(), (dir / "in.hyper").string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(fs::exists(output));
    EXPECT_FALSE(fs::exists(dir / "in.new.hyper"));
  }
}

TEST(Cli, VerifyReportsTheProofAndTargetVersionTheChange) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto result =
      run_hyperdefrag({"--verify", "--target-version", "4", (dir / "in.hyper").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Format version: 2 -> 4")) << result.out;
  EXPECT_TRUE(contains(result.out, "Verified: the copy holds exactly the input's catalog and rows"))
      << result.out;
  EXPECT_EQ(testing::format_version(dir / "in.new.hyper"), 4);
}

TEST(Cli, RefusesADowngradeThatCannotHoldTheData) {
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  {
    auto connection = testing::connect();
    connection.exec(fmt::format("CREATE DATABASE \"{}\" WITH VERSION 4", input.string()));
  }
  testing::with_attached(input, {"CREATE TABLE db.public.m (r REAL)"});
  const auto before = testing::read_bytes(input);
  const auto result = run_hyperdefrag({"--target-version", "2", input.string()});
  EXPECT_EQ(result.exit_code, 11) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "column \"r\" of table \"public\".\"m\"")) << result.err;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(input, before));
}

// Every bad input: a one-line message naming the file and the cause, its own
// exit code, nothing written, the input unchanged, no engine left running.
struct BadCase {
  const char* name;
  int exit_code;
  const char* cause;  // part of the message
};

void PrintTo(const BadCase& bad_case, std::ostream* out) { *out << bad_case.name; }

class CliBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(CliBadInput, FailsCleanly) {
  const auto& param = GetParam();
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  std::vector<std::string> args = {input.string()};
  const std::string name = param.name;
  std::vector<std::string> prefix;          // how the tool is started
  std::unique_ptr<sql::Connection> holder;  // another engine's session, for "held_by_hyperd"
  if (name == "unreadable" || name == "output_dir_not_writable" ||
      name == "in_place_dir_not_writable") {
    // Root ignores permissions: run the tool as nobody, in a directory it can
    // enter but not write.
    const auto nobody = testing::as_nobody();
    if (!nobody) {
      GTEST_SKIP() << "cannot run the tool as the user nobody here (no setpriv, not root, or the "
                      "build directory is private); as root, permissions are not enforced";
    }
    prefix = *nobody;
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    fs::copy_file(testing::fragmented_fixture(), input);
    if (name == "in_place_dir_not_writable") args = {"--in-place", input.string()};
    fs::permissions(input, name == "unreadable" ? fs::perms::owner_read | fs::perms::owner_write
                                                : fs::perms::owner_read | fs::perms::group_read |
                                                      fs::perms::others_read);
  } else if (name == "too_new") {
    fs::copy_file(testing::fragmented_fixture(), input);
    fs::permissions(input, fs::perms::owner_read | fs::perms::owner_write);
    testing::patch_header_version(input, 5);
  } else if (name == "output_is_input_relative") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"-o", fs::relative(input).string(), input.string(), "--force"};
  } else if (name == "held_by_hyperd") {
    // Another Hyper process (the tests' own engine) has the file attached
    // for writing, as Tableau or a Hyper API program would.
    fs::copy_file(testing::fragmented_fixture(), input);
    fs::permissions(input, fs::perms::owner_read | fs::perms::owner_write);
    holder = std::make_unique<sql::Connection>(testing::shared_engine().endpoint());
    holder->exec(fmt::format("ATTACH DATABASE {} AS held", sql::quote_identifier(input.string())));
  } else if (name == "held_by_hyperd_in_place") {
    // Only reading it there; replacing it would still pull it from under that program.
    fs::copy_file(testing::fragmented_fixture(), input);
    holder = std::make_unique<sql::Connection>(testing::shared_engine().endpoint());
    holder->exec(fmt::format("ATTACH DATABASE {} AS held WITH (access_mode = 'readonly')",
                             sql::quote_identifier(input.string())));
    args = {"--in-place", input.string()};
  } else if (name == "backup_exists") {
    fs::copy_file(testing::fragmented_fixture(), input);
    testing::write_bytes(dir / "in.bak.hyper", "older backup");
    args = {"--in-place", "--backup", input.string()};
  } else if (name == "backup_without_in_place") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"--backup", (dir / "keep.hyper").string(), input.string()};
  } else if (name == "in_place_with_output") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"--in-place", "-o", (dir / "out.hyper").string(), input.string()};
  } else if (name == "missing") {
    // nothing there
  } else if (name == "directory") {
    fs::create_directory(input);
  } else if (name == "empty") {
    testing::write_bytes(input, "");
  } else if (name == "random") {
    std::string noise(100'000, '\0');
    for (std::size_t i = 0; i < noise.size(); ++i)
      noise[i] = static_cast<char>((i * 2654435761u) >> 13);
    testing::write_bytes(input, noise);
  } else if (name == "truncated") {
    testing::write_bytes(input,
                         testing::read_bytes(testing::fragmented_fixture()).substr(0, 30'000));
  } else if (name == "output_exists") {
    fs::copy_file(testing::fragmented_fixture(), input);
    testing::write_bytes(dir / "in.new.hyper", "keep me");
  } else if (name == "output_is_input") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"-o", (dir / "." / "in.hyper").string(), input.string(), "--force"};
  } else if (name == "output_dir_missing") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"-o", (dir / "no" / "out.hyper").string(), input.string()};
  } else if (name == "bad_option") {
    args = {"--no-such-option", input.string()};
  } else if (name == "bad_hyperd") {
    fs::copy_file(testing::fragmented_fixture(), input);
    args = {"--hyperd", (dir / "nothing").string(), input.string()};
  }
  std::vector<std::string> before_names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    before_names.push_back(entry.path().filename().string());
  const bool input_is_file = fs::is_regular_file(input);
  const auto before = input_is_file ? testing::read_bytes(input) : std::string();

  const auto result = run_hyperdefrag(args, prefix);

  EXPECT_EQ(result.exit_code, param.exit_code) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, param.cause)) << result.err;
  if (name != "bad_option" && name != "in_place_with_output" && name != "backup_without_in_place") {
    // The file at fault: the output path, the hyperd given, or the input.
    const char* culprit = name == "output_dir_missing" ? "out.hyper"
                          : name == "bad_hyperd"       ? "nothing"
                                                       : "in.";
    EXPECT_TRUE(contains(result.err, culprit)) << result.err;
  }
  EXPECT_EQ(testing::unexpected_files(dir.path(), before_names), std::vector<std::string>{});
  if (input_is_file) {
    EXPECT_TRUE(testing::has_bytes(input, before));
  }
  if (name == "output_exists") {
    EXPECT_TRUE(testing::has_bytes(dir / "in.new.hyper", "keep me"));
  }
  if (name == "backup_exists") {
    EXPECT_TRUE(testing::has_bytes(dir / "in.bak.hyper", "older backup"));
  }
  if (holder) holder->exec("DETACH DATABASE held");
}

INSTANTIATE_TEST_SUITE_P(
    EachCase, CliBadInput,
    ::testing::Values(BadCase{"missing", 3, "No such file or directory"},
                      BadCase{"directory", 3, "is a directory"}, BadCase{"empty", 3, "is empty"},
                      BadCase{"random", 3, "not a Hyper database"},
                      BadCase{"truncated", 3, "truncated"},
                      BadCase{"output_exists", 4, "already exists"},
                      BadCase{"output_is_input", 4, "is the input file itself"},
                      BadCase{"output_dir_missing", 4, "does not exist"},
                      BadCase{"bad_option", 2, "no-such-option"},
                      BadCase{"bad_hyperd", 5, "not an executable file"},
                      BadCase{"too_new", 3, "written by a newer Hyper than this engine reads"},
                      BadCase{"unreadable", 3, "cannot be read: Permission denied"},
                      BadCase{"output_dir_not_writable", 4, "is not writable: Permission denied"},
                      BadCase{"in_place_dir_not_writable", 4, "cannot be replaced in place"},
                      BadCase{"output_is_input_relative", 4, "is the input file itself"},
                      BadCase{"held_by_hyperd", 9, "another program has it open for writing"},
                      BadCase{"held_by_hyperd_in_place", 9, "another program has it open"},
                      BadCase{"backup_exists", 4, "already exists"},
                      BadCase{"in_place_with_output", 2, "--in-place"},
                      BadCase{"backup_without_in_place", 2, "--backup only goes with --in-place"}),
    [](const auto& info) { return std::string(info.param.name); });

// Ctrl-C mid-copy (the run held there, testing::HeldRun): the engine is shut
// down, the temporary output removed, the input untouched, and the exit code
// is 130.
TEST(Cli, InterruptStopsEngineAndLeavesNothing) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto before = testing::read_bytes(dir / "in.hyper");
  testing::HeldRun run({(dir / "in.hyper").string()}, dir.path());
  ASSERT_TRUE(run.copying());
  ASSERT_EQ(kill(run.pid(), SIGINT), 0);
  const auto result = run.wait();
  EXPECT_EQ(result.exit_code, 130) << result.err;
  EXPECT_TRUE(contains(result.err, (dir / "in.hyper").string() + ": interrupted by SIGINT"))
      << result.err;
  EXPECT_FALSE(contains(result.out, "Successfully converted " + (dir / "in.hyper").string()))
      << result.out;
  EXPECT_TRUE(testing::wait_gone(run.engine(), 5'000));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
  EXPECT_TRUE(testing::has_bytes(dir / "in.hyper", before));
}

// kill -9 of the tool: hyperd notices its callback connection close and exits
// by itself, so no orphan keeps the file open.
TEST(Cli, KilledToolLeavesNoEngineBehind) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  testing::HeldRun run({(dir / "in.hyper").string()}, dir.path());
  ASSERT_TRUE(run.copying());
  ASSERT_EQ(kill(run.pid(), SIGKILL), 0);
  run.wait();
  EXPECT_TRUE(testing::wait_gone(run.engine(), 30'000))
      << "hyperd " << run.engine() << " is still running";
  // The file is free again: another run can open it.
  const auto again = run_hyperdefrag({(dir / "in.hyper").string(), "--force"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace
}  // namespace hyperdefrag
