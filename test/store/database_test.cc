// The store's connection must be configured for durability (WAL, synchronous=FULL), keep its
// files private, refuse symlinks and serialise every caller; these tests check each on a real
// file.
#include "store/database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>
#include <vector>

#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::store {
namespace {

namespace fs = std::filesystem;

class DatabaseTest : public ::testing::Test {
 protected:
  fs::path DbPath() const { return dir_.path() / "store.db"; }

  std::unique_ptr<Database> OpenOrDie(const OpenOptions& options = {}) {
    auto database = Database::Open(DbPath(), options);
    EXPECT_TRUE(database.ok()) << database.error().ToString();
    return database.ok() ? std::move(database).value() : nullptr;
  }

  // The first column of the first row `sql` returns, as text.
  static std::string ReadText(Connection& connection, const char* sql) {
    auto statement = Statement::Prepare(connection, sql);
    if (!statement.ok()) return "prepare failed: " + statement.error().ToString();
    auto row = statement->Step();
    if (!row.ok() || !*row) return "no row";
    return statement->ColumnText(0);
  }

  static std::string QueryText(Database& database, const char* sql) {
    return database.WithConnection(
        [&](Connection& connection) { return ReadText(connection, sql); });
  }

  static mode_t PermissionBits(const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return 07777;
    return info.st_mode & 07777;
  }

  testing::TempDir dir_;
};

TEST_F(DatabaseTest, Open_ConfiguresWalFullSyncForeignKeysAndBusyTimeout) {
  auto database = OpenOrDie();
  ASSERT_NE(database, nullptr);

  EXPECT_EQ(QueryText(*database, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText(*database, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(QueryText(*database, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(QueryText(*database, "PRAGMA trusted_schema"), "0");
  EXPECT_EQ(QueryText(*database, "PRAGMA busy_timeout"), "5000");
}

TEST_F(DatabaseTest, Open_UsesConfiguredBusyTimeout) {
  auto database = OpenOrDie(OpenOptions{.busy_timeout = std::chrono::milliseconds(250)});
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(QueryText(*database, "PRAGMA busy_timeout"), "250");
}

TEST_F(DatabaseTest, Open_CreatesDatabaseAndWalFilesWithMode0600) {
  auto database = OpenOrDie();
  ASSERT_NE(database, nullptr);
  Status written = database->WithConnection(
      [](Connection& connection) { return connection.ExecScript("CREATE TABLE t (x INTEGER)"); });
  ASSERT_TRUE(written.ok()) << written.error().ToString();

  EXPECT_EQ(PermissionBits(DbPath()), 0600);
  ASSERT_TRUE(fs::exists(DbPath().string() + "-wal"));
  EXPECT_EQ(PermissionBits(DbPath().string() + "-wal"), 0600);
  EXPECT_EQ(PermissionBits(DbPath().string() + "-shm"), 0600);
}

TEST_F(DatabaseTest, Open_FailsWithSymlinkError_WhenPathIsSymlinkToDatabase) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  const fs::path link = dir_.path() / "link.db";
  fs::create_symlink(DbPath(), link);

  auto database = Database::Open(link);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), "store_path_is_symlink");
  EXPECT_EQ(database.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(DatabaseTest, Open_FailsWithSymlinkError_WhenPathIsDanglingSymlink) {
  const fs::path link = dir_.path() / "dangling.db";
  fs::create_symlink(dir_.path() / "nowhere.db", link);

  auto database = Database::Open(link);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), "store_path_is_symlink");
  EXPECT_FALSE(fs::exists(dir_.path() / "nowhere.db"));
}

TEST_F(DatabaseTest, Open_FailsWithStoreCorrupt_WhenFileIsNotADatabase) {
  {
    std::ofstream file(DbPath());
    file << std::string(4096, 'x');
  }
  auto database = Database::Open(DbPath());
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code(), "store_corrupt");
  EXPECT_EQ(database.error().kind(), ErrorKind::kInternal);
}

TEST_F(DatabaseTest, Open_Fails_WhenDirectoryIsMissing) {
  auto database = Database::Open(dir_.path() / "missing" / "store.db");
  EXPECT_FALSE(database.ok());
}

TEST_F(DatabaseTest, Open_KeepsData_AcrossReopen) {
  {
    auto database = OpenOrDie();
    ASSERT_NE(database, nullptr);
    Status written = database->WithConnection([](Connection& connection) {
      return connection.ExecScript("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('kept');");
    });
    ASSERT_TRUE(written.ok()) << written.error().ToString();
  }
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(QueryText(*reopened, "SELECT x FROM t"), "kept");
}

// Read-modify-write through WithConnection from several threads: the lock must make every
// increment count. A plain counter updated inside the callback would lose increments (and a
// TSan build would flag it) if the lock were missing.
TEST_F(DatabaseTest, WithConnection_SerializesCallers_AcrossThreads) {
  auto database = OpenOrDie();
  ASSERT_NE(database, nullptr);
  ASSERT_TRUE(database
                  ->WithConnection([](Connection& connection) {
                    return connection.ExecScript(
                        "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);");
                  })
                  .ok());

  int unsynchronised_counter = 0;
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        database->WithConnection([&](Connection& connection) {
          std::string value = ReadText(connection, "SELECT n FROM counter");
          const int seen = unsynchronised_counter;
          // Widen the window between read and write, so a missing lock shows up reliably.
          std::this_thread::sleep_for(std::chrono::microseconds(50));
          unsynchronised_counter = seen + 1;
          auto update = Statement::Prepare(connection, "UPDATE counter SET n = ?1");
          if (!update.ok()) return;
          (void)update->Bind(1, std::stoll(value) + 1);
          (void)update->StepToEnd();
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(unsynchronised_counter, kThreads * kIncrements);
  EXPECT_EQ(QueryText(*database, "SELECT n FROM counter"), std::to_string(kThreads * kIncrements));
}

}  // namespace
}  // namespace weftkit::store
