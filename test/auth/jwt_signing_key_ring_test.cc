// SigningKeyRing against a real SoftHSM token and SQLite file: the first key, restarts, the JWK
// set, rotation (old tokens keep verifying while their key retires, both kids published) and
// retirement (the old kid is refused and unpublished), and a key swapped in the HSM.
#include <gtest/gtest.h>

#include "auth/signing_key_ring.h"
#include "test/auth/jwt_fixture.h"

namespace weftkit::auth {
namespace {

using Json = nlohmann::json;

class SigningKeyRingTest : public JwtFixture {
 protected:
  std::vector<std::string> PublishedKids() {
    std::vector<std::string> kids;
    const Json set = Json::parse(service_->JwkSetJson());
    for (const Json& key : set["keys"]) {
      kids.push_back(key["kid"].get<std::string>());
    }
    return kids;
  }

  std::vector<SigningKeyRecord> Keys() {
    auto keys = service_->keys().ListKeys();
    EXPECT_TRUE(keys.ok()) << keys.error().ToString();
    return keys.ok() ? *keys : std::vector<SigningKeyRecord>{};
  }
};

TEST_F(SigningKeyRingTest, Open_CreatesOneActiveKey_OnFirstStart) {
  std::vector<SigningKeyRecord> keys = Keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].state, SigningKeyState::kActive);
  EXPECT_EQ(keys[0].created_at, kStart);
  EXPECT_FALSE(keys[0].retire_after.has_value());

  // The kid is the RFC 7638 thumbprint of the key the HSM holds under the recorded label.
  auto der = hsm_->EcPublicKeyDer(keys[0].hsm_label);
  ASSERT_TRUE(der.ok()) << der.error().ToString();
  auto public_key = P256PublicKey::FromSpkiDer(*der);
  ASSERT_TRUE(public_key.ok());
  EXPECT_EQ(keys[0].kid, public_key->Thumbprint());
  EXPECT_EQ(service_->keys().ActiveKey().kid, keys[0].kid);
}

TEST_F(SigningKeyRingTest, Open_KeepsActiveKey_AcrossRestart) {
  const std::string kid = service_->keys().ActiveKey().kid;
  const std::string token = Issue();
  OpenService();
  EXPECT_EQ(Keys().size(), 1u);
  EXPECT_EQ(service_->keys().ActiveKey().kid, kid);
  ExpectAccepted(token);
}

TEST_F(SigningKeyRingTest, JwkSet_PublishesActiveKey_AsEs256Jwk) {
  Json set = Json::parse(service_->JwkSetJson());
  ASSERT_EQ(set.size(), 1u);
  ASSERT_EQ(set["keys"].size(), 1u);
  const Json& key = set["keys"][0];
  EXPECT_EQ(key["kty"], "EC");
  EXPECT_EQ(key["crv"], "P-256");
  EXPECT_EQ(key["use"], "sig");
  EXPECT_EQ(key["alg"], "ES256");
  EXPECT_EQ(key["kid"], service_->keys().ActiveKey().kid);
  EXPECT_EQ(key["x"].get<std::string>().size(), 43u);
  EXPECT_EQ(key["y"].get<std::string>().size(), 43u);
  EXPECT_FALSE(key.contains("d"));
}

TEST_F(SigningKeyRingTest, Rotate_KeepsOldTokensVerifying_WhileOldKeyRetires) {
  const std::string old_kid = service_->keys().ActiveKey().kid;
  const std::string old_token = Issue();

  auto rotated = service_->RotateSigningKey();
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_NE(rotated->kid, old_kid);
  EXPECT_EQ(service_->keys().ActiveKey().kid, rotated->kid);
  EXPECT_EQ(PublishedKids(), (std::vector<std::string>{rotated->kid, old_kid}));

  const std::string new_token = Issue();
  auto verified = service_->Verify(new_token);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->kid, rotated->kid);
  ExpectAccepted(old_token);

  std::vector<SigningKeyRecord> keys = Keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].state, SigningKeyState::kRetiring);
  EXPECT_EQ(keys[0].retire_after, kStart + kMaxLifetime + kLeeway);
}

