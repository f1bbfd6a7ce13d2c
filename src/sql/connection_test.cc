#include "sql/connection.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "util/error.h"

namespace hyperdefrag::sql {
namespace {

TEST(Connection, RunsASimpleQuery) {
  auto connection = testing::connect();
  const auto result = connection.exec("SELECT 1 + 1, CAST(NULL AS TEXT)");
  ASSERT_EQ(result.rows(), 1);
  EXPECT_EQ(result.integer(0, 0), 2);
  EXPECT_TRUE(result.is_null(0, 1));
  EXPECT_FALSE(result.optional_value(0, 1).has_value());
}

TEST(Connection, ErrorCarriesSqlstateAndStatement) {
  auto connection = testing::connect();
  try {
    connection.exec("SELECT * FROM no_such_table");
    FAIL() << "expected an error";
  } catch (const SqlError& error) {
    EXPECT_EQ(error.sqlstate(), "42P01");
    EXPECT_EQ(error.statement(), "SELECT * FROM no_such_table");
    EXPECT_NE(error.engine_message().find("no_such_table"), std::string::npos);
  }
  // The connection stays usable after an error.
  EXPECT_EQ(connection.exec("SELECT 3").integer(0, 0), 3);
}

TEST(Connection, ReportsAffectedRows) {
  auto connection = testing::connect();
  connection.exec("CREATE TEMPORARY TABLE numbers (n INTEGER)");
  const auto inserted = connection.exec("INSERT INTO numbers SELECT * FROM generate_series(1, 42)");
  EXPECT_EQ(inserted.affected_rows(), 42);
}

// An answer the engine should never give is the engine's fault (exit 5), not
// a bug of ours (exit 1): text, NULL, an overflow, or a cell that is not there.
TEST(Connection, ANumberTheEngineDidNotGiveIsAnEngineFault) {
  auto connection = testing::connect();
  const auto result = connection.exec(
      "SELECT 'x', CAST(NULL AS BIGINT), CAST('123456789012345678901234567890' AS NUMERIC(38,0)), "
      "' 1'");
  for (int column : {0, 1, 2, 3, 4}) {
    try {
      result.integer(0, column);
      ADD_FAILURE() << "column " << column << " read as a number";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::engine) << error.what();
      EXPECT_TRUE(testing::contains(error.what(), "hyperd returned")) << error.what();
    }
  }
  EXPECT_THROW(result.integer(1, 0), Error);
  for (int column : {0, 1, 3, 4}) {
    try {
      result.real(0, column);
      ADD_FAILURE() << "column " << column << " read as a real number";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::engine) << error.what();
    }
  }
  EXPECT_DOUBLE_EQ(connection.exec("SELECT CAST(2500000 AS DOUBLE PRECISION)").real(0, 0), 2.5e6);
}

TEST(Connection, RefusesAnEndpointWithNoEngine) {
  testing::ScratchDir empty;
  EXPECT_THROW(Connection({empty.path().string(), "1"}), SqlError);
}

}  // namespace
}  // namespace hyperdefrag::sql
