// Migrations are how every module's schema evolves in one file: each step must run exactly once,
// in order, atomically, per component, and a database from newer code must be refused.
#include "store/migration.h"

#include <gtest/gtest.h>

#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::store {
namespace {

constexpr Migration kTwoSteps[] = {
    {1, "CREATE TABLE widgets (id INTEGER PRIMARY KEY);"},
    {2, "ALTER TABLE widgets ADD COLUMN name TEXT; CREATE INDEX widgets_name ON widgets (name);"},
};

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::Open(dir_.path() / "store.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
  }

  bool TableExists(const char* name) {
    return database_->WithConnection([&](Connection& connection) {
      auto query = Statement::Prepare(connection,
                                      "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
                                      "name = ?1");
      if (!query.ok() || !query->Bind(1, name).ok()) return false;
      auto row = query->Step();
      return row.ok() && *row;
    });
  }

  std::int64_t VersionOf(const char* component) {
    auto version = SchemaVersion(*database_, component);
    EXPECT_TRUE(version.ok()) << version.error().ToString();
    return version.ok() ? *version : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> database_;
};

TEST_F(MigrationTest, SchemaVersion_IsZero_OnFreshDatabase) { EXPECT_EQ(VersionOf("widgets"), 0); }

TEST_F(MigrationTest, Migrate_AppliesEveryStepInOrder_OnFreshDatabase) {
  Status migrated = Migrate(*database_, "widgets", kTwoSteps);
  ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
  EXPECT_EQ(VersionOf("widgets"), 2);
  EXPECT_TRUE(TableExists("widgets"));
}

// Step 1 is not idempotent (CREATE TABLE without IF NOT EXISTS), so running it twice would fail.
TEST_F(MigrationTest, Migrate_AppliesOnlyMissingSteps_WhenRunAgain) {
  ASSERT_TRUE(Migrate(*database_, "widgets", std::span(kTwoSteps, 1)).ok());
  EXPECT_EQ(VersionOf("widgets"), 1);

  Status again = Migrate(*database_, "widgets", kTwoSteps);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(VersionOf("widgets"), 2);
  EXPECT_TRUE(Migrate(*database_, "widgets", kTwoSteps).ok());
}

TEST_F(MigrationTest, Migrate_FailsWithSchemaTooNew_WhenDatabaseIsAhead) {
  ASSERT_TRUE(Migrate(*database_, "widgets", kTwoSteps).ok());

  Status older_code = Migrate(*database_, "widgets", std::span(kTwoSteps, 1));
  ASSERT_FALSE(older_code.ok());
  EXPECT_EQ(older_code.error().code(), "store_schema_too_new");
  EXPECT_EQ(older_code.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(MigrationTest, Migrate_KeepsComponentsIndependent) {
  constexpr Migration kGadgets[] = {{1, "CREATE TABLE gadgets (id INTEGER);"}};
  ASSERT_TRUE(Migrate(*database_, "widgets", kTwoSteps).ok());
  ASSERT_TRUE(Migrate(*database_, "gadgets", kGadgets).ok());

  EXPECT_EQ(VersionOf("widgets"), 2);
  EXPECT_EQ(VersionOf("gadgets"), 1);
  EXPECT_TRUE(TableExists("gadgets"));
}

TEST_F(MigrationTest, Migrate_AppliesNothing_WhenAStepFails) {
  constexpr Migration kBroken[] = {
      {1, "CREATE TABLE widgets (id INTEGER);"},
      {2, "ALTER TABLE no_such_table ADD COLUMN x INTEGER;"},
  };
  Status migrated = Migrate(*database_, "widgets", kBroken);
  ASSERT_FALSE(migrated.ok());
  EXPECT_EQ(VersionOf("widgets"), 0);
  EXPECT_FALSE(TableExists("widgets"));
}

TEST_F(MigrationTest, Migrate_FailsWithBadMigrations_OnGapOrEmptyComponent) {
  constexpr Migration kGap[] = {{1, "SELECT 1;"}, {3, "SELECT 1;"}};
  Status gap = Migrate(*database_, "widgets", kGap);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code(), "store_bad_migrations");

  Status unnamed = Migrate(*database_, "", kTwoSteps);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().code(), "store_bad_migrations");
}

}  // namespace
}  // namespace weftkit::store
