#include "test_support.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <isa-l/crc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "catalog/catalog.h"
#include "engine/locate.h"
#include "fixture/fragmented.h"
#include "sql/quote.h"

extern char** environ;

namespace hyperdefrag::testing {
namespace fs = std::filesystem;

engine::HyperProcess& shared_engine() {
  static auto engine = std::make_unique<engine::HyperProcess>(engine::EngineOptions{
      engine::locate_hyperd(std::nullopt).path, {}, std::chrono::seconds(60)});
  return *engine;
}

sql::Connection connect() { return sql::Connection(shared_engine().endpoint()); }

ScratchDir::ScratchDir() : dir_(temp_base(), "hyperdefrag-test-") {}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

::testing::AssertionResult has_bytes(const fs::path& path, const std::string& bytes) {
  const std::string actual = read_bytes(path);
  if (actual == bytes) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure()
                 << path.string() << " holds " << actual.size() << " bytes where " << bytes.size()
                 << " were expected";
  const auto common = std::min(actual.size(), bytes.size());
  const auto first = std::mismatch(actual.begin(), actual.begin() + common, bytes.begin());
  if (first.first != actual.begin() + common) {
    failure << "; the first difference is at byte " << (first.first - actual.begin());
  }
  if (actual.size() <= 200 && bytes.size() <= 200) {
    failure << ": \"" << actual << "\" instead of \"" << bytes << "\"";
  }
  return failure;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

FullPipe make_full_pipe() {
  int ends[2] = {-1, -1};
  if (pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  FullPipe pipe{ends[0], ends[1], 0};
  // The smallest pipe (one page), filled while non-blocking; the write end
  // is then made blocking again (the flag belongs to the open file
  // description, which the writer shares).
  fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
  fcntl(pipe.write_end, F_SETFL, O_NONBLOCK);
  const std::string block(4096, '#');
  for (;;) {
    const ssize_t n = ::write(pipe.write_end, block.data(), block.size());
    if (n <= 0) break;
    pipe.filler += static_cast<std::size_t>(n);
  }
  fcntl(pipe.write_end, F_SETFL, 0);
  return pipe;
}

RunningTool::RunningTool(const std::vector<std::string>& args,
                         const std::vector<std::string>& prefix, Stdout out) {
  const std::string out_path = (capture_ / "stdout").string();
  const std::string err_path = (capture_ / "stderr").string();
  std::vector<std::string> argv = prefix;
  argv.push_back(HYPERDEFRAG_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  FullPipe pipe;
  if (out == Stdout::held || out == Stdout::stderr_held) {
    pipe = make_full_pipe();
    held_ = pipe.read_end;
    filler_ = pipe.filler;
    held_stderr_ = out == Stdout::stderr_held;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out == Stdout::held) {
    posix_spawn_file_actions_adddup2(&actions, pipe.write_end, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  if (out == Stdout::stderr_held) {
    posix_spawn_file_actions_adddup2(&actions, pipe.write_end, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  if (posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
  if (pipe.write_end >= 0) close(pipe.write_end);
}

RunningTool::~RunningTool() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (held_ >= 0) close(held_);
}

RunResult RunningTool::wait() {
  RunResult result;
  if (held_ >= 0) {
    // Drain until the tool (the only writer) has exited.
    std::string out;
    char buffer[65536];
    for (;;) {
      const ssize_t n = read(held_, buffer, sizeof buffer);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    close(held_);
    held_ = -1;
    write_bytes(capture_ / (held_stderr_ ? "stderr" : "stdout"),
                out.substr(std::min(filler_, out.size())));
  }
  if (pid_ > 0) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }
  result.out = read_bytes(capture_ / "stdout");
  result.err = read_bytes(capture_ / "stderr");
  return result;
}

HeldRun::HeldRun(const std::vector<std::string>& args, const fs::path& dir,
                 const std::vector<std::string>& prefix)
    : tool_(args, prefix, Stdout::held),
      engine_(child_hyperd(tool_.pid(), 60'000)),
      copying_(engine_.has_value() && wait_for_temporary(dir, 60'000)) {}

RunResult run_hyperdefrag(const std::vector<std::string>& args,
                          const std::vector<std::string>& prefix) {
  return RunningTool(args, prefix).wait();
}

std::optional<std::vector<std::string>> as_nobody() {
  for (const char* setpriv : {"/usr/bin/setpriv", "/bin/setpriv"}) {
    if (access(setpriv, X_OK) != 0) continue;
    std::vector<std::string> prefix = {setpriv, "--reuid=nobody", "--regid=nogroup",
                                       "--clear-groups"};
    // Check that it works here (it needs root, the user must exist) and that
    // nobody may run the binary (the checkout may sit in a private directory).
    std::vector<std::string> probe = prefix;
    probe.insert(probe.end(), {"/usr/bin/test", "-x", HYPERDEFRAG_BINARY});
    std::vector<char*> raw;
    for (auto& arg : probe) raw.push_back(arg.data());
    raw.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, raw[0], nullptr, nullptr, raw.data(), environ) != 0) return std::nullopt;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return prefix;
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<fs::path> temporaries_in(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().filename().string().find(".hyperdefrag-") != std::string::npos) {
      found.push_back(it->path());
    }
  }
  return found;
}

std::optional<pid_t> child_hyperd(pid_t parent, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat_file(entry.path() / "stat");
      std::string stat_line;
      std::getline(stat_file, stat_line);
      // pid (comm) state ppid ...
      const auto close = stat_line.rfind(')');
      if (close == std::string::npos) continue;
      const auto comm = stat_line.substr(stat_line.find('(') + 1, close - stat_line.find('(') - 1);
      std::istringstream rest(stat_line.substr(close + 2));
      char state = 0;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (comm == "hyperd" && ppid == parent) return static_cast<pid_t>(std::stoi(name));
    }
    usleep(10'000);
  }
  return std::nullopt;
}

bool wait_for_temporary(const fs::path& dir, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 5) {
    if (!temporaries_in(dir).empty()) return true;
    usleep(5'000);
  }
  return false;
}

bool wait_gone(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
    std::string stat_line;
    std::getline(stat_file, stat_line);
    const auto close = stat_line.rfind(')');
    // Gone, or a zombie that has released everything.
    if (!stat_file || close == std::string::npos || stat_line[close + 2] == 'Z') return true;
    usleep(10'000);
  }
  return false;
}

void with_attached(const fs::path& file, const std::vector<std::string>& statements) {
  auto connection = connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db", sql::quote_identifier(file.string())));
  try {
    for (const auto& statement : statements) connection.exec(statement);
  } catch (...) {
    connection.exec("DETACH DATABASE db");
    throw;
  }
  connection.exec("DETACH DATABASE db");
}

std::vector<std::string> table_counts(const fs::path& file) {
  auto connection = connect();
  const auto path = fs::absolute(file).string();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                              sql::quote_identifier(path)));
  std::vector<std::string> lines;
  const auto catalog = catalog::read_catalog(connection, "db", path);
  for (const auto& table : catalog.tables) {
    lines.push_back(fmt::format("{}.{}={}", table.schema, table.name,
                                catalog::count_rows(connection, "db", table)));
  }
  connection.exec("DETACH DATABASE db");
  return lines;
}

void patch_header_version(const fs::path& file, int version) {
  std::string bytes = read_bytes(file);
  if (bytes.size() < 8192) throw std::runtime_error(file.string() + ": too short for a header");
  for (std::size_t page : {0u, 4096u}) {
    auto* data = reinterpret_cast<unsigned char*>(bytes.data() + page);
    const auto stored = [&] {
      std::uint32_t value = 0;
      std::memcpy(&value, data + 4092, 4);
      return value;
    };
    // Each page's checksum, as measured: CRC-32C (iSCSI) with initial value
    // 0 over the first 4092 bytes, stored little-endian.
    if (crc32_iscsi(data, 4092, 0) != stored()) {
      throw std::runtime_error(file.string() + ": header checksum not as expected");
    }
    data[10] = static_cast<unsigned char>(version & 0xff);
    data[11] = static_cast<unsigned char>(version >> 8);
    const std::uint32_t crc = crc32_iscsi(data, 4092, 0);
    std::memcpy(data + 4092, &crc, 4);
  }
  write_bytes(file, bytes);
}

int format_version(const fs::path& file) {
  auto connection = connect();
  const auto path = fs::absolute(file).string();
  connection.exec(fmt::format("ATTACH DATABASE {} AS db WITH (access_mode = 'readonly')",
                              sql::quote_identifier(path)));
  const int version = catalog::read_format_version(connection, path);
  connection.exec("DETACH DATABASE db");
  return version;
}

std::optional<fs::path> shared_fixtures() {
  if (const char* env = std::getenv("HYPERDEFRAG_SHARED_FIXTURES")) return fs::path(env);
  const fs::path dir = HYPERDEFRAG_SHARED_FIXTURES;
  std::error_code error;
  if (fs::is_directory(dir, error)) return dir;
  return std::nullopt;
}

std::string octal_mode(const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return fmt::format("(cannot stat: {})", std::strerror(errno));
  return fmt::format("{:04o}", info.st_mode & 07777);
}

std::vector<std::string> unexpected_files(const fs::path& dir,
                                          const std::vector<std::string>& expected) {
  std::vector<std::string> extra;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) extra.push_back(name);
  }
  std::sort(extra.begin(), extra.end());
  return extra;
}

// Made once and kept in the build directory, so that the many test
// processes ctest starts share one copy; a lock serialises the first makers.
const std::filesystem::path& fragmented_fixture() {
  static const std::filesystem::path path = [] {
    const std::filesystem::path dir = HYPERDEFRAG_TEST_CACHE;
    std::filesystem::create_directories(dir);
    const auto file = dir / "fragmented-v1.hyper";
    const int lock = open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    flock(lock, LOCK_EX);
    if (!std::filesystem::exists(file)) {
      const auto temp = dir / fmt::format("fragmented-{}.tmp.hyper", getpid());
      std::filesystem::remove(temp);
      auto connection = connect();
      fixture::make_fragmented_file(connection, temp, {});
      std::filesystem::permissions(temp, std::filesystem::perms::owner_read);
      std::filesystem::rename(temp, file);
    }
    flock(lock, LOCK_UN);
    close(lock);
    return file;
  }();
  return path;
}

void make_small_fragmented(const std::filesystem::path& path, long long rows, int tables) {
  auto connection = connect();
  fixture::make_fragmented_file(connection, path, {rows, tables, std::nullopt});
}

void make_zip(const std::filesystem::path& path, const std::vector<ZipInput>& entries,
              const std::string& comment) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive == nullptr)
    throw std::runtime_error(fmt::format("zip_open {}: {}", path.string(), code));
  for (const auto& entry : entries) {
    zip_source_t* source = nullptr;
    zip_int64_t index = -1;
    if (!entry.name.empty() && entry.name.back() == '/') {
      index = zip_dir_add(archive, entry.name.c_str(), 0);
    } else {
      if (!entry.file.empty()) {
        source = zip_source_file(archive, entry.file.c_str(), 0, -1);
      } else {
        // libzip keeps the buffer until zip_close: give it its own copy.
        void* copy = std::malloc(entry.bytes.size() + 1);
        std::memcpy(copy, entry.bytes.data(), entry.bytes.size());
        source = zip_source_buffer(archive, copy, entry.bytes.size(), 1);
      }
      index = zip_file_add(archive, entry.name.c_str(), source, 0);
    }
    if (index < 0)
      throw std::runtime_error(
          fmt::format("zip_file_add {}: {}", entry.name, zip_strerror(archive)));
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                             entry.compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), static_cast<time_t>(entry.mtime),
                       0);
    if (entry.unix_mode != 0 && zip_file_set_external_attributes(
                                    archive, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                    static_cast<zip_uint32_t>(entry.unix_mode) << 16) != 0) {
      throw std::runtime_error(fmt::format("zip_file_set_external_attributes {}: {}", entry.name,
                                           zip_strerror(archive)));
    }
    if (!entry.comment.empty() &&
        zip_file_set_comment(archive, static_cast<zip_uint64_t>(index), entry.comment.data(),
                             static_cast<zip_uint16_t>(entry.comment.size()), 0) != 0) {
      throw std::runtime_error(
          fmt::format("zip_file_set_comment {}: {}", entry.name, zip_strerror(archive)));
    }
  }
  if (!comment.empty() && zip_set_archive_comment(archive, comment.data(),
                                                  static_cast<zip_uint16_t>(comment.size())) != 0) {
    throw std::runtime_error(fmt::format("zip_set_archive_comment: {}", zip_strerror(archive)));
  }
  if (zip_close(archive) != 0) {
    const std::string message = zip_strerror(archive);
    zip_discard(archive);
    throw std::runtime_error(fmt::format("zip_close {}: {}", path.string(), message));
  }
}

std::vector<ZipEntryInfo> read_zip(const std::filesystem::path& path, bool with_hyper_bytes) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr)
    throw std::runtime_error(fmt::format("zip_open {}: {}", path.string(), code));
  std::vector<ZipEntryInfo> entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat);
    ZipEntryInfo info;
    info.name = stat.name;
    info.mtime = stat.mtime;
    info.method = stat.comp_method;
    info.crc = stat.crc;
    info.compressed_size = stat.comp_size;
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(archive, static_cast<zip_uint64_t>(i), 0, &opsys,
                                         &attributes) == 0) {
      info.opsys = opsys;
      if (opsys == ZIP_OPSYS_UNIX) info.unix_mode = fmt::format("{:07o}", attributes >> 16);
    }
    zip_uint32_t comment_length = 0;
    if (const char* comment = zip_file_get_comment(archive, static_cast<zip_uint64_t>(i),
                                                   &comment_length, ZIP_FL_ENC_RAW)) {
      info.comment.assign(comment, comment_length);
    }
    const bool hyper = info.name.size() > 6 && info.name.substr(info.name.size() - 6) == ".hyper";
    if (stat.size > 0 && (!hyper || with_hyper_bytes)) {
      info.bytes.resize(stat.size);
      zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
      zip_fread(file, info.bytes.data(), stat.size);
      zip_fclose(file);
    }
    entries.push_back(std::move(info));
  }
  zip_discard(archive);
  return entries;
}

std::string read_zip_comment(const std::filesystem::path& path) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr)
    throw std::runtime_error(fmt::format("zip_open {}: {}", path.string(), code));
  int length = 0;
  const char* comment = zip_get_archive_comment(archive, &length, ZIP_FL_ENC_RAW);
  std::string result =
      comment != nullptr ? std::string(comment, static_cast<std::size_t>(length)) : std::string();
  zip_discard(archive);
  return result;
}

void extract_zip_entry(const std::filesystem::path& zip, const std::string& name,
                       const std::filesystem::path& target) {
  for (auto& entry : read_zip(zip, true)) {
    if (entry.name == name) {
      write_bytes(target, entry.bytes);
      return;
    }
  }
  throw std::runtime_error(fmt::format("{} has no entry {}", zip.string(), name));
}

bool has_control_characters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\n') || byte == 0x7f;
  });
}

SmallFileSystem::SmallFileSystem(const fs::path& dir, const std::string& size) : dir_(dir) {
  fs::create_directory(dir_);
  mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  if (!mounted_) error_ = std::strerror(errno);
}

SmallFileSystem::~SmallFileSystem() {
  if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
}

}  // namespace hyperdefrag::testing
