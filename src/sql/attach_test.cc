#include "sql/attach.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::sql {
namespace {

std::string sample_min_tuples(Connection& connection) {
  return std::string(connection.exec("SHOW sample_min_tuples").value(0, 0));
}

// A read-only attach samples no rows of the file's tables, and leaves the
// session's sample_min_tuples as it found it, whether the attach worked or
// not: whatever the session writes afterwards is sampled as usual.
TEST(Attach, ReadOnlyLeavesTheSessionsSampleSettingAsItWas) {
  testing::ScratchDir dir;
  const auto file = dir / "db.hyper";
  auto connection = testing::connect();
  connection.exec(fmt::format("CREATE DATABASE {}", quote_identifier(file.string())));
  const auto before = sample_min_tuples(connection);
  ASSERT_NE(before, "0");
  {
    Attached attached(connection, file, "ro", AttachMode::read_only);
    EXPECT_EQ(sample_min_tuples(connection), before);
  }
  EXPECT_THROW(attach_input(connection, dir / "missing.hyper", "gone"), Error);
  EXPECT_EQ(sample_min_tuples(connection), before);
}

}  // namespace
}  // namespace hyperdefrag::sql
