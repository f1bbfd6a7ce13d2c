// One running hyperd, owned for its whole life.
//
// Start-up: a private directory (mode 0700) is made for the engine's Unix
// socket, the callback socket and the log; the tool listens on the callback
// socket (a Unix socket in that directory, never a TCP port, so no other user
// can reach it) and passes it as --callback-connection; hyperd, started in its
// own process group (so Ctrl-C in a terminal reaches only the tool), connects
// back and sends the endpoint it listens on, which must be the socket it was
// told to make in that directory. The tool keeps that callback socket open
// for the engine's whole life: closing it asks hyperd to shut down, and if the
// tool dies, even by kill -9, the kernel closes it and hyperd exits by itself.
//
// Shut-down (destructor or stop()): close the callback socket, wait for the
// process, escalate to SIGTERM and then SIGKILL if it does not go. The private
// directory is removed unless keep_log() was called; a kept log is made
// readable by the owner only.
//
// Files: hyperd is started with umask 077, so the databases it creates (the
// temporary copy) and its logs are readable by the owner only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/connection.h"
#include "util/fd.h"
#include "util/private_dir.h"

namespace hyperdefrag::engine {

struct EngineOptions {
  std::filesystem::path hyperd;
  // Extra settings, each passed as --name=value (underscores become dashes).
  std::vector<std::pair<std::string, std::string>> settings;
  std::chrono::milliseconds start_timeout{std::chrono::seconds(60)};
};

class HyperProcess {
 public:
  // Starts hyperd and waits until it reports its endpoint. Throws
  // hyperdefrag::Error (ExitCode::engine) naming the log on failure.
  explicit HyperProcess(const EngineOptions& options);
  ~HyperProcess();
  HyperProcess(const HyperProcess&) = delete;
  HyperProcess& operator=(const HyperProcess&) = delete;

  const sql::Endpoint& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }
  // The directory holding hyperd's log files.
  const std::filesystem::path& log_directory() const { return dir_->path(); }
  // Leaves the log directory behind when the engine stops.
  void keep_log() { dir_->keep(); }
  // False once hyperd has exited (for whatever reason).
  bool running();
  // Waits up to `timeout` for hyperd to exit; true if it has.
  bool exits_within(std::chrono::milliseconds timeout);
  // Shuts hyperd down and waits for it. Safe to call twice.
  void stop();
  // Why hyperd went down on its own, as its log's first fatal entry says (for
  // example "Fatal error when finalizing a block. Hyper is going down now.
  // (unable to write compressed datablock: growing the database file
  // failed)"); nothing when the log holds none, which includes a log on the
  // very disk that filled up.
  std::optional<std::string> fatal_error() const;

 private:
  std::unique_ptr<PrivateDir> dir_;
  sql::Endpoint endpoint_;
  pid_t pid_ = -1;
  Fd callback_fd_;  // hyperd's callback connection; closing it asks hyperd to stop
  bool reaped_ = false;
  int exit_status_ = 0;  // as waitpid reported it, once reaped
};

// Free space below which a file system counts as full once hyperd has died
// writing to it: hyperd grows a database by whole blocks, megabytes at a time.
inline constexpr std::uintmax_t kFullDiskMargin = 16U << 20;

// After `engine` stopped on its own (a lost connection) while writing a
// database in `dir`: the reason, when it is a full disk. hyperd does not
// always refuse the statement when a database cannot grow: when that happens
// while it finalizes a block, it aborts (docs/ENGINE.md). Its log says so,
// unless the log is on the full disk too; so a file system under `dir` with
// less than kFullDiskMargin free counts as the cause as well. Waits up to 5 s
// for the engine to exit; nothing if it is still running.
std::optional<std::string> stopped_by_full_disk(HyperProcess& engine,
                                                const std::filesystem::path& dir);

}  // namespace hyperdefrag::engine
