#include "batch/for_tableau.h"

#include <fmt/format.h>

namespace hyperdefrag::batch {

void write_for(const check::TableauTarget& target, DefragOptions& options) {
  options.target_version = target.version;
  options.for_release = check::describe_target(target);
  options.opened_by = [](int version) { return check::describe_releases_opening(version); };
}

std::string ambiguity_note(std::string_view text, const check::TableauTarget& target) {
  if (target.patch_given || target.newest_in_branch <= target.version) return "";
  return fmt::format(
      "--for-tableau {} writes format version {}, which every patch level of {}.{} opens (later "
      "patches open version {}: give the patch level to write it)",
      text, target.version, target.release.year, target.release.quarter, target.newest_in_branch);
}

}  // namespace hyperdefrag::batch
