#include "sql/connection.h"

#include <gtest/gtest.h>

#include "test_support.h"

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

TEST(Connection, RefusesAnEndpointWithNoEngine) {
  testing::ScratchDir empty;
  EXPECT_THROW(Connection({empty.path().string(), "1"}), SqlError);
}

}  // namespace
}  // namespace hyperdefrag::sql
