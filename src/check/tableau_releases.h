// Which Tableau releases open which file-format version of a .hyper file.
//
// The one copy of Tableau's compatibility notes in this project. Source:
// Hyper's documentation of the process setting `default_database_version`
// (tableau/hyper-db, website/docs/hyper-api/hyper_process.md, section
// "Database Settings", read November 2026). Each version lists, per product,
// the first release of each release branch that opens it; every later branch
// ("and newer product versions") opens it too. Version 0 opens everywhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hyperdefrag::check {

// Desktop and Server share their release numbers and notes; Prep has its own.
enum class Product { desktop, server, prep };

// A Tableau release: 2021.4.4 is {2021, 4, 4}; a branch is year.quarter.
struct Release {
  Product product = Product::desktop;
  int year = 0;
  int quarter = 0;
  int patch = 0;
  bool operator==(const Release&) const = default;
};

// The newest file-format version this module knows (the table's last row).
constexpr int kNewestKnownVersion = 4;

// "Desktop 2021.4.4", "Prep 2022.3.0" (parse_release reads it back).
std::string release_name(const Release& release);

// Reads "2021.4.4", "2021.4" (patch 0) with an optional product in front
// ("Desktop 2021.4.4", "server 2023.1", "prep 2022.3"; Desktop by default).
// Nothing for any other text.
std::optional<Release> parse_release(std::string_view text);

// The newest file-format version that `release` opens (0 for releases before
// every note). Versions newer than kNewestKnownVersion are not known to it.
int newest_version_opened_by(const Release& release);

// --for-tableau: the release as written ("2022.1.2", "Server 2023.1"), the
// format version written for it, and whether the patch level was left out
// and mattered (the version is then the one every patch level opens).
struct TableauTarget {
  Release release;
  bool patch_given = false;
  int version = 0;
  // Without a patch level: the version that a later patch of the same branch
  // opens, when newer than `version` (so a message can name it); else `version`.
  int newest_in_branch = 0;
};

// Reads RELEASE as parse_release() does and picks its version. An ambiguous
// release (year.quarter) picks the version patch 0 opens, which every later
// patch opens too. Throws hyperdefrag::Error (usage) naming the text and the
// expected form for anything else.
TableauTarget target_for_release(std::string_view text);

// "Tableau Desktop 2022.1.2", "Tableau Desktop 2022.1 (every patch level)".
std::string describe_target(const TableauTarget& target);

// Whether `release` opens files of `version` (false for unknown versions).
bool opens(const Release& release, int version);

// The oldest releases that open `version`: per product, the first release of
// each branch named in the notes; every later branch opens it too. Empty for
// version 0 (every release opens it) and for versions this table does not know.
std::vector<Release> oldest_releases_opening(int version);

// For a person: "every Tableau release" for version 0; for version 2
// "Tableau Desktop/Server 2020.4.15, 2021.1.12, 2021.2.9, 2021.3.8, 2021.4.4,
// 2022.1.2 and newer; Prep 2022.3 and newer"; "unknown to this hyperdefrag"
// for a version newer than the table.
std::string describe_releases_opening(int version);

}  // namespace hyperdefrag::check
