#include "check/tableau_releases.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include "util/error.h"

namespace hyperdefrag::check {
namespace {

// One note: `product` opens `version` from `first` of each branch listed on.
struct Note {
  int version;
  Product product;
  std::vector<Release> first;  // ascending branches; after the last, every branch
};

Release r(Product product, int year, int quarter, int patch) {
  return {product, year, quarter, patch};
}

// Tableau's compatibility notes, as written in hyper_process.md (see the header).
// Desktop and Server share one list for versions 1, 2 and 4; version 3 names
// Desktop 2022.4.1 and Server 2023.1.
const std::vector<Note>& notes() {
  using enum Product;
  static const std::vector<Note> table = [] {
    std::vector<Note> notes;
    const auto both = [&](int version, std::vector<std::tuple<int, int, int>> firsts) {
      for (const auto product : {desktop, server}) {
        Note note{version, product, {}};
        for (const auto& [y, q, p] : firsts) note.first.push_back(r(product, y, q, p));
        notes.push_back(note);
      }
    };
    // version 1: "Tableau Desktop/Server 2019.2.10, 2019.3.6, 2019.4.5, 2020.1.1 and
    // newer product versions ... Tableau Prep 2020.2 and newer versions"
    both(1, {{2019, 2, 10}, {2019, 3, 6}, {2019, 4, 5}, {2020, 1, 1}});
    notes.push_back({1, prep, {r(prep, 2020, 2, 0)}});
    // version 2: "Tableau Desktop/Server 2020.4.15, 2021.1.12, 2021.2.9, 2021.3.8,
    // 2021.4.4, 2022.1.2 and newer product versions ... Tableau Prep 2022.3 and newer"
    both(2, {{2020, 4, 15}, {2021, 1, 12}, {2021, 2, 9}, {2021, 3, 8}, {2021, 4, 4}, {2022, 1, 2}});
    notes.push_back({2, prep, {r(prep, 2022, 3, 0)}});
    // version 3: "Tableau Desktop 2022.4.1 and Server 2023.1 and newer product
    // versions ... Tableau Prep 2022.4.1 and newer versions"
    notes.push_back({3, desktop, {r(desktop, 2022, 4, 1)}});
    notes.push_back({3, server, {r(server, 2023, 1, 0)}});
    notes.push_back({3, prep, {r(prep, 2022, 4, 1)}});
    // version 4: "Tableau Desktop/Server/Prep 2024.3 and newer product versions"
    both(4, {{2024, 3, 0}});
    notes.push_back({4, prep, {r(prep, 2024, 3, 0)}});
    return notes;
  }();
  return table;
}

auto branch(const Release& release) { return std::tuple(release.year, release.quarter); }

bool note_covers(const Note& note, const Release& release) {
  if (note.first.empty() || branch(release) < branch(note.first.front())) return false;
  for (const auto& first : note.first) {
    if (branch(first) == branch(release)) return release.patch >= first.patch;
  }
  // A branch after the first that the note does not name: a later branch
  // ("and newer"), or one between named branches, which the notes never leave out.
  return true;
}

const char* product_name(Product product) {
  switch (product) {
    case Product::desktop:
      return "Desktop";
    case Product::server:
      return "Server";
    case Product::prep:
      return "Prep";
  }
  return "?";
}

std::string short_name(const Release& release) {
  return release.patch == 0 ? fmt::format("{}.{}", release.year, release.quarter)
                            : fmt::format("{}.{}.{}", release.year, release.quarter, release.patch);
}

std::string list_of(const std::vector<Release>& releases, Product product) {
  std::string out;
  for (const auto& release : releases) {
    if (release.product != product) continue;
    if (!out.empty()) out += ", ";
    out += short_name(release);
  }
  return out;
}

bool read_int(std::string_view text, int& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string release_name(const Release& release) {
  return fmt::format("{} {}.{}.{}", product_name(release.product), release.year, release.quarter,
                     release.patch);
}

std::optional<Release> parse_release(std::string_view text) {
  Release release;
  const auto space = text.find(' ');
  if (space != std::string_view::npos) {
    std::string product(text.substr(0, space));
    std::transform(product.begin(), product.end(), product.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (product == "desktop") {
      release.product = Product::desktop;
    } else if (product == "server") {
      release.product = Product::server;
    } else if (product == "prep") {
      release.product = Product::prep;
    } else {
      return std::nullopt;
    }
    text = text.substr(space + 1);
  }
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  if (!read_int(parts[0], release.year) || !read_int(parts[1], release.quarter)) {
    return std::nullopt;
  }
  if (parts.size() == 3 && !read_int(parts[2], release.patch)) return std::nullopt;
  if (release.year < 2000 || release.quarter < 1 || release.quarter > 4 || release.patch < 0) {
    return std::nullopt;
  }
  return release;
}

bool opens(const Release& release, int version) {
  if (version == 0) return true;
  if (version < 0 || version > kNewestKnownVersion) return false;
  for (const auto& note : notes()) {
    if (note.version == version && note.product == release.product) {
      return note_covers(note, release);
    }
  }
  return false;
}

int newest_version_opened_by(const Release& release) {
  int newest = 0;
  for (int version = 1; version <= kNewestKnownVersion; ++version) {
    if (opens(release, version)) newest = version;
  }
  return newest;
}

std::vector<Release> oldest_releases_opening(int version) {
  std::vector<Release> releases;
  for (const auto& note : notes()) {
    if (note.version == version)
      releases.insert(releases.end(), note.first.begin(), note.first.end());
  }
  return releases;
}

TableauTarget target_for_release(std::string_view text) {
  const auto release = parse_release(text);
  if (!release) {
    throw Error(ExitCode::usage,
                fmt::format("'{}' is not a Tableau release: expected YEAR.QUARTER[.PATCH] with an "
                            "optional product in front (2022.1.2, 2024.3, \"Server 2023.1\", "
                            "\"Prep 2022.3\")",
                            text));
  }
  TableauTarget target;
  target.release = *release;
  target.patch_given = std::count(text.begin(), text.end(), '.') == 2;
  target.version = newest_version_opened_by(*release);
  target.newest_in_branch = target.version;
  if (!target.patch_given) {
    // The highest patch level any note names for this branch decides what a
    // later patch could open.
    Release later = *release;
    later.patch = 1'000'000;
    target.newest_in_branch = newest_version_opened_by(later);
  }
  return target;
}

std::string describe_target(const TableauTarget& target) {
  const auto& r = target.release;
  const std::string name = target.patch_given
                               ? fmt::format("{}.{}.{}", r.year, r.quarter, r.patch)
                               : fmt::format("{}.{} (every patch level)", r.year, r.quarter);
  return fmt::format("Tableau {} {}", product_name(r.product), name);
}

std::string describe_releases_opening(int version) {
  if (version == 0) return "every Tableau release";
  if (version < 0 || version > kNewestKnownVersion) return "unknown to this hyperdefrag";
  const auto releases = oldest_releases_opening(version);
  const auto desktop = list_of(releases, Product::desktop);
  const auto server = list_of(releases, Product::server);
  const auto prep = list_of(releases, Product::prep);
  std::string text =
      desktop == server
          ? fmt::format("Tableau Desktop/Server {} and newer", desktop)
          : fmt::format("Tableau Desktop {} and newer, Server {} and newer", desktop, server);
  return text + fmt::format("; Prep {} and newer", prep);
}

}  // namespace hyperdefrag::check
