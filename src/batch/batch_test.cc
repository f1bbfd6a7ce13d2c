#include "batch/batch.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::batch {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> inputs(const Plan& plan, const fs::path& base) {
  std::vector<std::string> names;
  for (const auto& job : plan.jobs) names.push_back(fs::relative(job.input, base).string());
  return names;
}

TEST(BatchPlan, WalksDirectoriesSkippingOwnOutputsAndTemporaries) {
  testing::ScratchDir dir;
  fs::create_directories(dir / "x" / "y");
  for (const char* name :
       {"a.hyper", "a.new.hyper", "lonely.new.hyper", "x/B.HYPER", "x/y/c.twbx", "x/y/c.new.twbx",
        "x/.a.hyper.hyperdefrag-1-0.tmp.hyper", "x/notes.txt", "x/d.tdsx"}) {
    testing::write_bytes(dir / name, "x");
  }
  BatchOptions options;
  options.inputs = {dir.path().string()};
  options.recursive = true;
  const auto plan = batch::plan(options);
  EXPECT_EQ(inputs(plan, dir.path()),
            (std::vector<std::string>{"a.hyper", "lonely.new.hyper", "x/B.HYPER", "x/d.tdsx",
                                      "x/y/c.twbx"}));
  EXPECT_EQ(plan.jobs[3].output, dir / "x" / "d.new.tdsx");
  EXPECT_TRUE(plan.jobs[3].package);
  EXPECT_EQ(plan.jobs[0].output, dir / "a.new.hyper");
  EXPECT_FALSE(plan.jobs[0].package);
}

TEST(BatchPlan, GlobsDuplicatesAndTheOutputOption) {
  testing::ScratchDir dir;
  for (const char* name : {"a.hyper", "b.hyper", "c.twbx"}) testing::write_bytes(dir / name, "x");
  BatchOptions options;
  options.inputs = {(dir / "*.hyper").string(), (dir / "a.hyper").string(),
                    (dir / "none*.hyper").string()};
  const auto plan = batch::plan(options);
  EXPECT_EQ(inputs(plan, dir.path()),
            (std::vector<std::string>{"a.hyper", "b.hyper", "none*.hyper"}));

  options.output = dir / "out.hyper";
  try {
    batch::plan(options);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::usage);
  }
  options.inputs = {(dir / "a.hyper").string()};
  EXPECT_EQ(batch::plan(options).jobs.at(0).output, dir / "out.hyper");
}

// Two manifests joined into one (cat a.jsonl b.jsonl) list a file twice: it
// is one job, done once, as a file named twice on the command line is.
TEST(BatchPlan, AManifestListingAFileTwiceHasItOnce) {
  testing::ScratchDir dir;
  std::string manifest;
  for (const char* name : {"a.hyper", "b.hyper", "a.hyper"}) {
    testing::write_bytes(dir / name, "x");
    manifest +=
        fmt::format("{{\"path\": \"{}\", \"size\": 1, \"mtime_ns\": 0}}\n", (dir / name).string());
  }
  testing::write_bytes(dir / "m.jsonl", manifest);
  BatchOptions options;
  options.manifest = dir / "m.jsonl";
  const auto plan = batch::plan(options);
  EXPECT_EQ(inputs(plan, dir.path()), (std::vector<std::string>{"a.hyper", "b.hyper"}));
  EXPECT_TRUE(plan.rejected.empty());
}

TEST(BatchPlan, ExitCodes) {
  FileResult ok;
  FileResult bad;
  bad.exit_code = 4;
  EXPECT_EQ(exit_code({ok}), 0);
  EXPECT_EQ(exit_code({bad}), 4);
  EXPECT_EQ(exit_code({ok, ok}), 0);
  EXPECT_EQ(exit_code({ok, bad}), 10);
  // Wherever the failing file stands.
  EXPECT_EQ(exit_code({bad, ok}), 10);
  EXPECT_EQ(exit_code({bad, ok, ok}), 10);
  EXPECT_EQ(exit_code({ok, bad, ok}), 10);
  EXPECT_EQ(exit_code({ok, ok, bad}), 10);
  EXPECT_EQ(exit_code({bad, bad, bad}), 10);
  EXPECT_EQ(exit_code({ok, ok, ok}), 0);
}

}  // namespace
}  // namespace hyperdefrag::batch
