#include "util/compacted_mark.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <fstream>

#include "util/private_dir.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

timespec modified(const fs::path& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) throw std::runtime_error("stat " + path.string());
  return status.st_mtim;
}

// Sets the file's modification time to exactly `time` (its access time too).
void set_modified(const fs::path& path, const timespec& time) {
  const timespec times[2] = {time, time};
  if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
    throw std::runtime_error("utimensat " + path.string());
  }
}

// Whether the file system under `path` keeps user extended attributes: the
// environment alone decides whether the note can exist, so a test skips only
// when the kernel refuses a user attribute, never because the note was missing.
bool keeps_user_attributes(const fs::path& path) {
  const char* name = "user.hyperdefrag.test";
  if (setxattr(path.c_str(), name, "x", 1, 0) != 0) {
    if (errno == ENOTSUP) return false;
    throw std::runtime_error("setxattr " + path.string());
  }
  removexattr(path.c_str(), name);
  return true;
}

TEST(CompactedMark, TextRoundTrips) {
  const timespec time{1'700'000'000, 123'456'789};
  const auto text = mark_text(4096, time, 2);
  EXPECT_EQ(text, "hyperdefrag-compacted 1 size=4096 mtime=1700000000.123456789 version=2");
  const auto fields = parse_mark_text(text);
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->size, 4096u);
  EXPECT_EQ(fields->modified.tv_sec, time.tv_sec);
  EXPECT_EQ(fields->modified.tv_nsec, time.tv_nsec);
  EXPECT_EQ(fields->version, 2);
  const auto none = parse_mark_text(mark_text(1, {5, 7}, std::nullopt));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->modified.tv_nsec, 7);
  EXPECT_FALSE(none->version);
}

TEST(CompactedMark, OtherTextIsNoNote) {
  for (const char* text : {"", "hyperdefrag-compacted 2 size=1 mtime=1.0 version=2",
                           "hyperdefrag-compacted 1 size=1 mtime=1.0 version=x",
                           "hyperdefrag-compacted 1 size=1 mtime=1.0 version=2 extra",
                           "hyperdefrag-compacted 1 size=1 mtime=1.0 version=-2"}) {
    EXPECT_FALSE(parse_mark_text(text)) << text;
  }
}

TEST(CompactedMark, HoldsOnlyWhileTheFileIsUnchanged) {
  PrivateDir dir(temp_base(), "compacted-mark-test-");
  const auto file = dir.path() / "f.hyper";
  std::ofstream(file) << "bytes";
  EXPECT_FALSE(compacted_mark(file)) << "no note yet";
  if (!keeps_user_attributes(file)) GTEST_SKIP() << "this file system keeps no user attributes";
  mark_compacted(file, 3);
  const auto mark = compacted_mark(file);
  ASSERT_TRUE(mark) << "the note just written";
  EXPECT_EQ(mark->version, 3);
  std::ofstream(file, std::ios::app) << "more";
  EXPECT_FALSE(compacted_mark(file)) << "a write voids it";
  mark_compacted(file, std::nullopt);
  ASSERT_TRUE(compacted_mark(file));
  EXPECT_FALSE(compacted_mark(file)->version);
  fs::last_write_time(file, fs::last_write_time(file) - std::chrono::seconds(5));
  EXPECT_FALSE(compacted_mark(file)) << "a changed time voids it";
}

// Another program rewrites the file at the same size within the same second
// (a .hyper file grows in whole blocks, so a refreshed extract often keeps
// its size): only the nanoseconds of its time differ, and that is enough.
TEST(CompactedMark, ARewriteAtTheSameSizeInTheSameSecondVoidsIt) {
  PrivateDir dir(temp_base(), "compacted-mark-test-");
  const auto file = dir.path() / "f.hyper";
  std::ofstream(file) << "compacted bytes";
  set_modified(file, {1'700'000'000, 500'000'000});
  if (!keeps_user_attributes(file)) GTEST_SKIP() << "this file system keeps no user attributes";
  mark_compacted(file, 2);
  ASSERT_TRUE(compacted_mark(file)) << "the note just written";
  std::ofstream(file, std::ios::in | std::ios::out) << "rewritten bytes";
  set_modified(file, {1'700'000'000, 500'000'001});
  ASSERT_EQ(fs::file_size(file), 15u) << "the same size";
  EXPECT_FALSE(compacted_mark(file)) << "the time differs by one nanosecond";
}

// The file grew, and its time was set back to the one recorded (as rsync -t
// or cp -p do when they copy another file over it): the size alone shows it.
TEST(CompactedMark, AGrownFileWithItsTimeSetBackVoidsIt) {
  PrivateDir dir(temp_base(), "compacted-mark-test-");
  const auto file = dir.path() / "f.hyper";
  std::ofstream(file) << "compacted bytes";
  if (!keeps_user_attributes(file)) GTEST_SKIP() << "this file system keeps no user attributes";
  mark_compacted(file, 2);
  ASSERT_TRUE(compacted_mark(file)) << "the note just written";
  const auto time = modified(file);
  std::ofstream(file, std::ios::app) << " and a new block";
  set_modified(file, time);
  const auto now = modified(file);
  ASSERT_TRUE(now.tv_sec == time.tv_sec && now.tv_nsec == time.tv_nsec) << "the time set back";
  EXPECT_FALSE(compacted_mark(file)) << "the size differs";
}

}  // namespace
}  // namespace hyperdefrag
