// Every value reaches SQL through a bound parameter: these tests check that each type binds and
// reads back unchanged, that hostile text stays data, that one Prepare runs exactly one
// statement, and that SQLite failures arrive as the mapped Error without the bound values.
#include "store/statement.h"

#include <gtest/gtest.h>

#include <limits>

#include "store/database.h"
#include "test/support/temp_dir.h"

namespace weftkit::store {
namespace {

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open(dir_.path() / "store.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
    Status created = Exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n INTEGER,"
        "                u TEXT UNIQUE, c INTEGER CHECK (c IS NULL OR c > 0),"
        "                p INTEGER REFERENCES parent (id));");
    ASSERT_TRUE(created.ok()) << created.error().ToString();
  }

  Status Exec(const char* sql) {
    return database_->WithConnection(
        [&](Connection& connection) { return connection.ExecScript(sql); });
  }

  // Runs `sql` with one text parameter and returns the result of running it to the end.
  Status RunWithText(const char* sql, const std::string& text) {
    return database_->WithConnection([&](Connection& connection) -> Status {
      WK_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(connection, sql));
      WK_RETURN_IF_ERROR(statement.Bind(1, text));
      return statement.StepToEnd();
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> database_;
};

TEST_F(StatementTest, Bind_RoundTripsEveryType) {
  const std::string text("quote ' nul \0 and \xC3\xA9", 19);
  const std::vector<std::uint8_t> blob = {0x00, 0xFF, 0x27, 0x00};
  const std::optional<std::int64_t> absent;
  const std::optional<std::int64_t> present = -7;

  Status checked = database_->WithConnection([&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement insert, Statement::Prepare(connection,
                                                             "INSERT INTO t (i, s, b, n, c) "
                                                             "VALUES (?1, ?2, ?3, ?4, ?5)"));
    WK_RETURN_IF_ERROR(insert.Bind(1, std::numeric_limits<std::int64_t>::min()));
    WK_RETURN_IF_ERROR(insert.Bind(2, text));
    WK_RETURN_IF_ERROR(insert.Bind(3, std::span<const std::uint8_t>(blob)));
    WK_RETURN_IF_ERROR(insert.Bind(4, absent));
    WK_RETURN_IF_ERROR(insert.BindNull(5));
    WK_RETURN_IF_ERROR(insert.StepToEnd());

    WK_ASSIGN_OR_RETURN(Statement select,
                        Statement::Prepare(connection, "SELECT i, s, b, n, c, ?1 FROM t"));
    WK_RETURN_IF_ERROR(select.Bind(1, present));
    WK_ASSIGN_OR_RETURN(bool row, select.Step());
    EXPECT_TRUE(row);
    EXPECT_EQ(select.ColumnInt64(0), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(select.ColumnText(1), text);
    EXPECT_EQ(select.ColumnBlob(2), blob);
    EXPECT_TRUE(select.ColumnIsNull(3));
    EXPECT_EQ(select.ColumnOptionalInt64(3), std::nullopt);
    EXPECT_TRUE(select.ColumnIsNull(4));
    EXPECT_EQ(select.ColumnOptionalInt64(5), -7);
    WK_ASSIGN_OR_RETURN(bool second_row, select.Step());
    EXPECT_FALSE(second_row);
    return OkStatus();
  });
  EXPECT_TRUE(checked.ok()) << checked.error().ToString();
}

TEST_F(StatementTest, Bind_StoresEmptyBlobAsBlobNotNull) {
  Status checked = database_->WithConnection([&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement select, Statement::Prepare(connection, "SELECT typeof(?1)"));
    WK_RETURN_IF_ERROR(select.Bind(1, std::span<const std::uint8_t>()));
    WK_RETURN_IF_ERROR(select.Step());
    EXPECT_EQ(select.ColumnText(0), "blob");
    return OkStatus();
  });
  EXPECT_TRUE(checked.ok()) << checked.error().ToString();
}

TEST_F(StatementTest, Bind_KeepsHostileTextAsData) {
  ASSERT_TRUE(RunWithText("INSERT INTO t (s) VALUES (?1)", "x'); DROP TABLE t; --").ok());

  Status checked = database_->WithConnection([&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement select, Statement::Prepare(connection, "SELECT s FROM t"));
    WK_ASSIGN_OR_RETURN(bool row, select.Step());
    EXPECT_TRUE(row);
    EXPECT_EQ(select.ColumnText(0), "x'); DROP TABLE t; --");
    return OkStatus();
  });
  EXPECT_TRUE(checked.ok()) << checked.error().ToString();
}

