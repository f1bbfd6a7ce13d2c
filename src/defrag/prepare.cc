#include "defrag/prepare.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/free_space.h"
#include "util/stale_temps.h"

namespace hyperdefrag {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

fs::path directory_of(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

// The name a run writes beside `input`: <stem>.<infix>.hyper, or
// <stem>.<infix>.<ext> for a package.
fs::path sibling(const fs::path& input, const char* infix) {
  const std::string extension =
      input_kind(input) == InputKind::package ? input.extension().string() : ".hyper";
  return input.parent_path() / fmt::format("{}.{}{}", input.stem().string(), infix, extension);
}

// The checks a path the run will write (the output, or the backup; `role`
// names it) must pass: not the input, not a directory, absent unless forced,
// in a writable directory.
void check_writable_path(const fs::path& path, const char* role, const FileState& input,
                         Force force) {
  struct stat link {};
  if (lstat(path.c_str(), &link) == 0) {  // something is there, a dangling link too
    struct stat target {};
    const bool resolves = stat(path.c_str(), &target) == 0;
    if (resolves && target.st_dev == input.device && target.st_ino == input.inode) {
      throw Error(ExitCode::bad_output, path,
                  fmt::format("is the input file itself; choose another {} path", role));
    }
    if (resolves && S_ISDIR(target.st_mode)) {
      throw Error(ExitCode::bad_output, path, "is a directory");
    }
    if (force == Force::no) {
      throw Error(ExitCode::bad_output, path, "already exists (use --force to replace it)");
    }
  }
  const fs::path dir = directory_of(path);
  struct stat dir_info {};
  if (stat(dir.c_str(), &dir_info) != 0 || !S_ISDIR(dir_info.st_mode)) {
    throw Error(ExitCode::bad_output, path,
                fmt::format("its directory {} does not exist", dir.string()));
  }
  if (access(dir.c_str(), W_OK) != 0) {
    throw Error(
        ExitCode::bad_output, path,
        fmt::format("its directory {} is not writable: {}", dir.string(), std::strerror(errno)));
  }
}

// b. for a run in place: the copy is written beside the input, and the
// backup is a second name (a hard link) for the input.
void check_in_place(const Destination& destination, const FileState& input) {
  const fs::path dir = directory_of(destination.input);
  if (access(dir.c_str(), W_OK) != 0) {
    throw Error(ExitCode::bad_output, destination.input,
                fmt::format("cannot be replaced in place: its directory {} is not writable: {}",
                            dir.string(), std::strerror(errno)));
  }
  if (!destination.backup) return;
  const fs::path& backup = *destination.backup;
  check_writable_path(backup, "backup", input, destination.force);
  struct stat dir_info {};
  if (stat(directory_of(backup).c_str(), &dir_info) == 0 && dir_info.st_dev != input.device) {
    throw Error(ExitCode::bad_output, backup,
                fmt::format("is on another file system than {}; the backup is kept as a hard "
                            "link, so it must be on the same one",
                            destination.input.string()));
  }
}

}  // namespace

InputKind input_kind(const fs::path& path) {
  const auto extension = lower(path.extension().string());
  return extension == ".twbx" || extension == ".tdsx" ? InputKind::package : InputKind::hyper;
}

fs::path default_output_path(const fs::path& input) { return sibling(input, "new"); }

fs::path default_backup_path(const fs::path& input) { return sibling(input, "bak"); }

FileState file_state(const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    throw Error(ExitCode::bad_input, path,
                fmt::format("cannot read its status: {}", std::strerror(errno)));
  }
  return {info.st_dev,  info.st_ino, info.st_size, info.st_mtim,
          info.st_mode, info.st_uid, info.st_gid};
}

Destination resolve_destination(const fs::path& input, const std::optional<fs::path>& output,
                                bool in_place, const std::optional<fs::path>& backup, Force force) {
  if (in_place && output) {
    throw Error(ExitCode::usage, "--in-place writes over the input; it takes no output path");
  }
  if (backup && !in_place) throw Error(ExitCode::usage, "--backup only goes with --in-place");
  Destination result;
  result.in_place = in_place;
  result.force = force;
  // Absolute paths: the engine's working directory is not ours to rely on,
  // and the engine names attached databases by the path it was given.
  result.input = fs::absolute(input).lexically_normal();
  if (in_place) {
    std::error_code error;
    result.input = fs::weakly_canonical(result.input, error);
    if (error) {
      throw Error(ExitCode::bad_input, input,
                  fmt::format("cannot resolve its path: {}", error.message()));
    }
  }
  result.output =
      in_place ? result.input
               : fs::absolute(output.value_or(default_output_path(input))).lexically_normal();
  if (backup) {
    result.backup =
        fs::absolute(backup->empty() ? default_backup_path(input) : *backup).lexically_normal();
  }
  return result;
}

Prepared::Prepared(Destination destination, const InputCheck& check_input, DryRun dry_run)
    : destination_(std::move(destination)) {
  const Destination& d = destination_;
  // a. The input.
  const std::vector<SpaceNeed> space = check_input(d.input);
  input_state_ = file_state(d.input);

  // b. The paths the run writes.
  if (d.in_place) {
    check_in_place(d, input_state_);
  } else {
    check_writable_path(d.output, "output", input_state_, d.force);
  }

  // c. Locks: other hyperdefrag runs, then other programs.
  input_run_lock_.emplace(d.input);
  if (!d.in_place) output_run_lock_.emplace(d.output);
  input_lock_.emplace(d.input);
  input_lock_->probe_flock(d.in_place ? Access::replace : Access::read);
  std::error_code absent;
  if (!d.in_place && fs::exists(d.output, absent)) {
    FileLock(d.output).probe_flock(Access::replace);
  }

  // d. What killed runs left beside the output.
  const fs::path output_dir = directory_of(d.output);
  if (dry_run == DryRun::no) removed_ = remove_stale_temporaries(output_dir).removed;

  // e. Free space.
  std::vector<SpaceNeed> needs{{output_dir, static_cast<std::uintmax_t>(input_state_.size)}};
  needs.insert(needs.end(), space.begin(), space.end());
  for (const auto& need : needs) {
    space_checks_.push_back({need.dir, need.bytes, free_bytes(need.dir)});
    if (d.force == Force::no) require_free_space(need.dir, need.bytes, d.output);
  }

  // f. The output's temporary name; or, in a dry run, let everything go.
  if (dry_run == DryRun::no) {
    temp_.emplace(d.output);
  } else {
    input_lock_.reset();
    output_run_lock_.reset();
    input_run_lock_.reset();
  }
}

}  // namespace hyperdefrag
