// Temporary files left by a hyperdefrag run that was killed (kill -9, power
// loss) before it could remove them.
#pragma once

#include <filesystem>
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

}  // namespace hyperdefrag
