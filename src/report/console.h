// Where hyperdefrag's words go. stdout carries the report (human lines, or
// JSON); stderr carries errors, verbose details and, only when stderr is a
// terminal, one live status line. Colour and the status line are used only on
// a terminal, so output captured to a pipe or a file holds no control
// characters. Safe to use from several threads: every line is written whole.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace hyperdefrag::report {

enum class Verbosity { quiet, normal, verbose };

// Whether a file descriptor is a terminal that takes escape sequences
// (isatty, TERM is not "dumb", NO_COLOR is unset).
bool is_fancy_terminal(int fd);

class Console {
 public:
  // `report_on_stdout`: human report lines go to stdout (false with --json,
  // where stdout holds only the JSON document).
  Console(Verbosity verbosity, bool report_on_stdout);
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  Verbosity verbosity() const { return verbosity_; }
  bool progress_wanted() const { return err_fancy_ && verbosity_ != Verbosity::quiet; }

  // A human report line (stdout), unless quiet or JSON.
  void line(std::string_view text);
  // A line only -v shows (stderr).
  void detail(std::string_view text);
  // An error: always shown, on stderr, one line.
  void error(std::string_view text);
  // Raw text on stdout (the JSON document), shown even when quiet.
  void data(std::string_view text);
  // The live status line; ignored unless stderr is a terminal.
  void status(std::string_view text);
  void clear_status();

  // "\x1b[32m" ... on a terminal, "" otherwise.
  std::string green(std::string_view text) const;
  std::string red(std::string_view text) const;

 private:
  void clear_status_locked();
  void write_locked(int fd, std::string_view text);

  std::mutex mutex_;
  Verbosity verbosity_;
  bool report_on_stdout_;
  bool out_fancy_;
  bool err_fancy_;
  bool status_shown_ = false;
};

}  // namespace hyperdefrag::report
