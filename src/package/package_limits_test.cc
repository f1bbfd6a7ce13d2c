// Hostile packages are refused before they cost disk: a zip bomb, entries
// whose declared size is a lie, names that point outside the temporary
// directory (docs/SAFETY.md, "Who else is on the machine").
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "package/package.h"
#include "raw_zip.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::package {
namespace {
namespace fs = std::filesystem;
using testing::contains;

// Bytes this process has passed to write() and similar calls so far
// (/proc/self/io "wchar"): what a refused package cost, whatever it wrote to.
std::uint64_t bytes_written() {
  std::ifstream in("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "wchar:") return value;
  }
  throw std::runtime_error("/proc/self/io has no wchar");
}

// Unpacks `package` with the temporary directory in `tmp`; the error it throws.
Error unpack_error(const fs::path& package, const fs::path& tmp) {
  setenv("TMPDIR", tmp.c_str(), 1);
  try {
    Unpacked unpacked(package);
  } catch (const Error& error) {
    unsetenv("TMPDIR");
    return error;
  }
  unsetenv("TMPDIR");
  return Error(ExitCode::ok, "no error");
}

// A 3 MiB package whose extract is 3.2 GiB of zeros: refused from its first
// bytes, having written (to any file) less than 1 MiB.
TEST(PackageLimits, ZipBombIsRefusedBeforeItIsExtracted) {
  testing::ScratchDir dir;
  fs::create_directory(dir / "tmp");
  const auto bomb = testing::zeros_entry("Data/Extracts/bomb.hyper", 51);
  ASSERT_EQ(bomb.size, 51ull << 26);  // 3.2 GiB
  testing::write_raw_zip(dir / "bomb.twbx",
                         {testing::stored_entry("Book.twb", "<workbook/>"), bomb});
  EXPECT_LT(fs::file_size(dir / "bomb.twbx"), 4u << 20);

  const auto before = bytes_written();
  const auto error = unpack_error(dir / "bomb.twbx", dir / "tmp");
  const auto written = bytes_written() - before;
  EXPECT_EQ(error.code(), ExitCode::bad_input) << error.what();
  EXPECT_TRUE(contains(error.what(), (dir / "bomb.twbx").string() +
                                         " [Data/Extracts/bomb.hyper]: is not a Hyper database"))
      << error.what();
  EXPECT_LT(written, 1u << 20) << "bytes written while refusing the bomb";
  EXPECT_EQ(testing::unexpected_files(dir / "tmp", {}), std::vector<std::string>{});
}

// An entry whose stream holds more than its declared size: extraction stops
// at the declared size and the entry is refused; one that holds less is
// refused too. Both start with a real Hyper header, so only the size is wrong.
TEST(PackageLimits, EntriesWhoseSizeIsALieAreRefused) {
  testing::ScratchDir dir;
  fs::create_directory(dir / "tmp");
  std::string content = "Hyper" + std::string(8 << 20, 'x');  // 8 MiB
  auto more = testing::deflated_entry("Data/Extracts/more.hyper", content);
  more.size = 4096;  // declares 4 KiB
  testing::write_raw_zip(dir / "more.twbx", {more});
  const auto before = bytes_written();
  const auto error = unpack_error(dir / "more.twbx", dir / "tmp");
  const auto written = bytes_written() - before;
  EXPECT_EQ(error.code(), ExitCode::bad_input) << error.what();
  EXPECT_TRUE(contains(error.what(), "[Data/Extracts/more.hyper]: holds more than the 4096 bytes"))
      << error.what();
  EXPECT_LT(written, 64u << 10) << "extraction went on past the declared size";
  EXPECT_EQ(testing::unexpected_files(dir / "tmp", {}), std::vector<std::string>{});

  auto less = testing::deflated_entry("Data/Extracts/less.hyper", "Hyper and a little more");
  less.size = 1 << 20;  // declares 1 MiB
  testing::write_raw_zip(dir / "less.twbx", {less});
  const auto short_error = unpack_error(dir / "less.twbx", dir / "tmp");
  EXPECT_EQ(short_error.code(), ExitCode::bad_input) << short_error.what();
  EXPECT_TRUE(contains(short_error.what(), "[Data/Extracts/less.hyper]: ")) << short_error.what();
  EXPECT_EQ(testing::unexpected_files(dir / "tmp", {}), std::vector<std::string>{});
}

// Entries named with ../ or an absolute path are extracted under names of
// the tool's own making inside its temporary directory, never where their
// names point.
TEST(PackageLimits, NamesNeverLeaveTheTemporaryDirectory) {
  testing::ScratchDir dir;
  fs::create_directories(dir / "a" / "b" / "tmp");
  const auto absolute = (dir / "absolute.hyper").string();
  const std::vector<std::string> names = {"../escape.hyper", "../../../escape2.hyper",
                                          "Data/../../../escape3.hyper", absolute,
                                          "/../" + (dir / "absolute2.hyper").string()};
  std::vector<testing::RawEntry> entries;
  for (const auto& name : names) entries.push_back(testing::deflated_entry(name, "Hyper" + name));
  testing::write_raw_zip(dir / "p.twbx", entries);
  setenv("TMPDIR", (dir / "a" / "b" / "tmp").c_str(), 1);
  {
    Unpacked unpacked(dir / "p.twbx");
    ASSERT_EQ(unpacked.extracts().size(), names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      EXPECT_EQ(unpacked.extracts()[i].entry, names[i]);
      EXPECT_EQ(unpacked.extracts()[i].path.parent_path(), unpacked.directory());
      EXPECT_EQ(testing::read_bytes(unpacked.extracts()[i].path), "Hyper" + names[i]);
    }
    EXPECT_EQ(unpacked.directory().parent_path(), dir / "a" / "b" / "tmp");
  }
  unsetenv("TMPDIR");
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"a", "p.twbx"}), std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir / "a", {"b"}), std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir / "a" / "b", {"tmp"}), std::vector<std::string>{});
  EXPECT_EQ(testing::unexpected_files(dir / "a" / "b" / "tmp", {}), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(absolute));
}

}  // namespace
}  // namespace hyperdefrag::package
