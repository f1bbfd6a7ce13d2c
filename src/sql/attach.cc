#include "sql/attach.h"

#include <fmt/format.h>

#include "sql/quote.h"

namespace hyperdefrag::sql {

Attached::Attached(Connection& connection, const std::filesystem::path& path, std::string alias,
                   AttachMode mode)
    : connection_(connection), alias_(std::move(alias)) {
  connection_.exec(fmt::format(
      "ATTACH DATABASE {} AS {}{}", quote_identifier(path.string()), quote_identifier(alias_),
      mode == AttachMode::read_only ? " WITH (access_mode = 'readonly')" : ""));
  attached_ = true;
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

}  // namespace hyperdefrag::sql
