// Temporary files and directories left by a hyperdefrag run that was killed
// (kill -9, power loss) before it could remove them.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hyperdefrag {

struct StaleTemporaries {
  std::vector<std::filesystem::path> removed;
  // Stale, but could not be removed (the reason is in the pair).
  std::vector<std::pair<std::filesystem::path, std::string>> kept;
};

// Removes the files in `dir` whose names follow TempFile's pattern
// (.<name>.hyperdefrag-<pid>-<n>.tmp.hyper), whose <pid> is no longer a
// running process and which no hyperd has attached (flock probe). Touches
// nothing else: not other programs' files, not the temporaries of a run that
// is still going.
StaleTemporaries remove_stale_temporaries(const std::filesystem::path& dir);

// The pid in a PrivateDir name ("hyperdefrag-<what>-<pid>-XXXXXX"), or
// nothing if `filename` is not one.
std::optional<pid_t> private_dir_owner(const std::string& filename);

// Removes, with everything in them, the directories in `base` that
// PrivateDir made (named as above) for a process that is no longer running,
// that this user owns, that no live PrivateDir holds (its flock, which also
// covers a live run in another pid namespace sharing `base`) and that were
// not kept for their log (PrivateDir::keep). An engine's directory, a
// package's extracted files and check's scratch databases of a killed run go
// this way. Touches nothing else.
StaleTemporaries remove_stale_private_dirs(const std::filesystem::path& base);

}  // namespace hyperdefrag
