// Locks that keep two hyperdefrag runs off the same file, and probes for
// other programs that have a file open.
//
// Measured (docs/SAFETY.md): hyperd flock()s every database it attaches,
// shared for a read-only attach and exclusive for a read-write one, and
// refuses to attach a file whose flock conflicts ("The database file is
// locked by another process", SQLSTATE 55006). So this run cannot hold an
// exclusive flock on its input while its own hyperd attaches it, and an
// exclusive fcntl lock needs a file opened for writing, which the input never
// is. Hence two mechanisms:
//  - RunLock: hyperdefrag runs exclude each other by binding a Unix socket to
//    an abstract address named after the file's device and inode. Binding is
//    atomic (exactly one run gets it), creates no file, and the kernel frees
//    it when the process dies, even by kill -9. It covers the runs of one
//    machine (one network namespace).
//  - FileLock: another program's hyperd is seen by trying its flock without
//    waiting; the in-place swap holds an exclusive flock so that no hyperd can
//    attach the input while it is replaced.
#pragma once

#include <filesystem>

#include "util/fd.h"

namespace hyperdefrag {

// What the caller is about to do with a file, for probe_flock.
enum class Access {
  read,     // read it: other readers are fine, a writer is not
  replace,  // replace it: nobody else may have it open
};

class RunLock {
 public:
  // Takes the run lock of `path`: of the file (device and inode) if it
  // exists, else of its absolute path. Throws hyperdefrag::Error
  // (ExitCode::busy) naming the file if another hyperdefrag run holds it, or
  // if the lock cannot be made (no descriptor or memory left).
  explicit RunLock(const std::filesystem::path& path);
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  Fd socket_;
};

// A read-only handle on a file, to probe and take its flock.
class FileLock {
 public:
  // Opens `path` read-only. Throws hyperdefrag::Error naming the file:
  // ExitCode::bad_input if it cannot be opened, ExitCode::busy if this
  // process is out of descriptors or memory.
  explicit FileLock(const std::filesystem::path& path);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Throws hyperdefrag::Error (ExitCode::busy) naming the file if another
  // program holds a flock on it that conflicts with `access` (a hyperd that
  // has it attached). Takes no lock. Where the file system refuses the probe
  // itself (NFS, for an exclusive flock on a read-only file), it passes.
  void probe_flock(Access access) const;

  // Takes an exclusive flock on the file, without waiting, and holds it until
  // release_flock() or the object dies: while it is held no hyperd can attach
  // the file. Throws like probe_flock; where the file system refuses the
  // flock itself, holds nothing and returns.
  void hold_exclusive_flock();
  void release_flock();

 private:
  std::filesystem::path path_;
  Fd fd_;  // closing it releases a flock still held
  bool flocked_ = false;
};

}  // namespace hyperdefrag
