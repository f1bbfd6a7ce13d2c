// --results-dir without an engine: what is recorded, when a later run skips
// a file, the merge, and a directory that cannot take results.
#include "batch/results.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::batch::results {
namespace {
namespace fs = std::filesystem;

FileResult done(const fs::path& input, std::uintmax_t before, std::uintmax_t after) {
  FileResult result;
  result.input = input;
  result.output = input.parent_path() / "x.new.hyper";
  result.size_before = before;
  result.size_after = after;
  return result;
}

FileResult failed(const fs::path& input, int code) {
  FileResult result;
  result.input = input;
  result.exit_code = code;
  result.error = input.string() + ": is not a Hyper database";
  return result;
}

TEST(Results, ADoneFileIsSkippedUntilItChanges) {
  testing::ScratchDir dir;
  const auto input = dir / "a.hyper";
  testing::write_bytes(input, "some bytes");
  const auto results = dir / "results";
  prepare_directory(results);
  EXPECT_FALSE(finished_earlier(results, input));

  record(results, input, done(input, 10, 4), identity_of(input), "2/4");
  EXPECT_EQ(testing::unexpected_files(results, {result_path(results, input).filename().string()}),
            std::vector<std::string>{})
      << "no temporary file is left";
  const auto earlier = finished_earlier(results, input);
  ASSERT_TRUE(earlier);
  EXPECT_TRUE(earlier->ok());
  EXPECT_NE(earlier->skip_reason.find("done by an earlier run"), std::string::npos)
      << earlier->skip_reason;
  EXPECT_EQ(earlier->size_after, 4u);

  // Another file under the same name: done again.
  testing::write_bytes(input, "other bytes, longer");
  EXPECT_FALSE(finished_earlier(results, input));
}

// A file replaced since it was done by one of the same size (a .hyper file
// grows in whole blocks, so a refreshed extract often keeps its size),
// rewritten in place (the same inode): its time alone shows it. Set to one
// nanosecond after the recorded time, so that a clock's coarse steps cannot
// give it the same time.
TEST(Results, AFileRewrittenAtTheSameSizeIsDoneAgain) {
  testing::ScratchDir dir;
  const auto input = dir / "a.hyper";
  testing::write_bytes(input, "some bytes");
  const auto recorded = identity_of(input);
  ASSERT_TRUE(recorded);
  record(dir.path(), input, done(input, 10, 4), recorded, "");
  ASSERT_TRUE(finished_earlier(dir.path(), input));

  testing::write_bytes(input, "new  bytes");
  const auto nanoseconds = recorded->mtime_ns + 1;
  const timespec times[2] = {{nanoseconds / 1'000'000'000, nanoseconds % 1'000'000'000},
                             {nanoseconds / 1'000'000'000, nanoseconds % 1'000'000'000}};
  ASSERT_EQ(utimensat(AT_FDCWD, input.c_str(), times, 0), 0);
  const auto now = identity_of(input);
  ASSERT_EQ(now->size, recorded->size);
  ASSERT_EQ(now->inode, recorded->inode);
  EXPECT_FALSE(now->same_as(*recorded));
  EXPECT_FALSE(finished_earlier(dir.path(), input)) << "a resumed run does it again";
}

TEST(Results, AFailedFileIsDoneAgain) {
  testing::ScratchDir dir;
  const auto input = dir / "a.hyper";
  testing::write_bytes(input, "some bytes");
  record(dir.path(), input, failed(input, 3), identity_of(input), "");
  EXPECT_FALSE(finished_earlier(dir.path(), input));
}

TEST(Results, InPlaceRecordsTheFilePutInPlace) {
  testing::ScratchDir dir;
  const auto input = dir / "a.hyper";
  testing::write_bytes(input, "the original, fragmented");
  const auto before = identity_of(input);
  // The run replaces the input by a new file (another inode, size and time).
  testing::write_bytes(dir / "copy", "compacted");
  fs::rename(dir / "copy", input);
  const auto result = done(input, 24, 9);
  const auto recorded = identity_to_record(result, true, before);
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->size, 9u);
  record(dir.path(), input, result, recorded, "");
  EXPECT_TRUE(finished_earlier(dir.path(), input)) << "a resumed in-place run skips it";
  // Writing beside the input, or a failed in-place run: the identity before.
  EXPECT_EQ(identity_to_record(result, false, before)->size, before->size);
  EXPECT_EQ(identity_to_record(failed(input, 7), true, before)->size, before->size);
}

TEST(Results, MergeCountsAndNamesWhatIsNotAResult) {
  testing::ScratchDir dir;
  for (const char* name : {"a.hyper", "b.hyper", "c.hyper"}) testing::write_bytes(dir / name, "x");
  const auto results = dir / "results";
  prepare_directory(results);
  record(results, dir / "a.hyper", done(dir / "a.hyper", 100, 40), identity_of(dir / "a.hyper"),
         "");
  record(results, dir / "b.hyper", failed(dir / "b.hyper", 3), identity_of(dir / "b.hyper"), "");
  record(results, dir / "b.hyper", failed(dir / "b.hyper", 9), identity_of(dir / "b.hyper"), "");
  record(results, dir / "c.hyper", done(dir / "c.hyper", 50, 30), identity_of(dir / "c.hyper"), "");
  testing::write_bytes(results / "stray.json", "{ not json");
  testing::write_bytes(results / ".x.json.hyperdefrag-1-0.tmp.hyper", "half written");
  const auto merged = merge(results);
  EXPECT_EQ(merged.records.size(), 3u) << "b.hyper's second result replaced its first";
  EXPECT_EQ(merged.done, 2u);
  EXPECT_EQ(merged.failed, 1u);
  EXPECT_EQ(merged.records[1].exit_code, 9);
  EXPECT_EQ(merged.bytes_before, 150u);
  EXPECT_EQ(merged.bytes_after, 70u);
  ASSERT_EQ(merged.unreadable.size(), 1u);
  EXPECT_EQ(merged.unreadable[0].first.filename(), "stray.json");
  EXPECT_EQ(exit_code(merged), 10);
  const auto json = summary_json(results, merged);
  EXPECT_EQ(json["failed_by_exit_code"]["9"], 1);
  EXPECT_EQ(json["bytes_saved"], 80);
  const auto lines = summary_lines(results, merged);
  EXPECT_NE(lines[0].find("3 files, 2 done, 0 skipped, 1 failed"), std::string::npos) << lines[0];
}

TEST(Results, ADirectoryThatCannotTakeResults) {
  testing::ScratchDir dir;
  testing::write_bytes(dir / "file", "x");
  for (const auto& bad : {dir / "file", dir / "file" / "below"}) {
    try {
      prepare_directory(bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::bad_output);
      EXPECT_EQ(error.subject(), bad);
    }
  }
  EXPECT_THROW(merge(dir / "missing"), Error);
}

}  // namespace
}  // namespace hyperdefrag::batch::results
