// Helpers shared by the tests: one real hyperd per test program, scratch
// directories, running the hyperdefrag binary, reading files back.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/hyper_process.h"
#include "sql/connection.h"
#include "util/private_dir.h"

namespace hyperdefrag::testing {

// True if `part` occurs in `text`.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The engine shared by the tests of one program, started on first use.
engine::HyperProcess& shared_engine();
// A new connection to the shared engine.
sql::Connection connect();

// A scratch directory removed after the test.
class ScratchDir {
 public:
  ScratchDir();
  const std::filesystem::path& path() const { return dir_.path(); }
  std::filesystem::path operator/(const std::string& name) const { return dir_.path() / name; }

 private:
  PrivateDir dir_;
};

// The whole content of a file, to show it is byte-identical before and after.
std::string read_bytes(const std::filesystem::path& path);
// Whether a file holds exactly `bytes`; if not, says how it differs (sizes,
// first differing offset) instead of printing both, which for a large file
// would exhaust memory.
::testing::AssertionResult has_bytes(const std::filesystem::path& path, const std::string& bytes);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

struct RunResult {
  int exit_code = -1;  // 128 + signal if it died of one
  std::string out;
  std::string err;
};

// A pipe whose buffer is full: a blocking write to `write_end` waits until
// `read_end` is read. Both ends are close-on-exec; the first `filler` bytes
// read are the test's own.
struct FullPipe {
  int read_end = -1;
  int write_end = -1;
  std::size_t filler = 0;
};
FullPipe make_full_pipe();

// Where a RunningTool's stdout goes.
enum class Stdout {
  file,  // captured in a file
  // A pipe filled to the brim before the start: the tool's first report line
  // (printed once the first table is copied) blocks until wait() drains it.
  // A run that has created its temporary copy is therefore held before it
  // can verify, rename or report anything, for as long as the test needs.
  held,
  // stdout captured in a file, stderr a pipe filled to the brim: the tool's
  // first error line blocks until wait() drains it (for a batch: the first
  // failed file holds the run before it starts the next file).
  stderr_held,
};

// The hyperdefrag binary running in the background, its output captured.
// `prefix` runs it through another command (see as_nobody()). A tool still
// running when the object goes (a failed assertion) is killed and reaped.
class RunningTool {
 public:
  explicit RunningTool(const std::vector<std::string>& args,
                       const std::vector<std::string>& prefix = {}, Stdout out = Stdout::file);
  ~RunningTool();
  RunningTool(const RunningTool&) = delete;
  RunningTool& operator=(const RunningTool&) = delete;
  pid_t pid() const { return pid_; }
  // Releases a held stdout, waits for the tool to exit and returns what it did.
  RunResult wait();

 private:
  ScratchDir capture_;
  pid_t pid_ = -1;
  int held_ = -1;           // the read end of a held stdout or stderr
  bool held_stderr_ = false;
  std::size_t filler_ = 0;  // bytes put in the pipe before the start
};

// A run of the binary held mid-copy: started with its stdout held, its
// hyperd found and its temporary copy present in `dir`. It then holds its
// locks, its engine runs, and it cannot verify, rename or report anything
// until wait() releases it: the point at which the tests send signals, kill
// hyperd or start a second run.
class HeldRun {
 public:
  HeldRun(const std::vector<std::string>& args, const std::filesystem::path& dir,
          const std::vector<std::string>& prefix = {});
  // Whether the run got there (hyperd and the temporary copy were seen).
  bool copying() const { return copying_; }
  pid_t pid() const { return tool_.pid(); }
  pid_t engine() const { return engine_.value_or(-1); }
  RunResult wait() { return tool_.wait(); }

