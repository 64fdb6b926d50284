// SqlitePasswordStore against real SQLite files: what is stored (never the password), that
// failure records and the fake-salt secret survive reopening, and that the first-user creation
// happens once.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "auth/scram_bootstrap.h"
#include "auth/sqlite_password_store.h"
#include "test/support/temp_dir.h"

namespace weftkit::auth {
namespace {

class ScramPasswordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto opened = SqlitePasswordStore::Open(std::shared_ptr<store::Database>(std::move(*database)));
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(*opened);
  }

  std::string FileContents() {
    std::ifstream in(dir_.path() / "kms.db", std::ios::binary);
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ifstream wal(dir_.path() / "kms.db-wal", std::ios::binary);
    contents.append((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
    return contents;
  }

  weftkit::testing::TempDir dir_;
  std::unique_ptr<SqlitePasswordStore> store_;
};

TEST_F(ScramPasswordStoreTest, SetPassword_StoresKeysNotPassword) {
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("a very long passphrase"), 4096).ok());

  Result<std::optional<ScramUser>> user = store_->GetUser("alice");
  ASSERT_TRUE(user.ok() && user->has_value());
  const ScramCredentials& credentials = (*user)->credentials;
  EXPECT_EQ(credentials.iterations, 4096u);
  EXPECT_EQ(credentials.salt.size(), kScramSaltSize);
  Result<ScramCredentials> expected =
      DeriveScramCredentials(SecretBytes::CopyOf("a very long passphrase"), credentials.salt, 4096);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(credentials.stored_key.ConstantTimeEquals(expected->stored_key));
  EXPECT_TRUE(credentials.server_key.ConstantTimeEquals(expected->server_key));
  EXPECT_FALSE((*user)->must_change_password);
  EXPECT_EQ(FileContents().find("a very long passphrase"), std::string::npos);
}

TEST_F(ScramPasswordStoreTest, SetPassword_Fails_ForShortPasswordOrBadName) {
  Status short_password = store_->SetPassword("alice", SecretBytes::CopyOf("short"), 4096);
  ASSERT_FALSE(short_password.ok());
  EXPECT_EQ(short_password.error().code(), "password_too_short");
  Status bad_name = store_->SetPassword("al,ice", SecretBytes::CopyOf("long enough pass"), 4096);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code(), "invalid_user_name");
  Status few_iterations = store_->SetPassword("alice", SecretBytes::CopyOf("long enough pass"), 1);
  ASSERT_FALSE(few_iterations.ok());
  EXPECT_EQ(few_iterations.error().code(), "invalid_iterations");
}

TEST_F(ScramPasswordStoreTest, GetUser_ReturnsNothing_ForUnknownName) {
  Result<std::optional<ScramUser>> user = store_->GetUser("nobody");
  ASSERT_TRUE(user.ok());
  EXPECT_FALSE(user->has_value());
}

TEST_F(ScramPasswordStoreTest, DeleteUser_RemovesUser_AndFailsForUnknown) {
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("a very long passphrase"), 4096).ok());
  ASSERT_TRUE(store_->DeleteUser("alice").ok());
  EXPECT_FALSE(store_->GetUser("alice")->has_value());
  Status again = store_->DeleteUser("alice");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), "user_not_found");
}

TEST_F(ScramPasswordStoreTest, RecordFailure_SurvivesReopen_AndResetClears) {
  ThrottlePolicy policy;
  ASSERT_TRUE(store_->RecordFailure("alice", 1000, policy).ok());
  Result<FailureState> second = store_->RecordFailure("alice", 5000, policy);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->failures, 2);

  Reopen();
  Result<FailureState> reread = store_->GetFailureState("alice");
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->failures, 2);
  EXPECT_EQ(reread->last_failure_ms, 5000);
  EXPECT_EQ(reread->refused_until_ms, second->refused_until_ms);

  ASSERT_TRUE(store_->ResetFailures("alice").ok());
  EXPECT_EQ(store_->GetFailureState("alice")->failures, 0);
}

