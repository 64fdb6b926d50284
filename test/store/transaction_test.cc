// Transactions are how the store keeps every mutation atomic and durable: committed changes must
// be visible to other connections, uncommitted ones must vanish, and a second writer must wait
// for the first and then fail with "store_busy" rather than interleave.
#include "store/transaction.h"

#include <gtest/gtest.h>

#include "store/database.h"
#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::store {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = OpenDatabase();
    ASSERT_NE(database_, nullptr);
    ASSERT_TRUE(Exec(*database_, "CREATE TABLE t (x INTEGER)").ok());
  }

  std::unique_ptr<Database> OpenDatabase(OpenOptions options = {}) {
    auto database = Database::Open(dir_.path() / "store.db", options);
    EXPECT_TRUE(database.ok()) << database.error().ToString();
    return database.ok() ? std::move(database).value() : nullptr;
  }

  static Status Exec(Database& database, const char* sql) {
    return database.WithConnection(
        [&](Connection& connection) { return connection.ExecScript(sql); });
  }

  static std::int64_t RowCount(Database& database) {
    return database.WithConnection([](Connection& connection) -> std::int64_t {
      auto count = Statement::Prepare(connection, "SELECT count(*) FROM t");
      if (!count.ok() || !count->Step().ok()) return -1;
      return count->ColumnInt64(0);
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> database_;
};

TEST_F(TransactionTest, Commit_MakesChangesVisibleToAnotherConnection) {
  Status committed = database_->WithConnection([](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Transaction transaction, Transaction::BeginWrite(connection));
    WK_RETURN_IF_ERROR(connection.ExecScript("INSERT INTO t VALUES (1)"));
    EXPECT_TRUE(connection.InTransaction());
    return transaction.Commit();
  });
  ASSERT_TRUE(committed.ok()) << committed.error().ToString();

  auto other = OpenDatabase();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(RowCount(*other), 1);
}

TEST_F(TransactionTest, Destructor_RollsBack_WhenNotCommitted) {
  database_->WithConnection([](Connection& connection) {
    auto transaction = Transaction::BeginWrite(connection);
    ASSERT_TRUE(transaction.ok());
    ASSERT_TRUE(connection.ExecScript("INSERT INTO t VALUES (1)").ok());
  });
  EXPECT_EQ(RowCount(*database_), 0);
  EXPECT_FALSE(
      database_->WithConnection([](Connection& connection) { return connection.InTransaction(); }));
}

TEST_F(TransactionTest, Commit_Fails_WhenCalledTwice) {
  Status second = database_->WithConnection([](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Transaction transaction, Transaction::BeginWrite(connection));
    WK_RETURN_IF_ERROR(transaction.Commit());
    return transaction.Commit();
  });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kInternal);
}

TEST_F(TransactionTest, BeginWrite_Fails_WhenTransactionAlreadyOpen) {
  Status nested = database_->WithConnection([](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Transaction outer, Transaction::BeginWrite(connection));
    WK_ASSIGN_OR_RETURN(Transaction inner, Transaction::BeginWrite(connection));
    return OkStatus();
  });
  EXPECT_FALSE(nested.ok());
}

TEST_F(TransactionTest, BeginWrite_FailsWithStoreBusy_WhileAnotherConnectionWrites) {
  auto impatient = OpenDatabase(OpenOptions{.busy_timeout = std::chrono::milliseconds(50)});
  ASSERT_NE(impatient, nullptr);

  database_->WithConnection([&](Connection& connection) {
    auto holder = Transaction::BeginWrite(connection);
    ASSERT_TRUE(holder.ok());

    Status second = impatient->WithConnection([](Connection& other) -> Status {
      WK_ASSIGN_OR_RETURN(Transaction transaction, Transaction::BeginWrite(other));
      return transaction.Commit();
    });
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), "store_busy");
    EXPECT_EQ(second.error().kind(), ErrorKind::kUnavailable);
  });
}

TEST_F(TransactionTest, InWriteTransaction_CommitsOnSuccess_AndRollsBackOnError) {
  Status committed = InWriteTransaction(*database_, [](Connection& connection) {
    return connection.ExecScript("INSERT INTO t VALUES (1)");
  });
  ASSERT_TRUE(committed.ok()) << committed.error().ToString();

  Status failed = InWriteTransaction(*database_, [](Connection& connection) -> Status {
    WK_RETURN_IF_ERROR(connection.ExecScript("INSERT INTO t VALUES (2)"));
    return Error(ErrorKind::kConflict, "test_failure", "body failed after writing");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), "test_failure");
  EXPECT_EQ(RowCount(*database_), 1);
}

TEST_F(TransactionTest, InWriteTransaction_ReturnsBodyValue) {
  Result<int> value = InWriteTransaction(*database_, [](Connection&) -> Result<int> { return 42; });
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
}

}  // namespace
}  // namespace weftkit::store
