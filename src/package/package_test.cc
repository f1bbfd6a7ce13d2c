#include "package/package.h"

#include <gtest/gtest.h>

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
