#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sql/quote.h"
#include "test_support.h"
#include "util/error.h"
#include "verify/verify.h"

namespace hyperdefrag {
namespace {
namespace fs = std::filesystem;

// A database file made with `statements` run on it (attached as "db").
fs::path make_database(const testing::ScratchDir& dir, const std::string& name,
                       const std::vector<std::string>& statements) {
  const auto path = dir / name;
  testing::connect().exec(fmt::format("CREATE DATABASE {}", sql::quote_identifier(path.string())));
  testing::with_attached(path, statements);
  return path;
}

// verify_copy against `copy`, with `input` attached as the source: the
// message of the failure, or "" if the copy matches.
std::string verify(const fs::path& input, const fs::path& copy) {
  auto connection = testing::connect();
  connection.exec(fmt::format("ATTACH DATABASE {} AS src WITH (access_mode = 'readonly')",
                              sql::quote_identifier(input.string())));
  const auto source = catalog::read_catalog(connection, "src", input.string());
  std::string failure;
  try {
    verify::verify_copy(connection, source, "src", input, copy, source.format_version,
                        verify::RowCheck::counts);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::verify_failed);
    failure = error.what();
  }
  connection.exec("DETACH DATABASE src");
  return failure;
}

const std::vector<std::string> kInput = {"CREATE SCHEMA db.s",
                                         "CREATE TABLE db.s.t (a INTEGER NOT NULL, b TEXT)",
                                         "INSERT INTO db.s.t VALUES (1, 'x'), (2, 'y'), (3, NULL)"};

TEST(VerifyCopy, AcceptsAnEqualCopy) {
  testing::ScratchDir dir;
  const auto input = make_database(dir, "in.hyper", kInput);
  const auto copy = make_database(dir, "copy.hyper", kInput);
  EXPECT_EQ(verify(input, copy), "");
}

TEST(VerifyCopy, RefusesAMissingRow) {
  testing::ScratchDir dir;
  const auto input = make_database(dir, "in.hyper", kInput);
  auto statements = kInput;
  statements.push_back("DELETE FROM db.s.t WHERE a = 2");
  const auto copy = make_database(dir, "copy.hyper", statements);
  const auto failure = verify(input, copy);
  EXPECT_NE(failure.find("in.hyper: the copy does not match the input"), std::string::npos)
      << failure;
  EXPECT_NE(failure.find("table \"s\".\"t\": 3 rows in the input, 2 in the copy"),
            std::string::npos)
      << failure;
}

TEST(VerifyCopy, RefusesAnotherColumnTypeOrNullability) {
  testing::ScratchDir dir;
  const auto input = make_database(dir, "in.hyper", kInput);
  const auto bigint =
      make_database(dir, "bigint.hyper",
                    {"CREATE SCHEMA db.s", "CREATE TABLE db.s.t (a BIGINT NOT NULL, b TEXT)",
                     "INSERT INTO db.s.t VALUES (1, 'x'), (2, 'y'), (3, NULL)"});
  EXPECT_NE(verify(input, bigint).find("column \"a\": type integer became bigint"),
            std::string::npos)
      << verify(input, bigint);
  const auto nullable =
      make_database(dir, "nullable.hyper",
                    {"CREATE SCHEMA db.s", "CREATE TABLE db.s.t (a INTEGER, b TEXT)",
                     "INSERT INTO db.s.t VALUES (1, 'x'), (2, 'y'), (3, NULL)"});
  EXPECT_NE(verify(input, nullable).find("column \"a\": NOT NULL lost in the copy"),
            std::string::npos)
      << verify(input, nullable);
}

TEST(VerifyCopy, RefusesAMissingSchemaOrTable) {
  testing::ScratchDir dir;
  const auto input = make_database(dir, "in.hyper", kInput);
  const auto empty = make_database(dir, "empty.hyper", {"CREATE SCHEMA db.s"});
  EXPECT_NE(verify(input, empty).find("table \"s\".\"t\": missing from the copy"),
            std::string::npos)
      << verify(input, empty);
  const auto other = make_database(dir, "other.hyper", {"CREATE SCHEMA db.r"});
  EXPECT_NE(verify(input, other).find("schemas"), std::string::npos) << verify(input, other);
}

// The engine makes "public" in every new database; defragment() drops it
// when the input has none, so an extra "public" in a copy is a difference.
TEST(VerifyCopy, AnExtraOrMissingPublicSchemaIsADifference) {
  testing::ScratchDir dir;
  const std::vector<std::string> without_public = {
      "CREATE SCHEMA db.z", "CREATE TABLE db.z.t (a INTEGER)", "DROP SCHEMA db.public"};
  const auto input = make_database(dir, "in.hyper", without_public);
  const auto copy =
      make_database(dir, "copy.hyper", {"CREATE SCHEMA db.z", "CREATE TABLE db.z.t (a INTEGER)"});
  EXPECT_NE(verify(input, copy).find("schemas [z] became [public, z]"), std::string::npos)
      << verify(input, copy);
  EXPECT_NE(verify(copy, input), "") << "a missing public schema is a difference";
}

}  // namespace
}  // namespace hyperdefrag
