// The one error type of hyperdefrag: what went wrong, said for a person, and
// the exit code the command-line tool returns for it.
#pragma once

#include <filesystem>
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
  copy_failed = 6,            // the engine refused a statement during the copy or an estimate
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

// What went wrong: a kind (the exit code), the file or other thing it
// happened to (the subject, may be empty), and the cause, said for a person.
// what() is "subject: cause", the one line the command-line tool prints.
// After LevelDB's Status(kind, file, detail).
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::filesystem::path subject, const std::string& cause)
      : std::runtime_error(subject.empty() ? cause : subject.string() + ": " + cause),
        code_(code),
        subject_(std::move(subject)),
        cause_(cause) {}
  // An error about no file in particular (a bad option, an interruption).
  Error(ExitCode code, const std::string& cause) : Error(code, {}, cause) {}

  ExitCode code() const { return code_; }
  const std::filesystem::path& subject() const { return subject_; }
  const std::string& cause() const { return cause_; }

  // The same error about another subject: an extract's error is about the
  // package that holds it ("Sales.twbx [Data/x.hyper]: ...").
  Error about(std::filesystem::path subject) const { return {code_, std::move(subject), cause_}; }

 private:
  ExitCode code_;
  std::filesystem::path subject_;
  std::string cause_;
};

}  // namespace hyperdefrag
