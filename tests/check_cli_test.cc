// hyperdefrag check, run as a user runs it, against the real engine: the
// report, --json, -v, packages, -r, bad inputs, --deep and exit code 12.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "fixture/fragmented.h"
#include "sql/quote.h"
#include "test_support.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;
using testing::contains;
using testing::run_hyperdefrag;

// Hyper's own binary format (format code 2): it carries a geography's stored
// bytes, where PostgreSQL's binary format (1) has no output for that type.
constexpr int kHyperBinary = 2;

// A libpq connection of the test's own, for what sql::Connection does not
// offer: values in binary form (a geography's stored bytes).
struct RawConnection {
  PGconn* connection = nullptr;
  RawConnection() {
    const auto& endpoint = testing::shared_engine().endpoint();
    const char* keywords[] = {"host", "port", "user", "sslmode", "gssencmode", nullptr};
    const char* values[] = {endpoint.socket_directory.c_str(),
                            endpoint.port.c_str(),
                            "tableau_internal_user",
                            "disable",
                            "disable",
                            nullptr};
    connection = PQconnectdbParams(keywords, values, 0);
    if (PQstatus(connection) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(connection));
  }
  ~RawConnection() { PQfinish(connection); }
  // Runs a statement with binary parameters and results; throws with the engine's message.
  // Hyper needs each parameter's type declared (`types`, as oids).
  std::unique_ptr<PGresult, decltype(&PQclear)> exec(const std::string& statement,
                                                     const std::vector<std::string>& params = {},
                                                     const std::vector<Oid>& types = {}) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const auto& param : params) {
      values.push_back(param.data());
      lengths.push_back(static_cast<int>(param.size()));
      formats.push_back(kHyperBinary);
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexecParams(connection, statement.c_str(), static_cast<int>(params.size()),
                     types.empty() ? nullptr : types.data(), values.data(), lengths.data(),
                     formats.data(), kHyperBinary),
        &PQclear);
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error(PQresultErrorMessage(result.get()));
    }
    return result;
  }
};

// A file whose table "geo"."places" has 200 readable geography values and,
// in row id 77, one whose stored bytes have one byte flipped: the engine
// copies it, but any query that decodes it fails with "invalid checksum".
// The bytes are read in binary form, flipped in the middle and written back
// as a binary parameter, so the planting is the same on every run.
fs::path make_file_with_bad_geography(const testing::ScratchDir& dir) {
  const auto file = dir / "geo.hyper";
  {
    auto connection = testing::connect();
    connection.exec(
        fmt::format("CREATE DATABASE {} WITH VERSION 2", sql::quote_identifier(file.string())));
  }
  RawConnection raw;
  raw.exec(fmt::format("ATTACH DATABASE {} AS db", sql::quote_identifier(file.string())));
  raw.exec("CREATE SCHEMA db.geo");
  raw.exec(
      "CREATE TABLE db.geo.places (id INTEGER NOT NULL, name TEXT, place tableau.tabgeography)");
  raw.exec(
      "INSERT INTO db.geo.places SELECT i, 'place ' || i, CAST('POINT(' || (i % 170) || '.25 ' "
      "|| (i % 80) || '.5)' AS tableau.tabgeography) FROM generate_series(1, 200) s(i) WHERE i <> "
      "77");
  const auto good = raw.exec("SELECT place FROM db.geo.places WHERE id = 76");
  std::string bytes(PQgetvalue(good.get(), 0, 0), PQgetlength(good.get(), 0, 0));
  if (bytes.size() < 4) throw std::runtime_error("a geography of fewer than 4 bytes");
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  const auto type =
      raw.exec("SELECT oid FROM db.pg_catalog.pg_type WHERE typname = 'tabgeography'");
  const auto* oid_bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(type.get(), 0, 0));
  Oid oid = 0;
  for (int i = 0; i < PQgetlength(type.get(), 0, 0); ++i) oid |= Oid{oid_bytes[i]} << (8 * i);
  raw.exec("INSERT INTO db.geo.places VALUES (77, 'planted', $1)", {bytes}, {oid});
  raw.exec("DETACH DATABASE db");
  return file;
}