TEST_F(ScramPasswordStoreTest, RecordFailure_DropsStaleRecordsOfOtherNames) {
  ThrottlePolicy policy;
  ASSERT_TRUE(store_->RecordFailure("old", 0, policy).ok());
  const std::int64_t later = policy.base_delay.count() + policy.failure_window.count();
  ASSERT_TRUE(store_->RecordFailure("new", later, policy).ok());
  EXPECT_EQ(store_->GetFailureState("old")->failures, 0);
  EXPECT_EQ(store_->GetFailureState("new")->failures, 1);
}

TEST_F(ScramPasswordStoreTest, PutCredentials_ClearsFailures) {
  ASSERT_TRUE(store_->RecordFailure("alice", 1000, ThrottlePolicy{}).ok());
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("a very long passphrase"), 4096).ok());
  EXPECT_EQ(store_->GetFailureState("alice")->failures, 0);
}

TEST_F(ScramPasswordStoreTest, FakeSalt_IsStablePerName_AcrossReopen) {
  Result<std::vector<std::uint8_t>> first = store_->FakeSalt("mallory");
  Result<std::vector<std::uint8_t>> other = store_->FakeSalt("mallory2");
  ASSERT_TRUE(first.ok() && other.ok());
  EXPECT_EQ(first->size(), kScramSaltSize);
  EXPECT_NE(*first, *other);
  Reopen();
  EXPECT_EQ(*store_->FakeSalt("mallory"), *first);
}

TEST_F(ScramPasswordStoreTest, FakeSalt_DiffersBetweenInstallations) {
  weftkit::testing::TempDir other_dir;
  auto database = store::Database::Open(other_dir.path() / "kms.db");
  ASSERT_TRUE(database.ok());
  auto other = SqlitePasswordStore::Open(std::shared_ptr<store::Database>(std::move(*database)));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*(*other)->FakeSalt("mallory"), *store_->FakeSalt("mallory"));
}

TEST_F(ScramPasswordStoreTest, CreateBootstrapCredential_CreatesAdminOnce_MustChange) {
  Result<std::optional<SecretBytes>> created = CreateBootstrapCredential(*store_, 4096);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  ASSERT_TRUE(created->has_value());
  EXPECT_EQ((*created)->size(), 32u);  // 24 random bytes in unpadded base64url
  EXPECT_TRUE(CheckPassword(**created).ok());

  Result<std::optional<ScramUser>> admin = store_->GetUser(kBootstrapUser);
  ASSERT_TRUE(admin.ok() && admin->has_value());
  EXPECT_TRUE((*admin)->must_change_password);
  Result<ScramCredentials> expected =
      DeriveScramCredentials(**created, (*admin)->credentials.salt, 4096);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE((*admin)->credentials.stored_key.ConstantTimeEquals(expected->stored_key));

  Result<std::optional<SecretBytes>> again = CreateBootstrapCredential(*store_, 4096);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(ScramPasswordStoreTest, CreateBootstrapCredential_CreatesNothing_WhenUsersExist) {
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("a very long passphrase"), 4096).ok());
  Result<std::optional<SecretBytes>> created = CreateBootstrapCredential(*store_, 4096);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->has_value());
  EXPECT_FALSE(store_->GetUser(kBootstrapUser)->has_value());
}

TEST_F(ScramPasswordStoreTest, SetPassword_ClearsMustChange) {
  ASSERT_TRUE(CreateBootstrapCredential(*store_, 4096).ok());
  ASSERT_TRUE(
      store_->SetPassword(kBootstrapUser, SecretBytes::CopyOf("a brand new passphrase"), 4096)
          .ok());
  EXPECT_FALSE((*store_->GetUser(kBootstrapUser))->must_change_password);
}

}  // namespace
}  // namespace weftkit::auth
