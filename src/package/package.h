// Tableau's packaged workbooks and data sources (.twbx, .tdsx): zip archives
// holding extracts (.hyper, usually under Data/Extracts/) beside the workbook
// XML and other payload.
//
// Defragmenting a package, in order:
//  1. Preflight: the input is a readable zip archive holding at least one
//     .hyper entry; the output is not the input, does not exist unless
//     --force, and its directory is writable.
//  2. Extract each .hyper entry into a private directory (util/private_dir.h),
//     under a name made from its index (never from the entry's name).
//  3. Defragment each extract there (defrag/defrag.h), on the caller's engine.
//  4. Write the new archive under a temporary name beside the output: every
//     entry in the input's order, with its name, time stamp, attributes and
//     comment; a .hyper entry gets the compacted file, with its original
//     compression method; every other entry is copied as it is, compressed
//     data included, so its bytes are identical.
//  5. Rename it into place. The private directory goes on every exit path.
//
// Disk cost: in the temporary directory, twice the extracts' size; beside the
// output, the new package.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "defrag/defrag.h"
#include "report/report.h"
#include "util/private_dir.h"

namespace hyperdefrag::package {

// True for names ending in .twbx or .tdsx (any case).
bool is_package(const std::filesystem::path& path);

// <dir>/<stem>.new.<ext>
std::filesystem::path default_output_path(const std::filesystem::path& input);

struct PackageOptions {
  std::filesystem::path input;
  std::optional<std::filesystem::path> output;
  // How each extract is defragmented; `force` applies to the package's output.
  DefragOptions defrag;
};

// Runs the steps above. `hooks.engine` must be set. Throws hyperdefrag::Error
// naming the package (and the entry) and the cause; nothing is left behind.
report::FileResult defragment_package(const PackageOptions& options, const DefragHooks& hooks);

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

// The total uncompressed size of the .hyper entries, for --dry-run. Throws
// like Unpacked.
std::uintmax_t extracts_size(const std::filesystem::path& package);

}  // namespace hyperdefrag::package