fs::path make_fragmented(const testing::ScratchDir& dir, const std::string& name) {
  const auto file = dir / name;
  testing::make_small_fragmented(file, 60'000, 2);
  return file;
}

TEST(CheckCli, ReportsSizeVersionReleasesRowsAndEstimateWithoutChangingTheFile) {
  testing::ScratchDir dir;
  const auto file = make_fragmented(dir, "frag.hyper");
  const auto before = testing::read_bytes(file);
  const auto result = run_hyperdefrag({"check", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(testing::read_bytes(file), before);
  EXPECT_EQ(testing::unexpected_files(dir.path(), {"frag.hyper"}), std::vector<std::string>{});
  EXPECT_EQ(result.out.rfind(file.string() + ": ", 0), 0u) << result.out;
  EXPECT_TRUE(
      contains(result.out, "  format version 2, opened by Tableau Desktop/Server 2020.4.15"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "  2 schemas, 2 tables, 48,000 live rows of ")) << result.out;
  EXPECT_TRUE(contains(result.out, "  compacted: ")) << result.out;
  EXPECT_TRUE(contains(result.out, ", method sample")) << result.out;
  EXPECT_FALSE(contains(result.out, "    table ")) << "tables only with -v";
  EXPECT_FALSE(testing::has_control_characters(result.out));
}

TEST(CheckCli, VerbosePrintsALinePerTable) {
  testing::ScratchDir dir;
  const auto file = make_fragmented(dir, "frag.hyper");
  const auto result = run_hyperdefrag({"check", "-v", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "    table \"Extract\".\"Extract\": 24,000 live rows of "))
      << result.out;
  EXPECT_TRUE(contains(result.out, "    table \"Extract\".\"Extract_2\": 24,000 live rows of "))
      << result.out;
  EXPECT_TRUE(contains(result.out, "copied whole into the scratch database")) << result.out;
}

TEST(CheckCli, JsonHoldsEveryFieldAndTheReportFileTheSame) {
  testing::ScratchDir dir;
  const auto file = make_fragmented(dir, "frag.hyper");
  const auto report = dir / "check.json";
  const auto result =
      run_hyperdefrag({"check", "--json", "--report", report.string(), file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json, nlohmann::json::parse(testing::read_bytes(report)));
  EXPECT_EQ(json["hyperdefrag_check"], 1);
  EXPECT_EQ(json["exit_code"], 0);
  ASSERT_EQ(json["files"].size(), 1u);
  const auto& checked = json["files"][0]["checks"][0];
  EXPECT_EQ(checked["file"], file.string());
  EXPECT_EQ(checked["size"], fs::file_size(file));
  EXPECT_EQ(checked["format_version"], 2);
  EXPECT_EQ(checked["opened_by"]["oldest_releases"][0], "Desktop 2020.4.15");
  EXPECT_EQ(checked["schemas"], 2) << "public and Extract";
  EXPECT_EQ(checked["tables"], 2);
  EXPECT_EQ(checked["rows"], 48'000);
  EXPECT_GT(checked["row_versions"].get<long long>(), 48'000);
  const auto& estimate = checked["estimate"];
  EXPECT_EQ(estimate["method"], "sample");
  EXPECT_EQ(estimate["format_version"], 2);
  EXPECT_EQ(estimate["saving"].get<long long>(),
            checked["size"].get<long long>() - estimate["size"].get<long long>());
  EXPECT_GT(estimate["saving_percent"].get<double>(), 20.0) << "the file is fragmented";
  EXPECT_TRUE(checked["estimate_as_version_2"].is_null());
  EXPECT_TRUE(checked["unreadable"].is_null()) << "not asked for --deep";
  ASSERT_EQ(checked["table_details"].size(), 2u);
  EXPECT_EQ(checked["table_details"][0]["rows"], 24'000);
}

TEST(CheckCli, VersionZeroAlsoEstimatesVersionTwoAndNamesItsReleases) {
  testing::ScratchDir dir;
  const auto file = dir / "old.hyper";
  {
    auto connection = testing::connect();
    fixture::make_fragmented_file(connection, file, {30'000, 1, 0, fixture::Layout::extract});
  }
  const auto result = run_hyperdefrag({"check", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "  format version 0, opened by every Tableau release\n"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "  compacted as version 2: ")) << result.out;
  EXPECT_TRUE(contains(result.out,
                       "version 2 is opened by Tableau Desktop/Server 2020.4.15, 2021.1.12, "
                       "2021.2.9, 2021.3.8, 2021.4.4, 2022.1.2 and newer; Prep 2022.3 and newer"))
      << result.out;
  const auto json = nlohmann::json::parse(run_hyperdefrag({"check", "--json", file.string()}).out);
  const auto& checked = json["files"][0]["checks"][0];
  EXPECT_EQ(checked["estimate"]["format_version"], 0);
  EXPECT_EQ(checked["estimate_as_version_2"]["format_version"], 2);
  EXPECT_EQ(checked["estimate_as_version_2"]["opened_by"]["oldest_releases"].size(), 13u);
}

TEST(CheckCli, PackagesShowEachExtract) {
  testing::ScratchDir dir;
  const auto extract = make_fragmented(dir, "e.hyper");
  const auto package = dir / "Sales.twbx";
  testing::make_zip(package, {{.name = "Sales.twb", .bytes = "<workbook/>"},
                              {.name = "Data/Extracts/a.hyper", .file = extract},
                              {.name = "Data/Extracts/b.hyper", .file = extract}});
  const auto before = testing::read_bytes(package);
  const auto result = run_hyperdefrag({"check", package.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::read_bytes(package), before);
  EXPECT_TRUE(contains(result.out, package.string() + " [Data/Extracts/a.hyper]: ")) << result.out;
  EXPECT_TRUE(contains(result.out, package.string() + " [Data/Extracts/b.hyper]: ")) << result.out;
}

TEST(CheckCli, RecursiveWalkAndABadInputFailOneFileOnly) {
  testing::ScratchDir dir;
  fs::create_directories(dir / "sub");
  make_fragmented(dir, "sub/a.hyper");
  testing::write_bytes(dir / "sub" / "broken.hyper", "definitely not a database");
  const auto broken = testing::read_bytes(dir / "sub" / "broken.hyper");
  const auto result = run_hyperdefrag({"check", "-r", "-j", "2", dir.path().string()});
  EXPECT_EQ(result.exit_code, 10) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "broken.hyper: is not a Hyper database")) << result.err;
  EXPECT_TRUE(contains(result.out, (dir / "sub" / "a.hyper").string() + ": ")) << result.out;
  EXPECT_EQ(testing::read_bytes(dir / "sub" / "broken.hyper"), broken);
  EXPECT_EQ(testing::unexpected_files(dir / "sub", {"a.hyper", "broken.hyper"}),
            std::vector<std::string>{});
}

TEST(CheckCli, OneBadInputIsExitCodeThreeWithOneLine) {
  testing::ScratchDir dir;
  const auto missing = dir / "missing.hyper";
  const auto result = run_hyperdefrag({"check", missing.string()});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(contains(result.err, missing.string())) << result.err;
  EXPECT_EQ(testing::unexpected_files(dir.path(), {}), std::vector<std::string>{});
}

TEST(CheckCli, DeepOnACleanFileDecodesEverythingAndExitsZero) {
  testing::ScratchDir dir;
  const auto file = make_fragmented(dir, "frag.hyper");
  const auto result = run_hyperdefrag({"check", "--deep", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "  deep: every value of every column decoded")) << result.out;
}

TEST(CheckCli, DeepNamesTheColumnWithAnUnreadableGeographyAndExitsTwelve) {
  testing::ScratchDir dir;
  const auto file = make_file_with_bad_geography(dir);
  const auto before = testing::read_bytes(file);
  // The planted value is unreadable to any query that decodes it ...
  EXPECT_THROW(
      testing::with_attached(file, {"SELECT SUM(LENGTH(CAST(place AS TEXT))) FROM db.geo.places"}),
      std::exception);
  // ... and the check names it.
  const auto result = run_hyperdefrag({"check", "--deep", "--json", file.string()});
  EXPECT_EQ(result.exit_code, 12) << result.err;
  EXPECT_EQ(testing::read_bytes(file), before);
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["exit_code"], 12);
  const auto& unreadable = json["files"][0]["checks"][0]["unreadable"];
  ASSERT_EQ(unreadable.size(), 1u) << unreadable.dump();
  EXPECT_EQ(unreadable[0]["schema"], "geo");
  EXPECT_EQ(unreadable[0]["table"], "places");
  EXPECT_EQ(unreadable[0]["column"], "place");
  EXPECT_EQ(unreadable[0]["count"], 1);
  EXPECT_EQ(unreadable[0]["at_least"], false);
  EXPECT_TRUE(contains(unreadable[0]["first_message"].get<std::string>(),
                       "could not deserialize spatial value: invalid checksum"))
      << unreadable.dump();

  const auto text = run_hyperdefrag({"check", "--deep", file.string()});
  EXPECT_EQ(text.exit_code, 12);
  EXPECT_TRUE(contains(text.out,
                       "  deep: column \"place\" of table \"geo\".\"places\": 1 unreadable values: "
                       "could not deserialize spatial value: invalid checksum"))
      << text.out;
  // Without --deep the same file checks fine: the estimate copies without decoding.
  EXPECT_EQ(run_hyperdefrag({"check", file.string()}).exit_code, 0);
}

TEST(CheckCli, ExitCodeTwelveIsInTheHelp) {
  const auto result = run_hyperdefrag({"check", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(contains(result.out, "  12   check --deep found values the engine cannot read"))
      << result.out;
}

}  // namespace
}  // namespace hyperdefrag
