#include "package/package.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::package {
namespace {
namespace fs = std::filesystem;

TEST(Package, RecognisedByExtension) {
  EXPECT_TRUE(is_package("/a/Sales.twbx"));
  EXPECT_TRUE(is_package("b.TDSX"));
  EXPECT_FALSE(is_package("c.hyper"));
  EXPECT_FALSE(is_package("twbx"));
  EXPECT_EQ(default_output_path("/a/Sales.twbx"), fs::path("/a/Sales.new.twbx"));
  EXPECT_EQ(default_output_path("b.TDSX"), fs::path("b.new.TDSX"));
}

// Extracted under names made from the entry's index, never from its name,
// so an entry called "../../x.hyper" cannot write outside the directory.
TEST(Package, UnpackedUsesItsOwnNamesAndCleansUp) {
  testing::ScratchDir dir;
  testing::make_zip(dir / "p.twbx", {{"../../escape.hyper", "Hyper-ish bytes"},
                                     {"Book.twb", "<workbook/>"},
                                     {"Data/Extracts/x.HYPER", "more bytes"}});
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
  EXPECT_EQ(extracts_size(dir / "p.twbx"), 25u);
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
