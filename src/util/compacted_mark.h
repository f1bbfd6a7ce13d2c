// A note hyperdefrag leaves on every file it writes: an extended attribute
// (user.hyperdefrag.compacted) holding the file's size and modification time
// as written, and the format version when one was. While both are unchanged,
// the file holds exactly the compacted copy hyperdefrag wrote, so
// --min-gain knows its saving (none) without opening it
// (docs/USAGE.md, "--min-gain"). Any write to the file changes its time and
// so voids the note; a file system without user attributes gets no note, and
// the file is then estimated as any other.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hyperdefrag {

inline constexpr const char* kCompactedMarkAttribute = "user.hyperdefrag.compacted";

// What the note says.
struct CompactedMark {
  // The format version written; empty for a package whose extracts were kept
  // in their own versions.
  std::optional<int> version;
};

// Notes on `path`, as it is now, that it is a fresh compacted copy. Best
// effort: a file system that refuses the attribute is not an error.
void mark_compacted(const std::filesystem::path& path, std::optional<int> version);

// The note on `path`, if there is one and the file's size and modification
// time are still those it records; nothing otherwise.
std::optional<CompactedMark> compacted_mark(const std::filesystem::path& path);

// The note's text for a file of `size` bytes modified at `modified`
// ("hyperdefrag-compacted 1 size=4096 mtime=1700000000.123456789 version=2",
// "version=-" for none), and reading it back (nothing for other text).
std::string mark_text(std::uintmax_t size, const timespec& modified, std::optional<int> version);
struct MarkFields {
  std::uintmax_t size = 0;
  timespec modified{};
  std::optional<int> version;
};
std::optional<MarkFields> parse_mark_text(const std::string& text);

}  // namespace hyperdefrag
