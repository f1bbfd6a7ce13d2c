// The human layout of inspect, from a FileInfo made here: no engine needed.
#include "inspect/inspect.h"

#include <gtest/gtest.h>

namespace hyperdefrag::inspect {
namespace {

FileInfo described(const std::string& description) {
  FileInfo info;
  info.path = "/data/x.hyper";
  info.size = 65'536;
  info.catalog.format_version = 2;
  info.catalog.schemas = {"public"};
  catalog::Table table;
  table.schema = "public";
  table.name = "t";
  table.columns.push_back({"id", "bigint", true, std::nullopt, std::nullopt, description});
  info.catalog.tables = {table};
  info.tables = {{table, 3}};
  return info;
}

TEST(InspectLayout, ADescriptionStaysOnOneLineWithItsBreaksShownAsEscapes) {
  const auto lines = human_lines(described("first line\nsecond\r\nthird\tcolumn"));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], "      \"id\" bigint NOT NULL -- first line\\nsecond\\r\\nthird\\tcolumn");
  EXPECT_EQ(lines[4].rfind("  opened by Tableau ", 0), 0u) << lines[4];
  for (const auto& line : lines) EXPECT_EQ(line.find('\n'), std::string::npos) << line;
}

TEST(InspectLayout, JsonKeepsTheDescriptionAsItIs) {
  const auto json = to_json(described("a\nb"));
  EXPECT_EQ(json["schemas"][0]["tables"][0]["columns"][0]["description"], "a\nb");
}

}  // namespace
}  // namespace hyperdefrag::inspect