TEST_F(SigningKeyRingTest, Rotate_RefusesOldKid_AfterRetirement) {
  const ActiveSigningKey old_key = service_->keys().ActiveKey();
  ASSERT_TRUE(service_->RotateSigningKey().ok());

  // A token from the old key that is itself still unexpired, so only the key's retirement can
  // refuse it.
  Json claims = Claims();
  claims["exp"] = kStart + 10 * kMaxLifetime;
  Json header = Header();
  header["kid"] = old_key.kid;
  const std::string token = Sign(header, claims, old_key.hsm_label);

  now_ = kStart + kMaxLifetime + kLeeway - 1;
  ExpectAccepted(token);
  EXPECT_EQ(PublishedKids().size(), 2u);

  now_ = kStart + kMaxLifetime + kLeeway;
  ExpectRefused(token, "token_unknown_key");
  EXPECT_EQ(PublishedKids(), std::vector<std::string>{service_->keys().ActiveKey().kid});

  ASSERT_TRUE(service_->Maintain().ok());
  std::vector<SigningKeyRecord> keys = Keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, old_key.kid);
  EXPECT_EQ(keys[0].state, SigningKeyState::kRetired);
  EXPECT_EQ(keys[0].retired_at, now_.load());

  OpenService();
  ExpectRefused(token, "token_unknown_key");
}

TEST_F(SigningKeyRingTest, Open_KeepsRetiringKey_AcrossRestart) {
  const std::string old_token = Issue();
  ASSERT_TRUE(service_->RotateSigningKey().ok());
  OpenService();
  ExpectAccepted(old_token);
  EXPECT_EQ(PublishedKids().size(), 2u);
}

TEST_F(SigningKeyRingTest, Rotate_Twice_PublishesAllUnretiredKeys) {
  const std::string first = service_->keys().ActiveKey().kid;
  ASSERT_TRUE(service_->RotateSigningKey().ok());
  const std::string second = service_->keys().ActiveKey().kid;
  now_ += 100;
  ASSERT_TRUE(service_->RotateSigningKey().ok());
  const std::string third = service_->keys().ActiveKey().kid;
  EXPECT_EQ(PublishedKids(), (std::vector<std::string>{third, second, first}));

  now_ = kStart + kMaxLifetime + kLeeway;
  EXPECT_EQ(PublishedKids(), (std::vector<std::string>{third, second}));
}

TEST_F(SigningKeyRingTest, Open_FailsWithMismatch_WhenHsmKeyWasReplaced) {
  const std::string label = service_->keys().ActiveKey().hsm_label;
  service_.reset();
  ASSERT_TRUE(hsm_->DestroyObjects(label).ok());
  ASSERT_TRUE(hsm_->CreateEcSigningKey(label).ok());

  auto database = store::Database::Open(db_path_);
  ASSERT_TRUE(database.ok());
  auto ring = SigningKeyRing::Open(*hsm_, std::move(database).value(), Policy());
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().kind(), ErrorKind::kDataLoss);
  EXPECT_EQ(ring.error().code(), "jwt_signing_key_mismatch");
}

TEST_F(SigningKeyRingTest, Open_Fails_WhenHsmKeyIsGone) {
  const std::string label = service_->keys().ActiveKey().hsm_label;
  service_.reset();
  ASSERT_TRUE(hsm_->DestroyObjects(label).ok());

  auto database = store::Database::Open(db_path_);
  ASSERT_TRUE(database.ok());
  EXPECT_FALSE(SigningKeyRing::Open(*hsm_, std::move(database).value(), Policy()).ok());
}

TEST_F(SigningKeyRingTest, Open_RefusesInvalidPolicy) {
  TokenPolicy policy = Policy();
  policy.max_lifetime_s = 0;
  auto ring = SigningKeyRing::Open(*hsm_, database_, policy);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code(), "invalid_token_policy");
}

}  // namespace
}  // namespace weftkit::auth
