// A small RAII face on libpq for talking to hyperd: a connection that is open
// for its whole life, results owned by PQclear, and errors that carry the
// SQLSTATE and the statement that failed.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hyperdefrag::sql {

// Whether an engine message says a database file could not grow because its
// file system is full ("growing the database file failed", "No space left on
// device").
bool says_disk_full(std::string_view message);

// The engine refused a statement, or the connection broke.
class SqlError : public std::runtime_error {
 public:
  SqlError(std::string sqlstate, std::string message, std::string statement);
  const std::string& sqlstate() const { return sqlstate_; }
  // The engine's own primary message, without SQLSTATE or statement.
  const std::string& engine_message() const { return engine_message_; }
  const std::string& statement() const { return statement_; }
  // The connection to hyperd broke (SQLSTATE class 08): the engine's fault,
  // whatever the statement was.
  bool connection_lost() const { return sqlstate_.rfind("08", 0) == 0; }
  // The file system under a database is full: SQL's disk_full (53100), or
  // hyperd's "growing the database file failed", which it sends with
  // SQLSTATE 53200 while inserting and 58P01 while creating the database
  // (measured on a full tmpfs, docs/ENGINE.md).
  bool disk_full() const;

 private:
  std::string sqlstate_;
  std::string engine_message_;
  std::string statement_;
};

// A query result in text format. Values are views into libpq's memory and
// live as long as the Result.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  int columns() const { return PQnfields(result_.get()); }
  std::string column_name(int column) const { return PQfname(result_.get(), column); }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view value(int row, int column) const;
  std::optional<std::string> optional_value(int row, int column) const;
  // The value as a number. Throws hyperdefrag::Error (ExitCode::engine) if the
  // engine returned no such cell, NULL, or text that is not a whole number.
  long long integer(int row, int column) const;
  // The value as a floating-point number ("1.5", "2e+06"); throws like integer().
  double real(int row, int column) const;
  bool boolean(int row, int column) const { return value(row, column) == "t"; }
  // Rows affected by INSERT, UPDATE or DELETE (0 for other statements); throws
  // like integer() if the engine's count is not a number.
  long long affected_rows() const;
  ExecStatusType status() const { return PQresultStatus(result_.get()); }
  // An error field such as PG_DIAG_SQLSTATE, or nullptr.
  const char* field(int code) const { return PQresultErrorField(result_.get(), code); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// Where and how to reach a running hyperd.
struct Endpoint {
  std::string socket_directory;  // libpq's host: a directory holding the socket
  std::string port;              // the socket is <directory>/.s.PGSQL.<port>
};

// Told about every statement after it ran (or failed), with its duration.
using StatementObserver = std::function<void(std::string_view statement, double seconds)>;

class Connection {
 public:
  explicit Connection(const Endpoint& endpoint);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with the simple query protocol, in autocommit.
  // Throws SqlError on failure, and hyperdefrag::Error (exit 129/130/143) if a
  // signal asked us to stop.
  Result exec(std::string_view statement);

  // Reports every later statement to `observer` (empty: to no one).
  void set_observer(StatementObserver observer) { observer_ = std::move(observer); }

  // The server's parameter, e.g. "server_version".
  std::string parameter(const char* name) const;

 private:
  PGconn* connection_ = nullptr;
  PGcancel* cancel_ = nullptr;
  StatementObserver observer_;
};

}  // namespace hyperdefrag::sql
