#include "engine/locate.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

extern char** environ;

namespace hyperdefrag::engine {
namespace fs = std::filesystem;
namespace {

bool is_executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

// Runs a program without a shell and returns what it wrote to stdout, or
// nothing if it could not be started or failed.
std::optional<std::string> capture(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return std::nullopt;
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();  // the child holds its own copy: reading ends when it exits
  if (spawned != 0) return std::nullopt;
  std::string output;
  std::array<char, 4096> buffer{};
  ssize_t n = 0;
  while ((n = read(read_end.get(), buffer.data(), buffer.size())) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n > 0) output.append(buffer.data(), static_cast<std::size_t>(n));
  }
  read_end.reset();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

std::optional<fs::path> in_venv(const fs::path& venv) {
  std::error_code error;
  if (venv.empty()) return std::nullopt;
  const fs::path lib = venv / "lib";
  if (!fs::is_directory(lib, error)) return std::nullopt;
  // increment(error), not ++: a directory that cannot be read is a place
  // without hyperd, not an exception.
  for (fs::directory_iterator it(lib, error), end; !error && it != end; it.increment(error)) {
    for (const char* packages : {"site-packages", "dist-packages"}) {  // Debian: dist-packages
      const fs::path candidate = hyperd_in_package(it->path() / packages / "tableauhyperapi");
      if (is_executable_file(candidate)) return candidate;
    }
  }
  return std::nullopt;
}

// The running program, with symbolic links resolved (pipx links ~/.local/bin/hyperdefrag
// to the binary inside its own environment).
std::optional<fs::path> own_program() {
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error || exe.empty()) return std::nullopt;
  return exe;
}

// The tableauhyperapi installed beside the running program: a binary in
// <prefix>/bin (a virtual environment, pipx's, `pip install --user`) looks in
// <prefix>/lib/python3.*/site-packages; one that auditwheel moved into
// site-packages/hyperdefrag.scripts/ (its bin/hyperdefrag then execs it)
// looks in that site-packages.
std::optional<fs::path> in_own_environment() {
  const auto exe = own_program();
  if (!exe) return std::nullopt;
  const fs::path above = exe->parent_path().parent_path();
  if (auto path = in_venv(above)) return path;
  const fs::path sibling = hyperd_in_package(above / "tableauhyperapi");
  if (is_executable_file(sibling)) return sibling;
  return std::nullopt;
}

std::optional<fs::path> from_system_python() {
  const auto dir = capture({"python3", "-c",
                            "import importlib.util, os\n"
                            "spec = importlib.util.find_spec('tableauhyperapi')\n"
                            "print(os.path.dirname(spec.origin) if spec and spec.origin else '')"});
  if (!dir || dir->empty()) return std::nullopt;
  const fs::path candidate = hyperd_in_package(*dir);
  if (is_executable_file(candidate)) return candidate;
  return std::nullopt;
}

HyperdLocation checked(const fs::path& path, const std::string& found_by) {
  if (!is_executable_file(path)) {
    throw Error(ExitCode::engine, path,
                fmt::format("hyperd given by {} is not an executable file", found_by));
  }
  return {path, found_by};
}

}  // namespace

fs::path hyperd_in_package(const fs::path& package_dir) {
  return package_dir / "bin" / "hyper" / "hyperd";
}

HyperdLocation locate_hyperd(const std::optional<fs::path>& explicit_path) {
  if (explicit_path) return checked(*explicit_path, "--hyperd");
  if (const char* env = std::getenv("HYPERD_PATH"); env != nullptr && env[0] != '\0') {
    return checked(env, "HYPERD_PATH");
  }
  if (auto path = in_own_environment()) return {*path, "own environment"};
  if (auto path = in_venv(HYPERDEFRAG_PROJECT_VENV)) return {*path, "project .venv"};
  if (auto path = from_system_python()) return {*path, "python3"};
  if (!std::string_view(HYPERDEFRAG_PROJECT_VENV).empty()) {
    throw Error(ExitCode::engine,
                fmt::format("hyperd not found: run scripts/setup.sh to install the pinned engine "
                            "into {}, or `pip install tableauhyperapi`, or pass --hyperd PATH or "
                            "set HYPERD_PATH",
                            HYPERDEFRAG_PROJECT_VENV));
  }
  throw Error(ExitCode::engine,
              "hyperd not found: `pip install tableauhyperapi` into hyperdefrag's own "
              "environment or for python3, or pass --hyperd PATH or set HYPERD_PATH");
}

std::string hyperd_version(const fs::path& hyperd) {
  auto output = capture({hyperd.string(), "--version"});
  if (!output) return "unknown";
  const auto newline = output->find('\n');
  return output->substr(0, newline);
}

}  // namespace hyperdefrag::engine
