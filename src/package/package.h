// Tableau's packaged workbooks and data sources (.twbx, .tdsx): zip archives
// holding extracts (.hyper, usually under Data/Extracts/) beside the workbook
// XML and other payload.
//
// Defragmenting a package runs the algorithm of defrag/defrag.cc twice over:
//  1. Preflight of the package file (defrag/prepare.h): it is a readable zip
//     archive holding at least one .hyper entry; the output (or, in place,
//     the package and its backup), locks, free space beside the output and,
//     for the extracts, twice their size in the temporary directory.
//  2. Extract every .hyper entry into a private directory (util/private_dir.h),
//     under a name made from its index (never from the entry's name), each
//     refused before it costs disk if it is not a Hyper file or does not fit.
//  3. Defragment each extract there (defrag/defrag.h, all nine steps, every
//     row compared when the package is replaced in place), on the caller's
//     engine.
//  4. Write the new archive under the package's temporary name (created
//     0600): every entry in the input's order, with its name, time stamp,
//     attributes and comment; a .hyper entry gets the compacted file, with
//     its original compression method; every other entry is copied as it
//     is, compressed data included, so its bytes are identical. Reopen it and
//     check that it holds the same entries.
//  5. Into place, exactly as a .hyper file (defrag/place.h): permissions,
//     the in-place checks and the backup, the rename, the fsyncs. The private
//     directory goes on every exit path.
//
// Disk cost: in the temporary directory, twice the extracts' size; beside the
// output, the new package.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "defrag/defrag.h"
#include "defrag/prepare.h"
#include "util/private_dir.h"

namespace hyperdefrag::package {

// One .hyper file inside a package, compacted.
struct ExtractResult {
  std::string entry;  // its name inside the archive, e.g. "Data/Extracts/sales.hyper"
  DefragReport report;
};

// What defragmenting a package did.
struct PackageReport {
  std::filesystem::path input;
  std::filesystem::path output;
  std::uintmax_t size_before = 0;
  std::uintmax_t size_after = 0;
  double seconds = 0;
  std::vector<ExtractResult> extracts;
};

// What an error about one entry of a package is about: "<package> [<entry>]".
std::filesystem::path entry_subject(const std::filesystem::path& package, const std::string& entry);

// Step 1 for a package (`options.input`): the checks of defrag/prepare.h,
// with a package's own input check. A dry run (DryRun::yes) gives the same
// answer and leaves nothing. Throws hyperdefrag::Error naming the file.
std::unique_ptr<Prepared> preflight(const DefragOptions& options, DryRun dry_run);

// The .hyper entries of a package, extracted into a private directory that
// is removed with the object.
class Unpacked {
 public:
  struct Extract {
    std::string entry;           // the name inside the archive
    std::filesystem::path path;  // the extracted file
    std::uintmax_t size = 0;     // its uncompressed size
  };
  // Throws hyperdefrag::Error (bad input) naming the package and the cause.
  explicit Unpacked(const std::filesystem::path& package);
  const std::vector<Extract>& extracts() const { return extracts_; }
  const std::filesystem::path& directory() const { return dir_.path(); }

 private:
  PrivateDir dir_;
  std::vector<Extract> extracts_;
};

// Called once every extract is unpacked (step 2) and before any is compacted,
// with the unpacked files; false stops the run there, and nothing is written
// (--min-gain weighs a package's extracts here, on the very files the defrag
// would compact, instead of unpacking them a second time).
using ExtractsCheck = std::function<bool(const std::vector<Unpacked::Extract>&)>;

// Runs the steps above for `options.input`, each extract with `options`.
// `hooks.engine` must be set. Returns nothing when `go_on` stopped the run.
// Throws hyperdefrag::Error naming the package (and the entry) and the
// cause; nothing is left behind.
std::optional<PackageReport> defragment_package(const DefragOptions& options,
                                                const DefragHooks& hooks,
                                                const ExtractsCheck& go_on = {});

}  // namespace hyperdefrag::package
