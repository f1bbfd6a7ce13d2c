// One safety path for every input: a .hyper file, a package (.twbx, .tdsx)
// and a dry run go through the same preflight (defrag/prepare.h) and the
// same placement (defrag/place.h). These tests run the real binary.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <optional>

#include "test_support.h"
#include "util/lock.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;
using testing::run_hyperdefrag;

std::string octal(mode_t mode) { return fmt::format("{:04o}", mode & 07777); }

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

// Names and contents of every file below `dir`, to show a dry run changed nothing.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto name = fs::relative(entry.path(), dir).string();
    files[name] = entry.is_regular_file() ? testing::read_bytes(entry.path()) : "<dir>";
  }
  return files;
}

// The three kinds of input, each made small and fragmented in `dir`.
enum class Kind { hyper, twbx, tdsx };

std::string extension(Kind kind) {
  switch (kind) {
    case Kind::hyper:
      return "hyper";
    case Kind::twbx:
      return "twbx";
    case Kind::tdsx:
      return "tdsx";
  }
  return "";
}

fs::path make_input(const testing::ScratchDir& dir, Kind kind, const std::string& stem = "in") {
  const fs::path path = dir / (stem + "." + extension(kind));
  if (kind == Kind::hyper) {
    testing::make_small_fragmented(path, 20'000);
    return path;
  }
  const fs::path extract = dir / (stem + ".extract.hyper");
  testing::make_small_fragmented(extract, 20'000);
  testing::make_zip(path, {{"Book.twb", "<?xml version='1.0'?><workbook/>"},
                           {"Data/Extracts/e.hyper", "", extract, false}});
  fs::remove(extract);
  return path;
}

// Temporary directories of the tool go to TMPDIR, pointed at the test's own.
class OnePath : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::shared_engine();  // started before TMPDIR points into this test
    fs::create_directory(dir_ / "tmp");
    setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  }
  void TearDown() override {
    EXPECT_EQ(testing::unexpected_files(dir_ / "tmp", {}), std::vector<std::string>{})
        << "left in TMPDIR";
    unsetenv("TMPDIR");
  }
  testing::ScratchDir dir_;
};

// A private file stays private: in place, with and without a backup, the
// replaced file (and the backup) keep mode 0600, for every kind of input.
class PrivateInPlace : public OnePath,
                       public ::testing::WithParamInterface<std::tuple<Kind, bool>> {};

TEST_P(PrivateInPlace, KeepsMode0600) {
  const auto [kind, backup] = GetParam();
  const auto input = make_input(dir_, kind);
  ASSERT_EQ(chmod(input.c_str(), 0600), 0);
  std::vector<std::string> args{"--in-place"};
  if (backup) args.push_back("--backup");
  args.push_back(input.string());
  const auto result = run_hyperdefrag(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(octal(mode_of(input)), "0600") << input;
  const auto backup_path = dir_ / ("in.bak." + extension(kind));
  EXPECT_EQ(fs::exists(backup_path), backup);
  if (backup) {
    EXPECT_EQ(octal(mode_of(backup_path)), "0600") << backup_path;
  }
}

INSTANTIATE_TEST_SUITE_P(EachKind, PrivateInPlace,
                         ::testing::Combine(::testing::Values(Kind::hyper, Kind::twbx, Kind::tdsx),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return extension(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_backup" : "_no_backup");
                         });

// A second hyperdefrag run (here: its run lock, held by this test) and a
// program holding the package open (a flock, as hyperd takes on the files it
// attaches) are both refused with exit 9, before anything is written.
TEST_F(OnePath, PackageInUseIsRefusedWithBusy) {
  const auto package = make_input(dir_, Kind::twbx);
  const auto before = testing::read_bytes(package);
  {
    const RunLock other_run(package);
    const auto result = run_hyperdefrag({"--in-place", package.string()});
    EXPECT_EQ(result.exit_code, 9) << result.err;
    EXPECT_TRUE(contains(result.err, "another hyperdefrag run")) << result.err;
    const auto dry = run_hyperdefrag({"--dry-run", "--in-place", package.string()});
    EXPECT_EQ(dry.exit_code, 9) << dry.out;
  }
  {
    const int fd = open(package.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(flock(fd, LOCK_SH), 0);
    const auto result = run_hyperdefrag({"--in-place", package.string()});
    close(fd);
    EXPECT_EQ(result.exit_code, 9) << result.err;
    EXPECT_TRUE(contains(result.err, package.string())) << result.err;
  }
  EXPECT_EQ(testing::read_bytes(package), before);
  EXPECT_EQ(testing::unexpected_files(dir_.path(), {"in.twbx", "tmp"}), std::vector<std::string>{});
}

// Every event the kernel reports for the names in a directory, in order.
class DirectoryEvents {
 public:
  explicit DirectoryEvents(const fs::path& dir) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    EXPECT_GE(fd_, 0);
    EXPECT_GE(
        inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO),
        0);
  }
  ~DirectoryEvents() { close(fd_); }
  // "delete NAME", "create NAME", "moved_from NAME", "moved_to NAME".
  std::vector<std::string> read() {
    std::vector<std::string> events;
    alignas(inotify_event) char buffer[64 * 1024];
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;) {
      for (char* p = buffer; p < buffer + n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(p);
        const std::string name = event->len > 0 ? event->name : "";
        if (event->mask & IN_DELETE) events.push_back("delete " + name);
        if (event->mask & IN_CREATE) events.push_back("create " + name);
        if (event->mask & IN_MOVED_FROM) events.push_back("moved_from " + name);
        if (event->mask & IN_MOVED_TO) events.push_back("moved_to " + name);
        p += sizeof(inotify_event) + event->len;
      }
    }
    return events;
  }

 private:
  int fd_;
};

