// What a run tells its user: the JSON report, --report, -q, -v, and the live
// progress line, which appears only when stderr is a terminal.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

extern char** environ;

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

using testing::contains;

TEST(ReportCli, JsonReportOfARun) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto result = run_hyperdefrag({"--json", (dir / "in.hyper").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  const auto json = nlohmann::json::parse(result.out);  // nothing but the document
  EXPECT_EQ(json["hyperdefrag_report"], 1);
  EXPECT_EQ(json["exit_code"], 0);
  ASSERT_EQ(json["files"].size(), 1u);
  const auto& file = json["files"][0];
  EXPECT_EQ(file["input"], (dir / "in.hyper").string());
  EXPECT_EQ(file["output"], (dir / "in.new.hyper").string());
  EXPECT_EQ(file["ok"], true);
  EXPECT_EQ(file["size_before"], fs::file_size(dir / "in.hyper"));
  EXPECT_EQ(file["size_after"], fs::file_size(dir / "in.new.hyper"));
  EXPECT_EQ(file["saved_bytes"].get<long long>(),
            static_cast<long long>(fs::file_size(dir / "in.hyper")) -
                static_cast<long long>(fs::file_size(dir / "in.new.hyper")));
  EXPECT_GT(file["saved_percent"].get<double>(), 40.0);
  EXPECT_EQ(file["hyper"]["format_version_before"], 2);
  EXPECT_EQ(file["hyper"]["format_version_after"], 2);
  EXPECT_EQ(file["hyper"]["tables"][0]["schema"], "Extract");
  EXPECT_EQ(file["hyper"]["tables"][0]["table"], "Extract");
  EXPECT_EQ(file["hyper"]["tables"][0]["rows"], 1'200'000);
  EXPECT_GT(file["hyper"]["tables"][0]["seconds"].get<double>(), 0.0);
  EXPECT_EQ(json["totals"]["succeeded"], 1);
}

TEST(ReportCli, ReportFileBesideTheHumanLinesAndQuietPrintsNothing) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto result = run_hyperdefrag(
      {"-q", "--report", (dir / "report.json").string(), (dir / "in.hyper").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "");
  const auto json = nlohmann::json::parse(testing::read_bytes(dir / "report.json"));
  EXPECT_EQ(json["files"][0]["size_after"], fs::file_size(dir / "in.new.hyper"));

  // Quiet still prints errors, one line.
  const auto again = run_hyperdefrag({"-q", (dir / "in.hyper").string()});
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_EQ(again.out, "");
  EXPECT_TRUE(contains(again.err, "already exists")) << again.err;
}

TEST(ReportCli, ReportFileThatCannotBeWrittenFailsFirst) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto result =
      run_hyperdefrag({"--report", (dir / "no" / "r.json").string(), (dir / "in.hyper").string()});
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_TRUE(contains(result.err, "r.json: cannot write the report")) << result.err;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"in.hyper"}), std::vector<std::string>{});
}

TEST(ReportCli, VerboseShowsTheEngineLogAndEachStatementsTime) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto result = run_hyperdefrag({"-v", (dir / "in.hyper").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "Successfully converted table")) << result.out;
  const auto log_at = result.err.find("engine log: ");
  ASSERT_NE(log_at, std::string::npos) << result.err;
  const auto log_dir =
      result.err.substr(log_at + 12, result.err.find(' ', log_at + 12) - log_at - 12);
  EXPECT_TRUE(fs::exists(fs::path(log_dir) / "hyperd.log")) << log_dir;
  fs::remove_all(log_dir);
  EXPECT_TRUE(contains(result.err, " s  ATTACH DATABASE")) << result.err;
  EXPECT_TRUE(contains(result.err, " s  INSERT INTO \"output_database\".\"Extract\".\"Extract\""))
      << result.err;
}

TEST(ReportCli, QuietAndVerboseExcludeEachOther) {
  const auto result = run_hyperdefrag({"-q", "-v", "x.hyper"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

// Captured to files, the output never holds a control character: no colour,
// no progress line, also when a run fails.
TEST(ReportCli, OutputToFilesHasNoControlCharacters) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  testing::write_bytes(dir / "bad.hyper", "Hyper but not really");
  const auto result =
      run_hyperdefrag({"-v", (dir / "in.hyper").string(), (dir / "bad.hyper").string()});
  EXPECT_EQ(result.exit_code, 10);
  EXPECT_FALSE(testing::has_control_characters(result.out)) << result.out;
  EXPECT_FALSE(testing::has_control_characters(result.err)) << result.err;
  for (const auto& line : {std::string("engine log: "), std::string("bad.hyper")}) {
    EXPECT_TRUE(contains(result.err, line)) << result.err;
  }
  const auto log_at = result.err.find("engine log: ");
  fs::remove_all(result.err.substr(log_at + 12, result.err.find(' ', log_at + 12) - log_at - 12));
}

// With stderr on a terminal (a pseudo-terminal here) and stdout in a file,
// the live status line goes to the terminal and the report stays clean.
TEST(ReportCli, ProgressLineOnATerminalOnly) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  const auto out_path = dir / "stdout";
  // Everything the child needs is made before fork: it only opens, dups and execs.
  std::vector<std::string> args = {HYPERDEFRAG_BINARY, "--report", (dir / "r.json").string(),
                                   (dir / "in.hyper").string()};
  std::vector<std::string> env = {"TERM=xterm"};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("TERM=", 0) != 0 && entry.rfind("NO_COLOR=", 0) != 0) env.push_back(entry);
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  std::string terminal;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n > 0) {
      terminal.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has gone
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << terminal;
  const auto out = testing::read_bytes(out_path);
  EXPECT_FALSE(testing::has_control_characters(out)) << out;
  EXPECT_TRUE(contains(out, "Successfully converted table")) << out;
  const auto json = nlohmann::json::parse(testing::read_bytes(dir / "r.json"));
  if (json["files"][0]["hyper"]["tables"][0]["seconds"].get<double>() < 0.6) {
    GTEST_SKIP() << "the copy was too quick for the status line (drawn every 0.25 s)";
  }
  EXPECT_TRUE(contains(terminal, "\r\x1b[K")) << terminal;
  EXPECT_TRUE(contains(terminal, "table 1/1 \"Extract\".\"Extract\" (1,200,000 rows): "))
      << terminal;
  EXPECT_TRUE(contains(terminal, " written")) << terminal;
  EXPECT_TRUE(contains(terminal, " elapsed")) << terminal;
}

}  // namespace
}  // namespace hyperdefrag
