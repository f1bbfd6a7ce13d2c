// The Tableau release table: no engine needed.
#include "check/tableau_releases.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace hyperdefrag::check {
namespace {

Release desktop(int year, int quarter, int patch) {
  return {Product::desktop, year, quarter, patch};
}

TEST(TableauReleases, VersionZeroOpensEverywhere) {
  EXPECT_TRUE(opens(desktop(2018, 1, 0), 0));
  EXPECT_EQ(newest_version_opened_by(desktop(2018, 1, 0)), 0);
  EXPECT_TRUE(oldest_releases_opening(0).empty());
  EXPECT_EQ(describe_releases_opening(0), "every Tableau release");
}

TEST(TableauReleases, PatchLevelDecidesWithinANamedBranch) {
  // Version 2: "2020.4.15, 2021.1.12, ... 2022.1.2 and newer".
  EXPECT_FALSE(opens(desktop(2020, 4, 14), 2));
  EXPECT_TRUE(opens(desktop(2020, 4, 15), 2));
  EXPECT_FALSE(opens(desktop(2021, 3, 7), 2));
  EXPECT_TRUE(opens(desktop(2021, 3, 8), 2));
  EXPECT_FALSE(opens(desktop(2020, 3, 99), 2)) << "2020.3 is before every named branch";
  EXPECT_TRUE(opens(desktop(2023, 2, 0), 2)) << "a branch after the last named one";
}

TEST(TableauReleases, NewestVersionOpenedByARelease) {
  EXPECT_EQ(newest_version_opened_by(desktop(2019, 2, 9)), 0);
  EXPECT_EQ(newest_version_opened_by(desktop(2019, 2, 10)), 1);
  EXPECT_EQ(newest_version_opened_by(desktop(2021, 4, 4)), 2);
  EXPECT_EQ(newest_version_opened_by(desktop(2022, 4, 0)), 2);
  EXPECT_EQ(newest_version_opened_by(desktop(2022, 4, 1)), 3);
  // Server gets version 3 only from 2023.1; Desktop from 2022.4.1.
  EXPECT_EQ(newest_version_opened_by({Product::server, 2022, 4, 5}), 2);
  EXPECT_EQ(newest_version_opened_by({Product::server, 2023, 1, 0}), 3);
  EXPECT_EQ(newest_version_opened_by(desktop(2024, 3, 0)), 4);
  EXPECT_EQ(newest_version_opened_by({Product::prep, 2022, 2, 9}), 1);
  EXPECT_EQ(newest_version_opened_by({Product::prep, 2022, 3, 0}), 2);
}

TEST(TableauReleases, OldestReleasesOpeningVersionTwo) {
  const auto releases = oldest_releases_opening(2);
  EXPECT_EQ(releases.size(), 13u);  // six branches each for Desktop and Server, one for Prep
  EXPECT_NE(std::find(releases.begin(), releases.end(), desktop(2020, 4, 15)), releases.end());
  EXPECT_NE(std::find(releases.begin(), releases.end(), Release{Product::prep, 2022, 3, 0}),
            releases.end());
  EXPECT_EQ(describe_releases_opening(2),
            "Tableau Desktop/Server 2020.4.15, 2021.1.12, 2021.2.9, 2021.3.8, 2021.4.4, 2022.1.2 "
            "and newer; Prep 2022.3 and newer");
  EXPECT_EQ(describe_releases_opening(3),
            "Tableau Desktop 2022.4.1 and newer, Server 2023.1 and newer; Prep 2022.4.1 and newer");
}

TEST(TableauReleases, EveryOldestReleaseOpensItsVersionAndNoEarlierPatchDoes) {
  for (int version = 1; version <= kNewestKnownVersion; ++version) {
    for (const auto& release : oldest_releases_opening(version)) {
      EXPECT_TRUE(opens(release, version)) << release_name(release);
      if (release.patch > 0) {
        auto before = release;
        --before.patch;
        EXPECT_FALSE(opens(before, version)) << release_name(before);
      }
    }
  }
}

TEST(TableauReleases, UnknownVersionsAreNotClaimed) {
  EXPECT_FALSE(opens(desktop(2030, 1, 0), kNewestKnownVersion + 1));
  EXPECT_TRUE(oldest_releases_opening(kNewestKnownVersion + 1).empty());
  EXPECT_EQ(describe_releases_opening(kNewestKnownVersion + 1), "unknown to this hyperdefrag");
}

TEST(TableauReleases, ParsesReleaseNames) {
  EXPECT_EQ(parse_release("2021.4.4"), desktop(2021, 4, 4));
  EXPECT_EQ(parse_release("Server 2023.1"), (Release{Product::server, 2023, 1, 0}));
  EXPECT_EQ(parse_release("prep 2022.3"), (Release{Product::prep, 2022, 3, 0}));
  EXPECT_EQ(parse_release(release_name(desktop(2020, 4, 15))), desktop(2020, 4, 15));
  EXPECT_FALSE(parse_release("2021"));
  EXPECT_FALSE(parse_release("2021.5.1")) << "a quarter is 1 to 4";
  EXPECT_FALSE(parse_release("Excel 2021.1"));
  EXPECT_FALSE(parse_release("2021.1.x"));
  EXPECT_FALSE(parse_release(""));
}

// --for-tableau on each boundary of the documented table: a release just
// below and one at each first release, per product, and the next branch.
TEST(TableauReleases, ForTableauPicksTheNewestVersionOnEachBoundary) {
  const std::vector<std::pair<std::string, int>> cases = {
      // Version 1: Desktop/Server 2019.2.10, 2019.3.6, 2019.4.5, 2020.1.1; Prep 2020.2.
      {"2019.1.99", 0},
      {"2019.2.9", 0},
      {"2019.2.10", 1},
      {"2019.3.5", 0},
      {"2019.3.6", 1},
      {"2019.4.4", 0},
      {"2019.4.5", 1},
      {"2020.1.0", 0},
      {"2020.1.1", 1},
      {"2020.2.0", 1},
      {"Server 2019.2.9", 0},
      {"Server 2019.2.10", 1},
      {"Server 2020.1.0", 0},
      {"Server 2020.1.1", 1},
      {"Prep 2020.1.9", 0},
      {"Prep 2020.2.0", 1},
      // Version 2: 2020.4.15, 2021.1.12, 2021.2.9, 2021.3.8, 2021.4.4, 2022.1.2; Prep 2022.3.
      {"2020.3.99", 1},
      {"2020.4.14", 1},
      {"2020.4.15", 2},
      {"2021.1.11", 1},
      {"2021.1.12", 2},
      {"2021.2.8", 1},
      {"2021.2.9", 2},
      {"2021.3.7", 1},
      {"2021.3.8", 2},
      {"2021.4.3", 1},
      {"2021.4.4", 2},
      {"2022.1.1", 1},
      {"2022.1.2", 2},
      {"2022.2.0", 2},
      {"Server 2022.1.1", 1},
      {"Server 2022.1.2", 2},
      {"Prep 2022.2.9", 1},
      {"Prep 2022.3.0", 2},
      // Version 3: Desktop 2022.4.1, Server 2023.1, Prep 2022.4.1.
      {"2022.4.0", 2},
      {"2022.4.1", 3},
      {"Server 2022.4.9", 2},
      {"Server 2023.1.0", 3},
      {"Prep 2022.4.0", 2},
      {"Prep 2022.4.1", 3},
      // Version 4: Desktop/Server/Prep 2024.3.
      {"2024.2.99", 3},
      {"2024.3.0", 4},
      {"Server 2024.2.99", 3},
      {"Server 2024.3.0", 4},
      {"Prep 2024.2.99", 3},
      {"Prep 2024.3.0", 4},
      {"2030.1.0", 4}};
  for (const auto& [text, version] : cases) {
    const auto target = target_for_release(text);
    EXPECT_EQ(target.version, version) << text;
    EXPECT_TRUE(target.patch_given) << text;
  }
}

TEST(TableauReleases, ForTableauWithoutAPatchPicksWhatEveryPatchOpens) {
  // 2022.1.0 and .1 open version 1 only; 2022.1.2 and later open version 2.
  const auto branch = target_for_release("2022.1");
  EXPECT_FALSE(branch.patch_given);
  EXPECT_EQ(branch.version, 1);
  EXPECT_EQ(branch.newest_in_branch, 2);
  EXPECT_EQ(describe_target(branch), "Tableau Desktop 2022.1 (every patch level)");
  EXPECT_EQ(target_for_release("2022.4").version, 2) << "Desktop 2022.4.1 opens 3, 2022.4.0 not";
  EXPECT_EQ(target_for_release("2022.4").newest_in_branch, 3);
  // Where the patch does not matter, the branch is not ambiguous.
  EXPECT_EQ(target_for_release("Server 2022.4").newest_in_branch, 2);
  EXPECT_EQ(target_for_release("2024.3").version, 4);
  EXPECT_EQ(target_for_release("2024.3").newest_in_branch, 4);
  EXPECT_EQ(describe_target(target_for_release("Server 2023.1.2")), "Tableau Server 2023.1.2");
}

TEST(TableauReleases, ForTableauRefusesOtherText) {
  for (const char* text : {"2022", "latest", "2022.5", "Excel 2022.1", ""}) {
    try {
      target_for_release(text);
      ADD_FAILURE() << text << " was read as a release";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::usage) << text;
      EXPECT_NE(std::string(error.what()).find("is not a Tableau release"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace hyperdefrag::check
