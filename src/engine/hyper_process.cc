#include "engine/hyper_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sql/interrupt.h"
#include "util/error.h"
#include "util/files.h"
#include "util/free_space.h"

extern char** environ;

namespace hyperdefrag::engine {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The socket name hyperd is told to use. libpq looks for a socket called
// .s.PGSQL.<port> in the directory given as host, so port "1" finds it.
constexpr const char* kSocketName = ".s.PGSQL.1";
constexpr const char* kSocketPort = "1";
// The socket the tool listens on for hyperd's callback, beside the above.
constexpr const char* kCallbackName = "callback";

[[noreturn]] void fail(const std::string& what, const fs::path& log_dir) {
  throw Error(ExitCode::engine, fmt::format("{} (engine log: {})", what, log_dir.string()));
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "unknown status";
}

// Waits up to `timeout` for fd to become readable; false on timeout.
bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    sql::throw_if_interrupted();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd entry{fd, POLLIN, 0};
    const int ready = poll(&entry, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

// ": <the first line of hyperd's console output that reports an error>", or
// nothing, so that a refused setting is named in the tool's own message.
std::string first_error_line(const fs::path& console_log) {
  std::ifstream in(console_log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Error. ", 0) == 0) return ": " + line.substr(7);
  }
  return "";
}

// True if `pid` is `ancestor` or one of its descendants (/proc/<pid>/stat).
bool descends_from(pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 16 && pid > 1; ++depth) {
    if (pid == ancestor) return true;
    std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
    std::string line;
    std::getline(stat_file, line);
    const auto close = line.rfind(')');  // pid (comm) state ppid ...
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t parent = 0;
    if (!(rest >> state >> parent)) return false;
    pid = parent;
  }
  return false;
}

}  // namespace

HyperProcess::HyperProcess(const EngineOptions& options) {
  // Unix socket paths are limited to 107 bytes; keep the directory short.
  fs::path base = temp_base();
  if (base.string().size() > 60) base = "/tmp";
  dir_ = std::make_unique<PrivateDir>(base, "hyperdefrag-engine-");
  const fs::path& dir = dir_->path();

  // The callback socket sits beside the listen socket in the private
  // directory, so no other user can connect to it before hyperd does.
  const fs::path callback_path = dir / kCallbackName;
  Fd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (callback_path.string().size() >= sizeof address.sun_path) {
    fail(fmt::format("the callback socket path {} is too long for a Unix socket",
                     callback_path.string()),
         dir);
  }
  std::memcpy(address.sun_path, callback_path.c_str(), callback_path.string().size() + 1);
  if (listener.get() < 0 ||
      bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener.get(), 1) != 0) {
    fail(fmt::format("cannot open the callback socket {} for hyperd: {}", callback_path.string(),
                     std::strerror(errno)),
         dir);
  }

  std::vector<std::string> argv = {
      options.hyperd.string(),
      "run",
      fmt::format("--callback-connection=tab.domain://{}/domain/{}", dir.string(), kCallbackName),
      fmt::format("--listen-connection=tab.domain://{}/domain/{}", dir.string(), kSocketName),
      "--init-user=tableau_internal_user",
      "--no-password",
      "--skip-license",
      "--language=en_US",
      fmt::format("--log-dir={}", dir.string()),
      "--log-config=file,json,all,hyperd,0",
  };
  for (const auto& [name, value] : options.settings) {
    std::string flag = name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    argv.push_back(fmt::format("--{}={}", flag, value));
  }
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);

  const std::string console_log = (dir / "hyperd-console.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, console_log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // hyperd creates databases with mode 0640 and its log with 0660; with this
  // umask, inherited by the child, every file it makes (the temporary copy
  // included) is readable by the owner only. The tool is single-threaded
  // here, so changing the process-wide umask for the spawn is safe.
  const mode_t old_umask = umask(077);
  const int spawned = posix_spawn(&pid_, args[0], &actions, &attributes, args.data(), environ);
  umask(old_umask);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    pid_ = -1;
    fail(
        fmt::format("{}: cannot start hyperd: {}", options.hyperd.string(), std::strerror(spawned)),
        dir);
  }

  try {
    const auto deadline = Clock::now() + options.start_timeout;
    // Wait for hyperd to call back, noticing if it dies first.
    for (;;) {
      if (!running()) {
        fail(fmt::format("hyperd exited during start-up with {}{}", describe_status(exit_status_),
                         first_error_line(dir / "hyperd-console.log")),
             dir);
      }
      if (wait_readable(listener.get(),
                        std::min(deadline, Clock::now() + std::chrono::milliseconds(200))))
        break;
      if (Clock::now() >= deadline) {
        fail(fmt::format(
                 "hyperd did not start within {} s",
                 std::chrono::duration_cast<std::chrono::seconds>(options.start_timeout).count()),
             dir);
      }
    }
    callback_fd_ = Fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!callback_fd_.valid())
      fail(fmt::format("hyperd's callback failed: {}", std::strerror(errno)), dir);
    // Only the process started here (or one it started, if --hyperd names a
    // wrapper) may report the endpoint: the directory already keeps other
    // users out; this also keeps out this user's other programs.
    ucred peer{};
    socklen_t peer_length = sizeof peer;
    if (getsockopt(callback_fd_.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0 ||
        !descends_from(peer.pid, pid_)) {
      fail(fmt::format("the callback came from process {}, not from hyperd ({})", peer.pid, pid_),
           dir);
    }
    // Nothing else can connect from here on: the name goes with the listener.
    unlink(callback_path.c_str());

    // One length byte, then the endpoint, e.g. "tab.domain:///tmp/x/domain/.s.PGSQL.1".
    std::string message;
    std::size_t expected = 0;
    bool have_length = false;
    while (!have_length || message.size() < expected) {
      if (!wait_readable(callback_fd_.get(), deadline))
        fail("hyperd did not report its endpoint", dir);
      char buffer[512];
      const ssize_t n = read(callback_fd_.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("hyperd closed the callback connection during start-up", dir);
      std::size_t offset = 0;
      if (!have_length) {
        expected = static_cast<unsigned char>(buffer[0]);
        have_length = true;
        offset = 1;
      }
      message.append(buffer + offset, static_cast<std::size_t>(n) - offset);
    }
    while (!message.empty() &&
           (message.back() == '\0' || std::isspace(static_cast<unsigned char>(message.back())))) {
      message.pop_back();
    }
    const std::string prefix = "tab.domain://";
    const std::string separator = "/domain/";
    const auto split = message.rfind(separator);
    // The endpoint must be the socket the engine was told to make, in the
    // private directory: the tool never connects anywhere else.
    if (message.rfind(prefix, 0) != 0 || split == std::string::npos ||
        message.substr(prefix.size(), split - prefix.size()) != dir.string() ||
        message.substr(split + separator.size()) != kSocketName) {
      fail(fmt::format("hyperd reported an unexpected endpoint '{}'", message), dir);
    }
    endpoint_.socket_directory = message.substr(prefix.size(), split - prefix.size());
    endpoint_.port = kSocketPort;
  } catch (...) {
    // Failed or interrupted before hyperd called back: close the callback
    // socket and remove its name first, so hyperd cannot connect to a socket
    // nobody will accept (it would then wait for the tool instead of
    // exiting), and ask it to stop with SIGTERM, as it has no callback to
    // close.
    listener.reset();
    unlink(callback_path.c_str());
    if (!callback_fd_.valid() && running()) kill(pid_, SIGTERM);
    keep_log();
    stop();
    throw;
  }
}

