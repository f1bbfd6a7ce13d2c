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
