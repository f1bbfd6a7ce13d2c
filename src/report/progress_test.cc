#include "report/progress.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "defrag/defrag.h"
#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag::report {
namespace {

TEST(Progress, SecondsLeftFromTheRateSoFar) {
  EXPECT_EQ(seconds_left(0, 1.0, 100), std::nullopt);
  EXPECT_EQ(seconds_left(10, 0.0, 100), std::nullopt);
  EXPECT_DOUBLE_EQ(*seconds_left(25, 5.0, 100), 15.0);  // 5 bytes/s, 75 to go
  EXPECT_DOUBLE_EQ(*seconds_left(200, 5.0, 100), 0.0);
}

TEST(Progress, ClockTime) {
  EXPECT_EQ(clock_time(0), "0:00");
  EXPECT_EQ(clock_time(7.4), "0:07");
  EXPECT_EQ(clock_time(65), "1:05");
  EXPECT_EQ(clock_time(3723), "1:02:03");
}

// The status line follows the output file as it grows, learns bytes per row
// from a finished table and uses it for the next one's estimate.
TEST(Progress, RenderFollowsTheOutputFile) {
  testing::ScratchDir dir;
  const auto output = dir / "out.tmp.hyper";
  testing::write_bytes(output, std::string(1000, 'x'));
  Console console(Verbosity::normal, true);  // not a terminal here: no thread draws
  Progress progress(console, 3);
  progress.file_started(0, dir / "in.hyper", 100'000);
  EXPECT_NE(progress.render().find("in.hyper: reading the catalog"), std::string::npos)
      << progress.render();

  progress.table_started(0, {"S", "T", 0, 2, 1000, 0, output});
  testing::write_bytes(output, std::string(1000 + 4096, 'x'));
  const auto first = progress.render();
  EXPECT_EQ(
      first.rfind("[0/3 files] in.hyper table 1/2 \"S\".\"T\" (1,000 rows): 4.0 KiB written", 0),
      0u)
      << first;
  EXPECT_NE(first.find("<= "), std::string::npos) << first;  // bounded by the input's size

  progress.table_done(0, {"S", "T", 1000, 0.1});
  progress.table_started(0, {"S", "U", 1, 2, 2000, 0, output});
  testing::write_bytes(output, std::string(1000 + 4096 + 4096, 'x'));
  const auto second = progress.render();
  EXPECT_NE(second.find("table 2/2 \"S\".\"U\" (2,000 rows): 4.0 KiB written"), std::string::npos)
      << second;
  EXPECT_NE(second.find(" left"), std::string::npos) << second;
  EXPECT_EQ(second.find("<= "), std::string::npos) << second;  // learned: ~ estimate

  progress.file_done(0);
  EXPECT_EQ(progress.render(), "[1/3 files] starting");
}

// Before any table is done, the input's live share (rows over row versions)
// scales its size into the expected output: 100,000 bytes * 1,000 / 4,000.
TEST(Progress, FirstEstimateFromTheLiveShareOfTheInput) {
  testing::ScratchDir dir;
  const auto output = dir / "out.tmp.hyper";
  testing::write_bytes(output, "");
  Console console(Verbosity::normal, true);
  Progress progress(console, 1);
  progress.file_started(0, dir / "in.hyper", 100'000);
  progress.table_started(0, {"S", "T", 0, 1, 1000, 4000, output});
  usleep(200'000);
  testing::write_bytes(output, std::string(25'000, 'x'));  // all of the expected 25,000 bytes
  const auto line = progress.render();
  EXPECT_EQ(line.find("<= "), std::string::npos) << line;
  EXPECT_NE(line.find(", ~0:00 left"), std::string::npos) << line;
}

// This process's stderr on a pseudo-terminal (and TERM=xterm, NO_COLOR
// unset) for the object's life, as a terminal user runs hyperdefrag; what is
// written there is read from the master side.
class StderrOnATerminal {
 public:
  StderrOnATerminal() {
    if (openpty(&master_, &slave_, nullptr, nullptr, nullptr) != 0) return;
    fflush(stderr);
    saved_stderr_ = dup(STDERR_FILENO);
    dup2(slave_, STDERR_FILENO);
    if (const char* term = std::getenv("TERM")) term_ = term;
    if (const char* no_color = std::getenv("NO_COLOR")) no_color_ = no_color;
    setenv("TERM", "xterm", 1);
    unsetenv("NO_COLOR");
  }
  ~StderrOnATerminal() {
    if (saved_stderr_ >= 0) {
      dup2(saved_stderr_, STDERR_FILENO);
      close(saved_stderr_);
    }
    term_ ? setenv("TERM", term_->c_str(), 1) : unsetenv("TERM");
    if (no_color_) setenv("NO_COLOR", no_color_->c_str(), 1);
    if (slave_ >= 0) close(slave_);
    if (master_ >= 0) close(master_);
  }
  bool ok() const { return saved_stderr_ >= 0; }

  // Reads what was written until `part` has appeared or `timeout` has
  // passed (a failure, not a race: the status line is redrawn every 0.25 s
  // while the run waits for it); everything read so far.
  const std::string& read_until(const std::string& part, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (text_.find(part) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      read_some(100);
    }
    return text_;
  }
  // Reads whatever is there now.
  const std::string& read_rest() {
    while (read_some(0)) {
    }
    return text_;
  }

 private:
  bool read_some(int timeout_ms) {
    pollfd fd{master_, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) <= 0) return false;
    char buffer[4096];
    const ssize_t n = read(master_, buffer, sizeof buffer);
    if (n <= 0) return false;
    text_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int master_ = -1;
  int slave_ = -1;
  int saved_stderr_ = -1;
  std::optional<std::string> term_;
  std::optional<std::string> no_color_;
  std::string text_;
};

// The live status line of a real run, with stderr on a terminal: the run is
// held inside its table-start hook (wired as the command line wires it) until
// the terminal shows the table being copied, so the line is seen whatever
// the machine's speed. The line is then cleared when the progress ends.
TEST(Progress, DrawsTheTableBeingCopiedOnATerminal) {
  testing::ScratchDir dir;
  const auto input = dir / "in.hyper";
  testing::connect().exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(input.string())));
  testing::with_attached(input, {"CREATE SCHEMA db.s", "CREATE TABLE db.s.t (id INTEGER)",
                                 "INSERT INTO db.s.t SELECT g FROM generate_series(1, 1234) AS g"});
  DefragOptions options;
  options.input = input;
  options.output = dir / "out.hyper";

  std::string seen;
  {
    StderrOnATerminal terminal;
    ASSERT_TRUE(terminal.ok()) << "openpty: " << std::strerror(errno);
    Console console(Verbosity::normal, true);
    ASSERT_TRUE(console.progress_wanted());
    {
      Progress progress(console, 1);
      progress.file_started(0, input, std::filesystem::file_size(input));
      DefragHooks hooks;
      hooks.engine = &testing::shared_engine();
      hooks.on_table_start = [&](const TableStart& table) {
        progress.table_started(0, table);
        seen = terminal.read_until(" elapsed", std::chrono::seconds(60));
      };
      hooks.on_table = [&](const TableResult& table) { progress.table_done(0, table); };
      defragment(options, hooks);
    }
    seen = terminal.read_rest();
  }
  // Nothing is written yet while the hook holds the run; the elapsed time is
  // whatever the first redraw found.
  EXPECT_TRUE(
      testing::contains(seen, "\r\x1b[Kin.hyper table 1/1 \"s\".\"t\" (1,234 rows): 0 B written, "))
      << seen;
  EXPECT_TRUE(testing::contains(seen, " elapsed")) << seen;
  // Cleared at the end, so that what follows starts on a clean line.
  EXPECT_EQ(seen.substr(seen.size() - 4), "\r\x1b[K") << seen;
  EXPECT_EQ(testing::table_counts(options.output.value()), std::vector<std::string>{"s.t=1234"});
}

}  // namespace
}  // namespace hyperdefrag::report
