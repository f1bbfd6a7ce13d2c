// hyperdefrag inspect, run as a user runs it, against the real engine.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::run_hyperdefrag;

using testing::contains;

// A file with awkward names, an empty schema, NOT NULL, a collation, a
// default, a description and assumed constraints.
fs::path make_described_file(const testing::ScratchDir& dir) {
  const auto file = dir / "described.hyper";
  {
    auto connection = testing::connect();
    connection.exec(
        fmt::format("CREATE DATABASE {} WITH VERSION 4", sql::quote_identifier(file.string())));
  }
  testing::with_attached(
      file, {"CREATE SCHEMA db.\"Sales \"\"EU\"\"\"", "CREATE SCHEMA db.\"empty\"",
             "CREATE TABLE db.\"Sales \"\"EU\"\"\".\"Orders 2024\" ("
             "  id BIGINT NOT NULL DEFAULT 42, name TEXT COLLATE \"en_US_CI\", price NUMERIC(18,3),"
             "  ASSUMED PRIMARY KEY (id), ASSUMED UNIQUE (name))",
             "COMMENT ON COLUMN db.\"Sales \"\"EU\"\"\".\"Orders 2024\".id IS 'the key'",
             "CREATE TABLE db.public.lines (\"order\" BIGINT, ASSUMED FOREIGN KEY (\"order\") "
             "  REFERENCES db.\"Sales \"\"EU\"\"\".\"Orders 2024\")",
             "INSERT INTO db.\"Sales \"\"EU\"\"\".\"Orders 2024\" VALUES (1, 'a', 1.5), (2, 'b', "
             "NULL), (3, NULL, 2)"});
  return file;
}

TEST(Inspect, HumanLayoutShowsEverySchemaTableAndColumn) {
  testing::ScratchDir dir;
  const auto file = make_described_file(dir);
  const auto before = testing::read_bytes(file);
  const auto result = run_hyperdefrag({"inspect", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_TRUE(testing::has_bytes(file, before)) << "inspect changed the file";
  EXPECT_EQ(result.out.rfind(file.string() + ": ", 0), 0u) << result.out;
  EXPECT_TRUE(contains(result.out, "format version 4, 3 schemas, 2 tables, 3 rows")) << result.out;
  EXPECT_TRUE(contains(result.out, "  schema \"empty\" (empty)\n")) << result.out;
  EXPECT_TRUE(
      contains(result.out, "    table \"Sales \"\"EU\"\"\".\"Orders 2024\": 3 rows, 3 columns\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "      \"id\" bigint NOT NULL DEFAULT 42 -- the key\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "      ASSUMED PRIMARY KEY (\"id\")\n")) << result.out;
  EXPECT_TRUE(contains(result.out, "      ASSUMED UNIQUE (\"name\")\n")) << result.out;
  EXPECT_TRUE(contains(result.out,
                       "      ASSUMED FOREIGN KEY (\"order\") REFERENCES \"Sales "
                       "\"\"EU\"\"\".\"Orders 2024\" (\"id\")\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "      \"name\" text NULL COLLATE \"en_US_CI\"\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "      \"price\" numeric(18,3) NULL\n")) << result.out;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"described.hyper"}), std::vector<std::string>{});
}

// The documented JSON shape (docs/USAGE.md, "inspect --json").
TEST(Inspect, JsonShape) {
  testing::ScratchDir dir;
  const auto file = make_described_file(dir);
  const auto result = run_hyperdefrag({"inspect", "--json", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["hyperdefrag_inspect"], 1);
  EXPECT_EQ(json["file"], file.string());
  EXPECT_EQ(json["size"], fs::file_size(file));
  EXPECT_EQ(json["format_version"], 4);
  ASSERT_EQ(json["schemas"].size(), 3u);
  EXPECT_EQ(json["schemas"][0]["name"], "public");
  EXPECT_EQ(json["schemas"][2]["name"], "empty");
  EXPECT_TRUE(json["schemas"][2]["tables"].empty());
  const auto& table = json["schemas"][1]["tables"][0];
  EXPECT_EQ(
      table["constraints"],
      nlohmann::json::parse(
          R"([{"type":"primary_key","columns":["id"]},{"type":"unique","columns":["name"]}])"));
  EXPECT_EQ(json["schemas"][0]["tables"][0]["constraints"][0],
            nlohmann::json::parse(
                R"({"type":"foreign_key","columns":["order"],
          "references":{"schema":"Sales \"EU\"","table":"Orders 2024","columns":["id"]}})"));
  EXPECT_EQ(json["schemas"][1]["name"], "Sales \"EU\"");
  EXPECT_EQ(table["name"], "Orders 2024");
  EXPECT_EQ(table["rows"], 3);
  EXPECT_TRUE(table["constraints"].is_array());
  ASSERT_EQ(table["columns"].size(), 3u);
  EXPECT_EQ(table["columns"][0],
            nlohmann::json::parse(
                R"({"name":"id","type":"bigint","nullable":false,"collation":null,"default":"42",
          "description":"the key"})"));
  EXPECT_EQ(table["columns"][1]["collation"], "en_US_CI");
  EXPECT_EQ(table["columns"][2]["type"], "numeric(18,3)");
  EXPECT_EQ(table["columns"][2]["nullable"], true);
}

TEST(Inspect, OneDocumentPerFileAndFailuresDoNotStopTheOthers) {
  testing::ScratchDir dir;
  const auto file = make_described_file(dir);
  testing::write_bytes(dir / "bad.hyper", "not hyper at all");
  const auto result =
      run_hyperdefrag({"inspect", "--json", file.string(), (dir / "bad.hyper").string(),
                       testing::fragmented_fixture().string()});
  EXPECT_EQ(result.exit_code, 10) << result.err;
  std::istringstream lines(result.out);
  std::vector<nlohmann::json> documents;
  for (std::string line; std::getline(lines, line);)
    documents.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[1]["schemas"][1]["tables"][0]["rows"], 1'200'000);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "bad.hyper: is not a Hyper database")) << result.err;
}

TEST(Inspect, BadInputIsOneLineWithItsOwnCode) {
  testing::ScratchDir dir;
  for (const auto& [name, code, cause] : std::vector<std::tuple<std::string, int, std::string>>{
           {"missing.hyper", 3, "No such file"}, {"", 2, "file is required"}}) {
    std::vector<std::string> args = {"inspect"};
    if (!name.empty()) args.push_back((dir / name).string());
    const auto result = run_hyperdefrag(args);
    EXPECT_EQ(result.exit_code, code) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_TRUE(contains(result.err, cause)) << result.err;
  }
}

TEST(Inspect, PackageShowsEachExtract) {
  testing::ScratchDir dir;
  const auto file = make_described_file(dir);
  testing::make_zip(dir / "Book.twbx", {{"Book.twb", "<workbook/>"},
                                        {"Data/Extracts/described.hyper", "", file, false}});
  const auto result = run_hyperdefrag({"inspect", "--json", (dir / "Book.twbx").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["file"], (dir / "Book.twbx").string());
  EXPECT_EQ(json["entry"], "Data/Extracts/described.hyper");
  EXPECT_EQ(json["schemas"][1]["tables"][0]["rows"], 3);
}

}  // namespace
}  // namespace hyperdefrag
