// What a run tells its user: the JSON report, --report, -q, -v, and the live
// progress line, which appears only when stderr is a terminal.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
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

// With stderr on a terminal (a pseudo-terminal here) and stdout not one, the
// live status line goes to the terminal and the report stays clean. To see a
// redraw whatever the machine's speed, the run is held: its stdout is a full
// pipe (testing::make_full_pipe), so it cannot get past its first report line
// and its hyperd is surely running; hyperd is then stopped (SIGSTOP) and the
// pipe drained, so the run waits on its engine, holding nothing the status
// line needs, until the terminal shows a redraw; then hyperd goes on.
// src/report/progress_test.cc shows the line's content during a table copy.
TEST(ReportCli, ProgressLineOnATerminalOnly) {
  testing::ScratchDir dir;
  fs::copy_file(testing::fragmented_fixture(), dir / "in.hyper");
  // Everything the child needs is made before fork: it only dups and execs.
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
  const auto out = testing::make_full_pipe();
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out.write_end, STDOUT_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out.write_end);

  std::string terminal;
  std::string report;
  bool terminal_open = true;
  bool report_open = true;
  // Reads what both have to say, for up to `timeout_ms`; false once both are closed.
  const auto read_some = [&](int timeout_ms) {
    std::vector<pollfd> fds;
    if (terminal_open) fds.push_back({master, POLLIN, 0});
    if (report_open) fds.push_back({out.read_end, POLLIN, 0});
    if (fds.empty()) return false;
    if (poll(fds.data(), fds.size(), timeout_ms) <= 0) return true;
    for (const auto& fd : fds) {
      if (fd.revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fd.fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      auto& text = fd.fd == master ? terminal : report;
      if (n > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
      } else {
        (fd.fd == master ? terminal_open : report_open) = false;  // EIO or EOF: gone
      }
    }
    return true;
  };

  const auto engine = testing::child_hyperd(pid, 60'000);
  const bool copying = engine && testing::wait_for_temporary(dir.path(), 60'000);
  const bool stopped = copying && kill(*engine, SIGSTOP) == 0;
  const std::string redraw = "\r\x1b[Kin.hyper";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (stopped && !testing::contains(terminal, redraw) &&
         std::chrono::steady_clock::now() < deadline) {
    read_some(100);  // drains the report too, which lets the run reach its engine
  }
  const bool redrawn = testing::contains(terminal, redraw);
  if (engine) kill(*engine, SIGCONT);
  while (read_some(1000)) {
  }
  close(master);
  close(out.read_end);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(copying) << "the run never created its temporary copy";
  ASSERT_TRUE(stopped) << std::strerror(errno);
  EXPECT_TRUE(redrawn) << terminal;
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << terminal;
  const auto stdout_text = report.substr(std::min(out.filler, report.size()));
  EXPECT_FALSE(testing::has_control_characters(stdout_text)) << stdout_text;
  EXPECT_TRUE(contains(stdout_text, "Successfully converted table")) << stdout_text;
  EXPECT_TRUE(contains(stdout_text, "Successfully converted " + (dir / "in.hyper").string()))
      << stdout_text;
  // The report lines went to stdout only; the terminal had the status line.
  EXPECT_FALSE(contains(terminal, "Successfully converted")) << terminal;
  const auto json = nlohmann::json::parse(testing::read_bytes(dir / "r.json"));
  EXPECT_EQ(json["exit_code"], 0);
}

}  // namespace
}  // namespace hyperdefrag
