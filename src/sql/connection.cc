#include "sql/connection.h"

#include <fmt/format.h>
#include <signal.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>

#include "sql/interrupt.h"
#include "util/error.h"

namespace hyperdefrag::sql {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Blocks SIGINT, SIGTERM and SIGHUP in this thread while a PGcancel is freed, so that
// the signal handler never uses one that is being released.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

void ignore_notice(void*, const char*) {}

}  // namespace

SqlError::SqlError(std::string sqlstate, std::string message, std::string statement)
    : std::runtime_error(fmt::format("{} (SQLSTATE {})", message, sqlstate)),
      sqlstate_(std::move(sqlstate)),
      engine_message_(std::move(message)),
      statement_(std::move(statement)) {}

bool says_disk_full(std::string_view message) {
  return message.find("growing the database file failed") != std::string_view::npos ||
         message.find("No space left on device") != std::string_view::npos;
}

bool SqlError::disk_full() const { return sqlstate_ == "53100" || says_disk_full(engine_message_); }

std::string_view Result::value(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::optional<std::string> Result::optional_value(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(value(row, column));
}

namespace {

// The whole of `text` as a number; an engine fault (exit 5) if it is not one.
long long engine_number(std::string_view text, std::string_view what) {
  long long number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw Error(ExitCode::engine,
                fmt::format("hyperd returned '{}' where {} was expected", text, what));
  }
  return number;
}

}  // namespace

long long Result::integer(int row, int column) const {
  if (row >= rows() || column >= columns()) {
    throw Error(ExitCode::engine,
                fmt::format("hyperd returned {} rows of {} columns where row {} column {} was "
                            "expected",
                            rows(), columns(), row + 1, column + 1));
  }
  if (is_null(row, column)) {
    throw Error(ExitCode::engine, "hyperd returned NULL where a number was expected");
  }
  return engine_number(value(row, column), "a number");
}

double Result::real(int row, int column) const {
  if (row >= rows() || column >= columns() || is_null(row, column)) {
    throw Error(ExitCode::engine,
                fmt::format("hyperd returned no value at row {} column {} where a number was "
                            "expected",
                            row + 1, column + 1));
  }
  const std::string text(value(row, column));
  char* end = nullptr;
  errno = 0;
  const double number = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      std::isspace(static_cast<unsigned char>(text.front()))) {
    throw Error(ExitCode::engine,
                fmt::format("hyperd returned '{}' where a number was expected", text));
  }
  return number;
}

long long Result::affected_rows() const {
  const std::string_view text = PQcmdTuples(result_.get());
  return text.empty() ? 0 : engine_number(text, "a count of rows");
}

Connection::Connection(const Endpoint& endpoint) {
  // Keywords, not a conninfo string, so no value needs quoting. SSL and GSS
  // encryption are off: the engine is reached through a private Unix socket.
  const char* keywords[] = {
      "host", "port", "user", "sslmode", "gssencmode", "application_name", "connect_timeout",
      nullptr};
  const char* values[] = {endpoint.socket_directory.c_str(),
                          endpoint.port.c_str(),
                          "tableau_internal_user",
                          "disable",
                          "disable",
                          "hyperdefrag",
                          "30",
                          nullptr};
  connection_ = PQconnectdbParams(keywords, values, 0);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    std::string message =
        connection_ ? trim(PQerrorMessage(connection_)) : std::string("out of memory");
    PQfinish(connection_);
    connection_ = nullptr;
    throw SqlError("08001", fmt::format("cannot connect to hyperd: {}", message), "");
  }
  PQsetNoticeProcessor(connection_, ignore_notice, nullptr);
  cancel_ = PQgetCancel(connection_);
  if (cancel_ != nullptr) register_cancel(cancel_);
}

Connection::~Connection() {
  if (cancel_ != nullptr) {
    SignalBlock block;
    unregister_cancel(cancel_);
    PQfreeCancel(cancel_);
  }
  PQfinish(connection_);
}

Result Connection::exec(std::string_view statement) {
  throw_if_interrupted();
  const std::string text(statement);
  const auto started = std::chrono::steady_clock::now();
  Result result(PQexec(connection_, text.c_str()));
  if (observer_) {
    observer_(text,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  const auto status = result.status();
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  // A statement cancelled because a signal arrived becomes the signal's error.
  throw_if_interrupted();
  if (PQstatus(connection_) == CONNECTION_BAD) {
    throw SqlError(
        "08006",
        fmt::format("lost the connection to hyperd: {}", trim(PQerrorMessage(connection_))), text);
  }
  const char* sqlstate = result.field(PG_DIAG_SQLSTATE);
  const char* primary = result.field(PG_DIAG_MESSAGE_PRIMARY);
  throw SqlError(sqlstate ? sqlstate : "XX000",
                 primary ? primary : trim(PQerrorMessage(connection_)), text);
}

std::string Connection::parameter(const char* name) const {
  const char* value = PQparameterStatus(connection_, name);
  return value ? value : "";
}

}  // namespace hyperdefrag::sql
