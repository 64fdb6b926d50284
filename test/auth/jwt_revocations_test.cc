// TokenRevocations against a real SQLite file: durability across reopening, first record wins,
// purging, and refusal of ids this server never issues.
#include <gtest/gtest.h>

#include <atomic>

#include "auth/token_revocations.h"
#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::auth {
namespace {

constexpr const char* kJti = "q83vEjRWeJCrze8SNFZ4kA";
constexpr const char* kOtherJti = "AAAAAAAAAAAAAAAAAAAAAA";

class JwtRevocationsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    revocations_.reset();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
    auto revocations = TokenRevocations::Open(database_, [this] { return now_.load(); });
    ASSERT_TRUE(revocations.ok()) << revocations.error().ToString();
    revocations_ = std::move(revocations).value();
  }

  std::int64_t RowCount() {
    return database_->WithConnection([](store::Connection& connection) -> std::int64_t {
      auto query = store::Statement::Prepare(connection, "SELECT COUNT(*) FROM jwt_revocations");
      if (!query.ok() || !query->Step().ok()) return -1;
      return query->ColumnInt64(0);
    });
  }

  std::string RevokedBy(const char* jti) {
    return database_->WithConnection([&](store::Connection& connection) -> std::string {
      auto query = store::Statement::Prepare(
          connection, "SELECT revoked_by FROM jwt_revocations WHERE jti = ?1");
      if (!query.ok() || !query->Bind(1, jti).ok() || !query->Step().ok()) return "?";
      return query->ColumnText(0);
    });
  }

  testing::TempDir dir_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<TokenRevocations> revocations_;
  std::atomic<std::int64_t> now_{1'800'000'000};
};

TEST_F(JwtRevocationsTest, Revoke_SurvivesReopen) {
  ASSERT_TRUE(revocations_->Revoke(kJti, now_ + 900, "alice").ok());
  EXPECT_TRUE(revocations_->IsRevoked(kJti));
  EXPECT_FALSE(revocations_->IsRevoked(kOtherJti));

  Reopen();
  EXPECT_TRUE(revocations_->IsRevoked(kJti));
  EXPECT_FALSE(revocations_->IsRevoked(kOtherJti));
  EXPECT_EQ(revocations_->size(), 1u);
}

TEST_F(JwtRevocationsTest, Revoke_KeepsFirstRecord_WhenRepeated) {
  ASSERT_TRUE(revocations_->Revoke(kJti, now_ + 900, "alice").ok());
  ASSERT_TRUE(revocations_->Revoke(kJti, now_ + 900, "mallory").ok());
  EXPECT_EQ(RowCount(), 1);
  EXPECT_EQ(RevokedBy(kJti), "alice");
}

TEST_F(JwtRevocationsTest, PurgeExpired_DropsOnlyExpiredRows) {
  ASSERT_TRUE(revocations_->Revoke(kJti, now_ + 100, "alice").ok());
  ASSERT_TRUE(revocations_->Revoke(kOtherJti, now_ + 200, "alice").ok());
  now_ += 100;
  ASSERT_TRUE(revocations_->PurgeExpired().ok());
  EXPECT_FALSE(revocations_->IsRevoked(kJti));
  EXPECT_TRUE(revocations_->IsRevoked(kOtherJti));
  EXPECT_EQ(RowCount(), 1);
}

TEST_F(JwtRevocationsTest, Open_PurgesExpiredRows) {
  ASSERT_TRUE(revocations_->Revoke(kJti, now_ + 100, "alice").ok());
  now_ += 101;
  Reopen();
  EXPECT_FALSE(revocations_->IsRevoked(kJti));
  EXPECT_EQ(RowCount(), 0);
}

TEST_F(JwtRevocationsTest, Reload_SeesRevocationsOfAnotherInstance) {
  auto second = TokenRevocations::Open(database_, [this] { return now_.load(); });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*second)->Revoke(kJti, now_ + 900, "alice").ok());
  EXPECT_FALSE(revocations_->IsRevoked(kJti));
  ASSERT_TRUE(revocations_->Reload().ok());
  EXPECT_TRUE(revocations_->IsRevoked(kJti));
}

TEST_F(JwtRevocationsTest, Revoke_RefusesMalformedIds) {
  for (const char* jti : {"", "short", "q83vEjRWeJCrze8SNFZ4kA=", "q83vEjRWeJCrze8SNFZ4k+",
                          "q83vEjRWeJCrze8SNFZ4kAAA", "q83vEjRWeJCrze8SNFZ4kB"}) {
    SCOPED_TRACE(jti);
    Status status = revocations_->Revoke(jti, now_ + 900, "alice");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), "invalid_jti");
  }
  EXPECT_EQ(RowCount(), 0);
}

TEST_F(JwtRevocationsTest, Revoke_RequiresRevoker) {
  EXPECT_FALSE(revocations_->Revoke(kJti, now_ + 900, "").ok());
  EXPECT_FALSE(revocations_->IsRevoked(kJti));
}

}  // namespace
}  // namespace weftkit::auth