// --force over an existing backup replaces it in one rename: the kernel's
// own record of the directory shows the backup's name is never removed or
// moved away, only renamed onto, so there is no moment without a backup.
class ForcedBackup : public OnePath, public ::testing::WithParamInterface<Kind> {};

TEST_P(ForcedBackup, IsNeverAbsent) {
  const auto input = make_input(dir_, GetParam());
  const auto original = testing::read_bytes(input);
  const std::string backup_name = "in.bak." + extension(GetParam());
  testing::write_bytes(dir_ / backup_name, "an older backup");
  DirectoryEvents events(dir_.path());
  const auto result = run_hyperdefrag({"--in-place", "--backup", "--force", input.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::read_bytes(dir_ / backup_name), original);
  const auto seen = events.read();
  std::string listing;
  for (const auto& event : seen) listing += event + "\n";
  EXPECT_NE(std::find(seen.begin(), seen.end(), "moved_to " + backup_name), seen.end()) << listing;
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "delete " + backup_name), seen.end()) << listing;
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "moved_from " + backup_name), seen.end())
      << listing;
  EXPECT_EQ(std::find(seen.begin(), seen.end(), "create " + backup_name), seen.end()) << listing;
}

INSTANTIATE_TEST_SUITE_P(EachKind, ForcedBackup, ::testing::Values(Kind::hyper, Kind::twbx),
                         [](const auto& info) { return extension(info.param); });

// A dry run and the real run agree: the same exit code and the same output
// path, for every combination of options the command line accepts; the dry
// run changes nothing (every file below the directory is the same after it).
struct Case {
  std::string name;
  Kind kind = Kind::hyper;
  // Makes what the case needs beside the input; returns the arguments
  // before the input.
  std::function<std::vector<std::string>(const testing::ScratchDir&)> arrange;
  int exit_code = 0;
  bool needs_tmpfs = false;
};

class DryRunAgrees : public OnePath, public ::testing::WithParamInterface<Case> {};

