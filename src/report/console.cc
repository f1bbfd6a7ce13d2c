#include "report/console.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/text.h"

namespace hyperdefrag::report {

bool is_fancy_terminal(int fd) {
  if (isatty(fd) == 0) return false;
  const char* term = std::getenv("TERM");
  if (term == nullptr || std::strcmp(term, "dumb") == 0) return false;
  const char* no_color = std::getenv("NO_COLOR");
  return no_color == nullptr || no_color[0] == '\0';
}

Console::Console(Verbosity verbosity, bool report_on_stdout)
    : verbosity_(verbosity),
      report_on_stdout_(report_on_stdout),
      out_fancy_(is_fancy_terminal(STDOUT_FILENO)),
      err_fancy_(is_fancy_terminal(STDERR_FILENO)) {}

void Console::write_locked(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // a closed pipe: nothing more can be said
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Console::clear_status_locked() {
  if (!status_shown_) return;
  write_locked(STDERR_FILENO, "\r\x1b[K");
  status_shown_ = false;
}

void Console::line(std::string_view text) {
  if (verbosity_ == Verbosity::quiet || !report_on_stdout_) return;
  std::lock_guard lock(mutex_);
  clear_status_locked();
  write_locked(STDOUT_FILENO, std::string(text) + "\n");
}

void Console::detail(std::string_view text) {
  if (verbosity_ != Verbosity::verbose) return;
  std::lock_guard lock(mutex_);
  clear_status_locked();
  write_locked(STDERR_FILENO, one_line(std::string(text)) + "\n");
}

void Console::error(std::string_view text) {
  std::lock_guard lock(mutex_);
  clear_status_locked();
  const std::string message = one_line(std::string(text));
  write_locked(STDERR_FILENO, (err_fancy_ ? "\x1b[31m" + message + "\x1b[0m" : message) + "\n");
}

void Console::data(std::string_view text) {
  std::lock_guard lock(mutex_);
  clear_status_locked();
  write_locked(STDOUT_FILENO, text);
}

void Console::status(std::string_view text) {
  if (!progress_wanted()) return;
  std::lock_guard lock(mutex_);
  write_locked(STDERR_FILENO, "\r\x1b[K" + one_line(std::string(text)));
  status_shown_ = true;
}

void Console::clear_status() {
  std::lock_guard lock(mutex_);
  clear_status_locked();
}

std::string Console::green(std::string_view text) const {
  return out_fancy_ ? "\x1b[32m" + std::string(text) + "\x1b[0m" : std::string(text);
}

std::string Console::red(std::string_view text) const {
  return out_fancy_ ? "\x1b[31m" + std::string(text) + "\x1b[0m" : std::string(text);
}

}  // namespace hyperdefrag::report
