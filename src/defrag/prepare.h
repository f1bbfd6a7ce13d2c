// Step 1 of every run (the algorithm is at the top of defrag/defrag.cc): the
// checks, locks and reservations made before anything is written. A .hyper
// file, each extract of a package, the package itself and a dry run all go
// through this one preflight, and through defrag/place.h afterwards.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/files.h"
#include "util/lock.h"

namespace hyperdefrag {

// Whether existing output and backup files may be replaced (and the
// free-space check skipped).
enum class Force { no, yes };

// A dry run makes the same checks and gives the same answers as a real run,
// and leaves nothing: no file, no lock, no removed temporary.
enum class DryRun { no, yes };

// What hyperdefrag is given: a .hyper file, or a packaged workbook or data
// source (.twbx, .tdsx) holding extracts.
enum class InputKind { hyper, package };

// By name: .twbx and .tdsx (any case) are packages, everything else is read
// as a .hyper file.
InputKind input_kind(const std::filesystem::path& path);

// <dir>/<stem>.new.hyper for a .hyper file, <dir>/<stem>.new.<ext> for a package.
std::filesystem::path default_output_path(const std::filesystem::path& input);

// <dir>/<stem>.bak.hyper, or <dir>/<stem>.bak.<ext> for a package.
std::filesystem::path default_backup_path(const std::filesystem::path& input);

// What a file was when the run started: to notice a change before the swap,
// and to give the copy the same permissions.
struct FileState {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{};
  mode_t mode = 0;
  uid_t owner = 0;
  gid_t group = 0;
};

// Throws hyperdefrag::Error (bad input) naming the file.
FileState file_state(const std::filesystem::path& path);

// Where a run reads and writes, as absolute paths.
struct Destination {
  std::filesystem::path input;
  std::filesystem::path output;                 // the input itself, in place
  std::optional<std::filesystem::path> backup;  // in place with --backup
  bool in_place = false;
  Force force = Force::no;
};

// Resolves the paths of a run: the input made absolute (in place through a
// symlink: the file it points to, so that the link is kept); the output as
// given or default_output_path(); the backup as given, or
// default_backup_path() for an empty path. Throws hyperdefrag::Error
// (usage) for an output path in place, or a backup without in place.
Destination resolve_destination(const std::filesystem::path& input,
                                const std::optional<std::filesystem::path>& output, bool in_place,
                                const std::optional<std::filesystem::path>& backup, Force force);

// Disk space the run will need beyond the output's (about the input's size,
// beside the output): a package's extracts in the temporary directory.
struct SpaceNeed {
  std::filesystem::path dir;
  std::uintmax_t bytes = 0;
};

// Checks that the input is what the run can read (a .hyper file, or a package
// holding one), and returns the space it will need beyond the output's.
// Throws hyperdefrag::Error naming the input and the cause.
using InputCheck = std::function<std::vector<SpaceNeed>(const std::filesystem::path& input)>;

// A space check as made: where, how much is needed, how much is free.
struct SpaceCheck {
  std::filesystem::path dir;
  std::uintmax_t needed = 0;
  std::uintmax_t free = 0;
};

// Step 1 of the algorithm in defrag/defrag.cc, a to f, run by the
// constructor before any side effect. Throws hyperdefrag::Error naming the
// file and the cause. With DryRun::yes, d and f are skipped and no lock is
// held once the constructor returns.
class Prepared {
 public:
  Prepared(Destination destination, const InputCheck& check_input, DryRun dry_run);
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;

  const Destination& destination() const { return destination_; }
  const FileState& input_state() const { return input_state_; }
  const std::vector<SpaceCheck>& space_checks() const { return space_checks_; }
  const std::vector<std::filesystem::path>& removed_temporaries() const { return removed_; }
  // The output under its temporary name. Not in a dry run.
  TempFile& temp() { return temp_.value(); }
  FileLock& input_lock() { return input_lock_.value(); }

 private:
  Destination destination_;
  FileState input_state_;
  std::vector<SpaceCheck> space_checks_;
  std::vector<std::filesystem::path> removed_;
  std::optional<RunLock> input_run_lock_;
  std::optional<RunLock> output_run_lock_;
  std::optional<FileLock> input_lock_;
  std::optional<TempFile> temp_;
};

}  // namespace hyperdefrag
