#include "sql/attach.h"

#include <fmt/format.h>

#include "sql/quote.h"
#include "util/error.h"

namespace hyperdefrag::sql {

Attached::Attached(Connection& connection, const std::filesystem::path& path, std::string alias,
                   AttachMode mode)
    : connection_(connection), alias_(std::move(alias)) {
  const bool read_only = mode == AttachMode::read_only;
  if (read_only) connection_.exec("SET sample_min_tuples = 0");
  try {
    connection_.exec(fmt::format("ATTACH DATABASE {} AS {}{}", quote_identifier(path.string()),
                                 quote_identifier(alias_),
                                 read_only ? " WITH (access_mode = 'readonly')" : ""));
  } catch (const SqlError& error) {
    if (read_only && !error.connection_lost()) connection_.exec("RESET sample_min_tuples");
    throw;
  }
  attached_ = true;
  if (read_only) connection_.exec("RESET sample_min_tuples");
}

Attached::~Attached() {
  if (!attached_) return;
  try {
    detach();
  } catch (...) {
    // The connection is gone, or the run was interrupted (exec() refuses to
    // send anything then): the engine lets the file go when it stops.
  }
}

void Attached::detach() {
  if (!attached_) return;
  attached_ = false;
  connection_.exec(fmt::format("DETACH DATABASE {}", quote_identifier(alias_)));
}

Attached attach_input(Connection& connection, const std::filesystem::path& path,
                      std::string alias) {
  try {
    return Attached(connection, path, std::move(alias), AttachMode::read_only);
  } catch (const SqlError& error) {
    if (error.connection_lost()) throw;
    std::string cause = error.engine_message();
    const std::string prefix = "could not load database: ";
    if (cause.rfind(prefix, 0) == 0) cause = cause.substr(prefix.size());
    if (error.sqlstate() == "0AS01") {
      throw Error(ExitCode::bad_input, path,
                  fmt::format("written by a newer Hyper than this engine reads: {}", cause));
    }
    if (error.sqlstate() == "55006" ||
        cause.find("locked by another process") != std::string::npos) {
      throw Error(ExitCode::busy, path,
                  fmt::format("another program has it open for writing ({}); close it there and "
                              "try again",
                              cause));
    }
    throw Error(ExitCode::bad_input, path,
                fmt::format("cannot be opened as a Hyper database: {}", cause));
  }
}

}  // namespace hyperdefrag::sql