 private:
  RunningTool tool_;
  std::optional<pid_t> engine_;
  bool copying_ = false;
};

// Runs the hyperdefrag binary with `args` and waits for it.
RunResult run_hyperdefrag(const std::vector<std::string>& args,
                          const std::vector<std::string>& prefix = {});

// A prefix that runs a command as the unprivileged user nobody (setpriv,
// from util-linux), or nothing if that is not possible here (or if nobody
// cannot run the hyperdefrag binary where it was built). The tests run
// as root, which ignores file permissions; permission tests need this.
std::optional<std::vector<std::string>> as_nobody();

// Files in `dir` named like hyperdefrag's temporaries.
std::vector<std::filesystem::path> temporaries_in(const std::filesystem::path& dir);

// The pid of a hyperd whose parent is `parent`, waiting up to `timeout_ms`.
std::optional<pid_t> child_hyperd(pid_t parent, int timeout_ms);

// Waits up to `timeout_ms` for a file named like a temporary to appear in `dir`.
bool wait_for_temporary(const std::filesystem::path& dir, int timeout_ms);

// Waits up to `timeout_ms` for a process to be gone; true if it is.
bool wait_gone(pid_t pid, int timeout_ms);

// Runs SQL in the shared engine on a database file attached as "db".
void with_attached(const std::filesystem::path& file, const std::vector<std::string>& statements);

// Every user table of a file with its row count, as "schema.table=count" lines.
std::vector<std::string> table_counts(const std::filesystem::path& file);

// Rewrites the format version in a copy's header (the 16-bit little-endian
// word at offset 10 of both 4 KiB header pages, each page sealed by a CRC-32C
// in its last 4 bytes), to craft a file from a newer Hyper.
void patch_header_version(const std::filesystem::path& file, int version);

// The file-format version of a file.
int format_version(const std::filesystem::path& file);

// The directory holding Tableau's own sample files (../shared/fixtures), if present.
std::optional<std::filesystem::path> shared_fixtures();

// A file's permission bits in octal ("0604"), so that a failed comparison
// reads as a mode.
std::string octal_mode(const std::filesystem::path& path);

// Files in `dir` whose names do not appear in `expected`.
std::vector<std::string> unexpected_files(const std::filesystem::path& dir,
                                          const std::vector<std::string>& expected);

// A fragmented file (fixture/fragmented.h with its default size), made once
// in the build directory and shared by all test programs; read-only.
const std::filesystem::path& fragmented_fixture();

// A small fragmented file made through the shared engine (fixture/fragmented.h).
void make_small_fragmented(const std::filesystem::path& path, long long rows = 60'000,
                           int tables = 1);

// Zip archives, made and read with libzip, for the packaged-workbook tests.
struct ZipInput {
  std::string name;
  std::string bytes;                // the content, unless `file` is set
  std::filesystem::path file;       // take the content from this file
  bool compress = true;             // deflate, else store
  long long mtime = 1'600'000'000;  // seconds since the epoch (stored at 2 s resolution)
  // Unix file type and mode (e.g. 0100755), stored as the entry's external
  // attributes with "made by Unix"; 0: libzip's default.
  unsigned unix_mode = 0;
  std::string comment;  // the entry's comment
};
// `comment`: the archive's comment.
void make_zip(const std::filesystem::path& path, const std::vector<ZipInput>& entries,
              const std::string& comment = "");

struct ZipEntryInfo {
  std::string name;
  long long mtime = 0;
  int method = 0;  // ZIP_CM_STORE (0) or ZIP_CM_DEFLATE (8)
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::string bytes;  // the uncompressed content (empty for .hyper entries unless asked)
  int opsys = 0;      // the "made by" system of the external attributes (ZIP_OPSYS_*)
  // The Unix file type and mode in the external attributes, in octal
  // ("0100755"), so that a failed comparison reads as a mode.
  std::string unix_mode;
  std::string comment;
};
std::vector<ZipEntryInfo> read_zip(const std::filesystem::path& path,
                                   bool with_hyper_bytes = false);
// The archive's comment.
std::string read_zip_comment(const std::filesystem::path& path);
// Extracts one entry into a file.
void extract_zip_entry(const std::filesystem::path& zip, const std::string& name,
                       const std::filesystem::path& target);

// Whether text holds any control character other than a line break.
bool has_control_characters(const std::string& text);

// A tmpfs of `size` (as mount(8) takes it: "20m", "64k") mounted on `dir`
// (made here) for the test, unmounted when it ends. Mounting needs root:
// where it is refused, mounted() is false and error() says why, for a skip.
class SmallFileSystem {
 public:
  SmallFileSystem(const std::filesystem::path& dir, const std::string& size);
  ~SmallFileSystem();
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace hyperdefrag::testing
