#include "package/package.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::package {
namespace {
namespace fs = std::filesystem;

TEST(Package, RecognisedByExtension) {
  EXPECT_EQ(input_kind("/a/Sales.twbx"), InputKind::package);
  EXPECT_EQ(input_kind("b.TDSX"), InputKind::package);
  EXPECT_EQ(input_kind("c.hyper"), InputKind::hyper);
  EXPECT_EQ(input_kind("twbx"), InputKind::hyper);
  EXPECT_EQ(default_output_path("/a/Sales.twbx"), fs::path("/a/Sales.new.twbx"));
  EXPECT_EQ(default_output_path("b.TDSX"), fs::path("b.new.TDSX"));
}

// Extracted under names made from the entry's index, never from its name,
// so an entry called "../../x.hyper" cannot write outside the directory.
TEST(Package, UnpackedUsesItsOwnNamesAndCleansUp) {
  testing::ScratchDir dir;
  testing::make_zip(dir / "p.twbx", {{"../../escape.hyper", "Hyper-ish bytes"},
                                     {"Book.twb", "<workbook/>"},
                                     {"Data/Extracts/x.HYPER", "Hyper more"}});
  fs::path where;
  {
    Unpacked unpacked(dir / "p.twbx");
    ASSERT_EQ(unpacked.extracts().size(), 2u);
    EXPECT_EQ(unpacked.extracts()[0].entry, "../../escape.hyper");
    EXPECT_EQ(unpacked.extracts()[0].path.parent_path(), unpacked.directory());
    EXPECT_TRUE(testing::has_bytes(unpacked.extracts()[0].path, "Hyper-ish bytes"));
    EXPECT_EQ(unpacked.extracts()[1].entry, "Data/Extracts/x.HYPER");
    EXPECT_EQ(unpacked.extracts()[1].size, 10u);
    where = unpacked.directory();
  }
  EXPECT_FALSE(fs::exists(where));
  EXPECT_FALSE(fs::exists(dir.path().parent_path().parent_path() / "escape.hyper"));
}

// The preflight of a package counts its extracts twice (extracted, then
// compacted) in the temporary directory.
TEST(Package, PreflightNeedsTwiceTheExtractsInTheTemporaryDirectory) {
  testing::ScratchDir dir;
  testing::make_zip(dir / "p.twbx", {{"a.hyper", "Hyper-ish bytes"},
                                     {"Book.twb", "<workbook/>"},
                                     {"Data/Extracts/x.HYPER", "more bytes"}});
  DefragOptions options;
  options.input = dir / "p.twbx";
  const auto prepared = package::preflight(options, DryRun::yes);
  ASSERT_EQ(prepared->space_checks().size(), 2u);
  EXPECT_EQ(prepared->space_checks()[1].dir, temp_base());
  EXPECT_EQ(prepared->space_checks()[1].needed, 50u);
  EXPECT_EQ(prepared->destination().output, dir / "p.new.twbx");
}

// In place, the package is what gets replaced, so every row of each extract
// is compared before it is rewritten, with or without --verify: a value
// changed in an extract's copy before step 8 is caught (exit 7, naming the
// package and the entry) and the package is left as it was.
TEST(PackageInPlace, ComparesEveryRowOfEachExtract) {
  testing::ScratchDir dir;
  const auto extract = dir / "e.hyper";
  testing::connect().exec(
      fmt::format("CREATE DATABASE {}", sql::quote_identifier(extract.string())));
  testing::with_attached(extract, {"CREATE SCHEMA db.s", "CREATE TABLE db.s.t (id INTEGER, v TEXT)",
                                   "INSERT INTO db.s.t SELECT g, 'row ' || g FROM "
                                   "generate_series(1, 1000) AS g"});
  const auto package = dir / "p.twbx";
  testing::make_zip(package, {{"Book.twb", "<workbook/>"}, {"Data/e.hyper", "", extract}});
  fs::remove(extract);
  const auto before = testing::read_bytes(package);

  DefragOptions options;
  options.input = package;
  options.in_place = true;
  DefragHooks hooks;
  hooks.engine = &testing::shared_engine();
  int calls = 0;
  hooks.before_verify = [&](const fs::path& copy) {
    ++calls;
    testing::with_attached(copy, {"UPDATE db.s.t SET v = 'changed' WHERE id = 500"});
  };
  int code = 0;
  std::string message;
  try {
    defragment_package(options, hooks);
  } catch (const Error& error) {
    code = static_cast<int>(error.code());
    message = error.what();
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(code, static_cast<int>(ExitCode::verify_failed)) << message;
  EXPECT_TRUE(testing::contains(
      message,
      package.string() +
          " [Data/e.hyper]: the copy does not match the input: table \"s\".\"t\": 1000 "
          "rows in the input, 1000 in the copy, 1 rows of the input not found in the copy"))
      << message;
  EXPECT_TRUE(testing::has_bytes(package, before));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"p.twbx"}), std::vector<std::string>{});
}