TEST_P(DryRunAgrees, WithTheRealRun) {
  const auto& c = GetParam();
  std::optional<testing::SmallFileSystem> small;
  if (c.needs_tmpfs) {
    small.emplace(dir_ / "small", "64k");
    if (!small->mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << small->error();
  }
  const auto input = make_input(dir_, c.kind);
  auto args = c.arrange(dir_);
  args.push_back(input.string());

  auto dry_args = args;
  dry_args.insert(dry_args.begin(), "--dry-run");
  const auto before = snapshot(dir_.path());
  const auto dry = run_hyperdefrag(dry_args);
  EXPECT_EQ(snapshot(dir_.path()), before) << "the dry run changed something";

  const auto real = run_hyperdefrag(args);
  EXPECT_EQ(real.exit_code, c.exit_code) << real.err;
  EXPECT_EQ(dry.exit_code, real.exit_code)
      << "dry run: " << dry.out << dry.err << "\nreal run: " << real.err;
  if (real.exit_code == 0) {
    // "Would defragment IN (size) into OUT: ..." names the path the real run wrote.
    const auto line = dry.out.substr(0, dry.out.find('\n'));
    const auto into = line.find(" into ");
    ASSERT_NE(into, std::string::npos) << dry.out;
    const auto output = line.substr(into + 6, line.find(": needs") - into - 6);
    EXPECT_TRUE(fs::exists(output)) << output;
    EXPECT_TRUE(contains(real.out, "into " + output)) << real.out;
  } else {
    // The same cause: the real run's one-line error is in the dry run's line.
    const auto message = real.err.substr(std::string("hyperdefrag: ").size());
    EXPECT_TRUE(contains(dry.out, message.substr(0, message.find('\n')))) << dry.out << real.err;
  }
}

std::vector<std::string> none(const testing::ScratchDir&) { return {}; }

const Case kCases[] = {
    {"plain", Kind::hyper, none, 0},
    {"output", Kind::hyper,
     [](const auto& d) {
       return std::vector<std::string>{"-o", (d / "o.hyper").string()};
     },
     0},
    {"in_place", Kind::hyper, [](const auto&) { return std::vector<std::string>{"--in-place"}; },
     0},
    {"in_place_backup", Kind::hyper,
     [](const auto&) {
       return std::vector<std::string>{"--in-place", "--backup"};
     },
     0},
    {"backup_exists", Kind::hyper,
     [](const auto& d) {
       testing::write_bytes(d / "in.bak.hyper", "old");
       return std::vector<std::string>{"--in-place", "--backup"};
     },
     4},
    {"backup_exists_force", Kind::hyper,
     [](const auto& d) {
       testing::write_bytes(d / "in.bak.hyper", "old");
       return std::vector<std::string>{"--in-place", "--backup", "--force"};
     },
     0},
    {"output_exists", Kind::hyper,
     [](const auto& d) {
       testing::write_bytes(d / "in.new.hyper", "old");
       return std::vector<std::string>{};
     },
     4},
    {"output_exists_force", Kind::hyper,
     [](const auto& d) {
       testing::write_bytes(d / "in.new.hyper", "old");
       return std::vector<std::string>{"--force"};
     },
     0},
    {"output_dir_missing", Kind::hyper,
     [](const auto& d) {
       return std::vector<std::string>{"-o", (d / "missing" / "o.hyper").string()};
     },
     4},
    {"not_a_hyper_file", Kind::hyper,
     [](const auto& d) {
       testing::write_bytes(d / "in.hyper", "not a hyper file");
       return std::vector<std::string>{};
     },
     3},
    {"no_space", Kind::hyper,
     [](const auto& d) {
       return std::vector<std::string>{"-o", (d / "small" / "o.hyper").string()};
     },
     8, true},
    {"package", Kind::twbx, none, 0},
    {"package_output", Kind::tdsx,
     [](const auto& d) {
       return std::vector<std::string>{"-o", (d / "o.tdsx").string()};
     },
     0},
    {"package_in_place_backup", Kind::twbx,
     [](const auto&) {
       return std::vector<std::string>{"--in-place", "--backup"};
     },
     0},
    {"package_output_exists", Kind::twbx,
     [](const auto& d) {
       testing::write_bytes(d / "in.new.twbx", "old");
       return std::vector<std::string>{};
     },
     4},
    {"package_backup_exists", Kind::twbx,
     [](const auto& d) {
       testing::write_bytes(d / "in.bak.twbx", "old");
       return std::vector<std::string>{"--in-place", "--backup"};
     },
     4},
    {"package_no_space", Kind::twbx,
     [](const auto& d) {
       return std::vector<std::string>{"-o", (d / "small" / "o.twbx").string()};
     },
     8, true},
};

INSTANTIATE_TEST_SUITE_P(EachCombination, DryRunAgrees, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hyperdefrag