TEST_F(StatementTest, Bind_Fails_WhenIndexIsOutOfRange) {
  Status bound = database_->WithConnection([&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(connection, "SELECT ?1"));
    return statement.Bind(2, std::int64_t{1});
  });
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code(), "store_error");
}

TEST_F(StatementTest, Prepare_Fails_WhenSqlHoldsTwoStatements) {
  Status prepared = database_->WithConnection([&](Connection& connection) -> Status {
    auto statement = Statement::Prepare(connection, "SELECT 1; DELETE FROM t");
    if (statement.ok()) return OkStatus();
    return statement.error();
  });
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().kind(), ErrorKind::kInternal);
  EXPECT_NE(prepared.error().detail().find("more than one"), std::string::npos);
}

TEST_F(StatementTest, Prepare_Succeeds_WithTrailingSemicolonAndComment) {
  auto prepared = database_->WithConnection([&](Connection& connection) {
    return Statement::Prepare(connection, "SELECT 1; -- done").ok();
  });
  EXPECT_TRUE(prepared);
}

TEST_F(StatementTest, Prepare_FailsWithStoreError_OnSyntaxError) {
  auto prepared = database_->WithConnection([&](Connection& connection) -> Status {
    auto statement = Statement::Prepare(connection, "SELEC 1");
    if (statement.ok()) return OkStatus();
    return statement.error();
  });
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code(), "store_error");
  EXPECT_EQ(prepared.error().kind(), ErrorKind::kInternal);
  EXPECT_NE(prepared.error().detail().find("prepare"), std::string::npos);
}

TEST_F(StatementTest, Step_FailsWithAlreadyExists_OnUniqueViolation_WithoutBoundValue) {
  const std::string secretish = "value-that-must-not-be-echoed";
  ASSERT_TRUE(RunWithText("INSERT INTO t (u) VALUES (?1)", secretish).ok());

  Status duplicate = RunWithText("INSERT INTO t (u) VALUES (?1)", secretish);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(duplicate.error().code(), "store_constraint");
  EXPECT_EQ(duplicate.error().detail().find(secretish), std::string::npos);
}

TEST_F(StatementTest, Step_FailsWithConflict_OnCheckAndForeignKeyViolations) {
  Status check = Exec("INSERT INTO t (c) VALUES (-1)");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(check.error().code(), "store_constraint");

  Status foreign_key = Exec("INSERT INTO t (p) VALUES (42)");
  ASSERT_FALSE(foreign_key.ok());
  EXPECT_EQ(foreign_key.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(foreign_key.error().code(), "store_constraint");
}

TEST_F(StatementTest, Reset_AllowsReuseWithNewBindings) {
  Status checked = database_->WithConnection([&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement insert,
                        Statement::Prepare(connection, "INSERT INTO t (i) VALUES (?1)"));
    for (std::int64_t value : {1, 2, 3}) {
      WK_RETURN_IF_ERROR(insert.Bind(1, value));
      WK_RETURN_IF_ERROR(insert.StepToEnd());
      insert.Reset();
    }
    WK_ASSIGN_OR_RETURN(Statement sum, Statement::Prepare(connection, "SELECT sum(i) FROM t"));
    WK_RETURN_IF_ERROR(sum.Step());
    EXPECT_EQ(sum.ColumnInt64(0), 6);
    return OkStatus();
  });
  EXPECT_TRUE(checked.ok()) << checked.error().ToString();
}

TEST_F(StatementTest, ExecScript_RunsEveryStatement_AndIgnoresTrailingComment) {
  ASSERT_TRUE(Exec("INSERT INTO t (i) VALUES (1); INSERT INTO t (i) VALUES (2); -- end").ok());
  auto count = database_->WithConnection([&](Connection& connection) -> std::int64_t {
    auto select = Statement::Prepare(connection, "SELECT count(*) FROM t");
    if (!select.ok() || !select->Step().ok()) return -1;
    return select->ColumnInt64(0);
  });
  EXPECT_EQ(count, 2);
}

}  // namespace
}  // namespace weftkit::store