// The run unpacks every extract before compacting any and shows them to its
// ExtractsCheck (--min-gain weighs them there, instead of unpacking the
// package a second time): the very bytes of each entry, in the archive's
// order. When the check says stop, nothing is written and nothing is left.
TEST(Package, ExtractsCheckSeesEveryExtractAndCanStopBeforeAnythingIsWritten) {
  testing::ScratchDir dir;
  const auto first = dir / "a.hyper";
  const auto second = dir / "b.hyper";
  for (const auto& extract : {first, second}) {
    testing::connect().exec(
        fmt::format("CREATE DATABASE {}", sql::quote_identifier(extract.string())));
    testing::with_attached(extract, {"CREATE TABLE db.public.t (id INTEGER)",
                                     "INSERT INTO db.public.t SELECT g FROM "
                                     "generate_series(1, 100) AS g"});
  }
  const auto package = dir / "p.twbx";
  testing::make_zip(
      package,
      {{"Data/a.hyper", "", first}, {"Book.twb", "<workbook/>"}, {"Data/b.hyper", "", second}});
  const std::vector<std::string> extract_bytes = {testing::read_bytes(first),
                                                  testing::read_bytes(second)};
  fs::remove(first);
  fs::remove(second);
  const auto before = testing::read_bytes(package);

  DefragOptions options;
  options.input = package;
  DefragHooks hooks;
  hooks.engine = &testing::shared_engine();
  std::vector<fs::path> seen;
  const auto look = [&](const std::vector<Unpacked::Extract>& extracts) {
    EXPECT_EQ(extracts.size(), 2u);
    for (std::size_t i = 0; i < extracts.size() && i < 2; ++i) {
      EXPECT_EQ(extracts[i].entry, i == 0 ? "Data/a.hyper" : "Data/b.hyper");
      EXPECT_TRUE(testing::has_bytes(extracts[i].path, extract_bytes[i])) << i;
      EXPECT_EQ(extracts[i].size, extract_bytes[i].size());
      seen.push_back(extracts[i].path);
    }
  };

  const auto stopped = defragment_package(options, hooks, [&](const auto& extracts) {
    look(extracts);
    return false;
  });
  EXPECT_FALSE(stopped.has_value());
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& path : seen) EXPECT_FALSE(fs::exists(path.parent_path())) << path;
  EXPECT_TRUE(testing::has_bytes(package, before));
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"p.twbx"}), std::vector<std::string>{});

  seen.clear();
  const auto done = defragment_package(options, hooks, [&](const auto& extracts) {
    look(extracts);
    return true;
  });
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(seen.size(), 2u);
  ASSERT_EQ(done->extracts.size(), 2u);
  EXPECT_EQ(done->extracts[0].entry, "Data/a.hyper");
  EXPECT_EQ(done->extracts[1].entry, "Data/b.hyper");
  EXPECT_TRUE(fs::exists(dir / "p.new.twbx"));
}

TEST(Package, NotAZipIsBadInput) {
  testing::ScratchDir dir;
  testing::write_bytes(dir / "p.twbx", "PK but not really a zip archive");
  try {
    Unpacked unpacked(dir / "p.twbx");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(error.what()).find("p.twbx: is not a packaged workbook"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace hyperdefrag::package
