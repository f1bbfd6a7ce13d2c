// A database file attached to a connection for as long as an object lives.
#pragma once

#include <filesystem>
#include <string>

#include "sql/connection.h"

namespace hyperdefrag::sql {

enum class AttachMode { read_only, read_write };

class Attached {
 public:
  // ATTACH DATABASE path AS alias (WITH access_mode = 'readonly' for
  // AttachMode::read_only), both quoted. Throws SqlError as exec() does.
  // A read-only attach runs with the session's sample_min_tuples at 0: hyperd
  // samples every table of a file it loads, at least 1,000 rows each by
  // default, which on 500 small tables took 0.65 to 0.92 s of a 2 s ATTACH
  // (0.12 to 0.17 s with the setting; docs/ENGINE.md). Nothing this tool
  // runs needs those samples (a copy reads every row, a check counts them),
  // and a read-only file keeps nothing of them; the setting is reset right
  // after, so that what the session writes is sampled as usual.
  Attached(Connection& connection, const std::filesystem::path& path, std::string alias,
           AttachMode mode);
  // Detaches if detach() was not called; an error then (a connection that is
  // gone, an interrupted run) is ignored, since a destructor cannot report it.
  ~Attached();
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;

  const std::string& alias() const { return alias_; }
  // DETACH DATABASE now, which makes the engine write out what it holds of
  // the file. Throws SqlError.
  void detach();

 private:
  Connection& connection_;
  std::string alias_;
  bool attached_ = false;
};

// Attaches a file the run reads, read-only. The engine's refusal becomes a
// hyperdefrag::Error about the file: busy when another process holds it
// (SQLSTATE 55006), bad input when it is from a newer Hyper (0AS01) or no
// Hyper database at all. A lost connection (SQLSTATE class 08) is the
// engine's fault, not the file's: that SqlError is rethrown as it is.
Attached attach_input(Connection& connection, const std::filesystem::path& path, std::string alias);

}  // namespace hyperdefrag::sql
