// The one error type of hyperdefrag: what went wrong, said for a person, and
// the exit code the command-line tool returns for it.
#pragma once

#include <stdexcept>
#include <string>

namespace hyperdefrag {

// Exit codes of the hyperdefrag command. Each kind of failure has its own
// code so that scripts can tell them apart; docs/USAGE.md lists them.
enum class ExitCode : int {
  ok = 0,
  internal = 1,               // a bug or an unexpected system failure
  usage = 2,                  // bad command-line options
  bad_input = 3,              // the input is missing, unreadable or not a .hyper file
  bad_output = 4,             // the output exists, is the input, or cannot be written
  engine = 5,                 // hyperd could not be found, started, or it died
  copy_failed = 6,            // the engine refused a statement during the copy
  verify_failed = 7,          // the copy is not equal to the input
  no_space = 8,               // not enough free disk space for the copy
  busy = 9,                   // another program (or hyperdefrag run) has the file open
  some_failed = 10,           // several files were given and at least one failed
  incompatible_version = 11,  // the asked-for format version cannot hold the data
  unreadable_values = 12,     // check --deep: the engine cannot read some values
  interrupted_hup = 129,
  interrupted_int = 130,
  interrupted_term = 143,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace hyperdefrag