HyperProcess::~HyperProcess() { stop(); }

bool HyperProcess::exits_within(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool HyperProcess::running() {
  if (pid_ < 0 || reaped_) return false;
  int status = 0;
  const pid_t result = waitpid(pid_, &status, WNOHANG);
  if (result == pid_) {
    reaped_ = true;
    exit_status_ = status;
    return false;
  }
  return result == 0;
}

void HyperProcess::stop() {
  callback_fd_.reset();  // closing the callback asks hyperd to shut down
  if (pid_ < 0) return;
  if (!exits_within(std::chrono::seconds(30))) {
    kill(pid_, SIGTERM);
    if (!exits_within(std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      exits_within(std::chrono::seconds(10));
    }
  }
  pid_ = -1;
  if (dir_ && dir_->kept()) {
    // A log left behind for a failed run is for its owner only, like the
    // directory that holds it (hyperd made hyperd.log group-readable).
    std::error_code error;
    for (fs::directory_iterator it(dir_->path(), error), end; !error && it != end;
         it.increment(error)) {
      chmod(it->path().c_str(), S_IRUSR | S_IWUSR);
    }
  }
}

std::optional<std::string> HyperProcess::fatal_error() const {
  // The end of the log is enough: the fatal entries are among the last, the
  // cause first, then its consequences (termination, signal, backtrace).
  constexpr std::streamoff kTail = 256 << 10;
  std::ifstream log(dir_->path() / "hyperd.log", std::ios::binary);
  if (!log) return std::nullopt;
  log.seekg(0, std::ios::end);
  const std::streamoff size = log.tellg();
  log.seekg(std::max<std::streamoff>(0, size - kTail));
  std::optional<std::string> found;
  std::string line;
  while (std::getline(log, line)) {
    try {
      const auto entry = nlohmann::json::parse(line, nullptr, false);
      if (!entry.is_object() || entry.value("sev", "") != "fatal" ||
          entry.value("k", "") == "server-shutdown-signal") {
        continue;
      }
      const auto details = entry.value("v", nlohmann::json::object());
      std::string text =
          details.is_object() ? details.value("msg", entry.value("k", "")) : entry.value("k", "");
      if (details.is_object() && details.contains("exception") &&
          details["exception"].is_object()) {
        text += fmt::format(" ({})", details["exception"].value("message", ""));
      }
      if (!found) found = text;  // the first: those after it follow from it
    } catch (const nlohmann::json::exception&) {
      continue;  // an entry of another shape than expected
    }
  }
  return found;
}

std::optional<std::string> stopped_by_full_disk(HyperProcess& engine, const fs::path& dir) {
  if (!engine.exits_within(std::chrono::seconds(5))) return std::nullopt;
  if (auto fatal = engine.fatal_error(); fatal && sql::says_disk_full(*fatal)) {
    return fmt::format("hyperd stopped: {}", *fatal);
  }
  try {
    const auto free = free_bytes(dir);
    if (free < kFullDiskMargin) {
      return fmt::format("hyperd stopped while writing there, with {} left free", human_size(free));
    }
  } catch (const Error&) {
    // The space cannot be read: not known to be full.
  }
  return std::nullopt;
}

}  // namespace hyperdefrag::engine
