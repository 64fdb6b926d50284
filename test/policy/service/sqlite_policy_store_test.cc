// The policy store against a real SQLite file: versions follow their base, conflicts and
// unchanged content write nothing, history pages, versions are immutable, reports upsert.
#include "policy_store/sqlite_policy_store.h"

#include <gtest/gtest.h>

#include <string>

#include "policy_store/canonical_json.h"
#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::policy_store {
namespace {

class SqlitePolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
    auto opened = SqlitePolicyStore::Open(database_);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(opened).value();
  }

  static PolicyVersion Next(const std::string& scope, std::int64_t based_on,
                            const std::string& content) {
    PolicyVersion version;
    version.scope = scope;
    version.version = based_on + 1;
    version.based_on = based_on;
    version.content = content;
    version.content_hash = *Sha256Hex(content);
    version.author = "spiffe://weftkit.dev/officer/alice";
    version.published_at = 1767225600 + based_on;
    version.comment = "v" + std::to_string(based_on + 1);
    version.kid = "kid";
    version.signature = "a.b.c";
    return version;
  }

  testing::TempDir dir_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<SqlitePolicyStore> store_;
};

TEST_F(SqlitePolicyStoreTest, Insert_StoresVersionsInOrder_PerScope) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 1, "{\"a\":1}")).ok());
  ASSERT_TRUE(store_->Insert(Next("pool/eu-1", 0, "{}")).ok());

  auto latest = store_->Latest("cluster/prod");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_EQ((*latest)->content, "{\"a\":1}");
  EXPECT_EQ((*latest)->based_on, 1);
  EXPECT_EQ((*latest)->author, "spiffe://weftkit.dev/officer/alice");
  auto other = store_->Latest("pool/eu-1");
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->version, 1);
  auto scopes = store_->Scopes();
  ASSERT_TRUE(scopes.ok());
  EXPECT_EQ(*scopes, (std::vector<std::string>{"cluster/prod", "pool/eu-1"}));
}

TEST_F(SqlitePolicyStoreTest, Insert_FailsWithConflict_WhenBaseIsNotLatest) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 1, "{\"a\":1}")).ok());

  Status stale = store_->Insert(Next("cluster/prod", 1, "{\"b\":2}"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(stale.error().code(), "policy_version_conflict");
  Status fresh_scope_twice = store_->Insert(Next("cluster/prod", 0, "{\"c\":3}"));
  EXPECT_EQ(fresh_scope_twice.error().code(), "policy_version_conflict");
  auto latest = store_->Latest("cluster/prod");
  EXPECT_EQ((*latest)->content, "{\"a\":1}");
}

TEST_F(SqlitePolicyStoreTest, Insert_Fails_WhenContentEqualsLatest) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  Status same = store_->Insert(Next("cluster/prod", 1, "{}"));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code(), "policy_unchanged");
  EXPECT_EQ((*store_->Latest("cluster/prod"))->version, 1);
}

TEST_F(SqlitePolicyStoreTest, Insert_Fails_WhenVersionDoesNotFollowBase) {
  PolicyVersion skipping = Next("cluster/prod", 0, "{}");
  skipping.version = 5;
  EXPECT_FALSE(store_->Insert(skipping).ok());
  EXPECT_FALSE((*store_->Latest("cluster/prod")).has_value());
}

TEST_F(SqlitePolicyStoreTest, History_PagesNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Insert(Next("cluster/prod", i, "{\"v\":" + std::to_string(i) + "}")).ok());
  }
  auto first = store_->History("cluster/prod", 0, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].version, 5);
  EXPECT_EQ((*first)[1].version, 4);
  auto second = store_->History("cluster/prod", 4, 10);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 3u);
  EXPECT_EQ((*second)[0].version, 3);
  EXPECT_EQ((*second)[2].version, 1);
}

TEST_F(SqlitePolicyStoreTest, Get_FindsOneVersion_AndNothingForMissing) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  auto found = store_->Get("cluster/prod", 1);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->comment, "v1");
  auto missing = store_->Get("cluster/prod", 2);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqlitePolicyStoreTest, Versions_AreImmutable_InTheDatabase) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  for (const char* sql :
       {"UPDATE policy_versions SET content = '{\"x\":1}'", "DELETE FROM policy_versions"}) {
    Status changed = database_->WithConnection([&](store::Connection& connection) -> Status {
      WK_ASSIGN_OR_RETURN(store::Statement statement, store::Statement::Prepare(connection, sql));
      return statement.StepToEnd();
    });
    EXPECT_FALSE(changed.ok()) << sql;
  }
  EXPECT_EQ((*store_->Latest("cluster/prod"))->content, "{}");
}

TEST_F(SqlitePolicyStoreTest, RecordReport_ReplacesThePreviousReportOfAnInstance) {
  ASSERT_TRUE(store_->RecordReport("cluster/prod", {"engine-a", "i-1", 1, 100}).ok());
  ASSERT_TRUE(store_->RecordReport("cluster/prod", {"engine-a", "i-2", 1, 100}).ok());
  ASSERT_TRUE(store_->RecordReport("cluster/prod", {"engine-a", "i-1", 2, 200}).ok());
  auto reports = store_->Reports("cluster/prod");
  ASSERT_TRUE(reports.ok());
  ASSERT_EQ(reports->size(), 2u);
  EXPECT_EQ((*reports)[0].instance, "i-1");
  EXPECT_EQ((*reports)[0].version, 2);
  EXPECT_EQ((*reports)[0].reported_at, 200);
  EXPECT_EQ((*reports)[1].version, 1);
  EXPECT_TRUE(store_->Reports("pool/other")->empty());
}

TEST_F(SqlitePolicyStoreTest, Open_KeepsVersions_AcrossReopen) {
  ASSERT_TRUE(store_->Insert(Next("cluster/prod", 0, "{}")).ok());
  store_.reset();
  auto reopened = SqlitePolicyStore::Open(database_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*(*reopened)->Latest("cluster/prod"))->version, 1);
}

}  // namespace
}  // namespace weftkit::policy_store
