// BundleSigner (a key pair in a fresh SoftHSM token, recorded in a real SQLite file) and the
// engine-side PolicyBundleVerifier: a genuine bundle verifies; every tampered field, an unknown
// kid, a forged kid and an older version are refused with their own codes.
#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"
#include "policy_store/bundle_signer.h"
#include "policy_store/canonical_json.h"
#include "policy_store/policy_bundle_verifier.h"
#include "test/support/softhsm_token.h"
#include "test/support/temp_dir.h"

namespace weftkit::policy_store {
namespace {

using Json = nlohmann::json;

class BundleVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm();
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok());
    database_ = std::move(database).value();
    auto opened = SqlitePolicyStore::Open(database_);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    auto signer = BundleSigner::Open(*hsm_, *store_, 1767225600);
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    signer_ = std::move(signer).value();
    auto verifier = PolicyBundleVerifier::FromJwkSet(Json::parse(signer_->JwkSetJson()));
    ASSERT_TRUE(verifier.ok()) << verifier.error().ToString();
    verifier_.emplace(std::move(verifier).value());
  }

  // A served bundle (docs/policy-bundles.md) of `document` as version `version` of `scope`.
  Json Served(const std::string& scope, std::int64_t version, const Json& document) {
    BundleClaims claims{scope, version, *ContentHash(document), 1767225600 + version};
    Result<BundleSigner::Signature> signature = signer_->Sign(claims);
    EXPECT_TRUE(signature.ok()) << signature.error().ToString();
    return {{"scope", scope},
            {"version", version},
            {"content_hash", claims.content_hash},
            {"published_at", claims.published_at},
            {"document", document},
            {"signature", signature.ok() ? signature->jws : ""}};
  }

  std::string VerifyCode(const Json& served, const std::string& scope = "cluster/prod",
                         std::int64_t last_accepted = 0) {
    Result<VerifiedBundle> verified = verifier_->Verify(served, scope, last_accepted);
    return verified.ok() ? "ok" : verified.error().code();
  }

  const Json document_ = {{"roles", Json::array({{{"name", "reader"}}})}};
  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  testing::TempDir dir_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<SqlitePolicyStore> store_;
  std::unique_ptr<BundleSigner> signer_;
  std::optional<PolicyBundleVerifier> verifier_;
};

TEST_F(BundleVerifierTest, Verify_Accepts_GenuineBundle) {
  Json served = Served("cluster/prod", 3, document_);
  Result<VerifiedBundle> verified = verifier_->Verify(served, "cluster/prod", 2);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->claims.version, 3);
  EXPECT_EQ(verified->claims.scope, "cluster/prod");
  EXPECT_EQ(verified->document, document_);
  EXPECT_EQ(VerifyCode(served, "cluster/prod", 3), "ok");  // the same version again
}

TEST_F(BundleVerifierTest, Verify_RefusesOlderVersion_AsRollback) {
  Json served = Served("cluster/prod", 3, document_);
  Result<VerifiedBundle> verified = verifier_->Verify(served, "cluster/prod", 4);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code(), "bundle_rollback");
  EXPECT_EQ(verified.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(BundleVerifierTest, Verify_Refuses_TamperedFields) {
  Json served = Served("cluster/prod", 3, document_);
  Json document = served;
  document["document"]["roles"][0]["name"] = "writer";
  EXPECT_EQ(VerifyCode(document), "bundle_hash_mismatch");
  Json version = served;
  version["version"] = 4;
  EXPECT_EQ(VerifyCode(version), "bundle_claims_mismatch");
  Json hash = served;
  hash["content_hash"] = *ContentHash(document["document"]);
  EXPECT_EQ(VerifyCode(hash), "bundle_claims_mismatch");
  Json time = served;
  time["published_at"] = 1;
  EXPECT_EQ(VerifyCode(time), "bundle_claims_mismatch");
  Json scope = served;
  scope["scope"] = "cluster/test";
  EXPECT_EQ(VerifyCode(scope, "cluster/test"), "bundle_claims_mismatch");
  EXPECT_EQ(VerifyCode(served, "cluster/test"), "bundle_scope_mismatch");
  Json missing = served;
  missing.erase("signature");
  EXPECT_EQ(VerifyCode(missing), "bundle_malformed");
}

TEST_F(BundleVerifierTest, Verify_Refuses_EveryFlippedSignatureBit) {
  Json served = Served("cluster/prod", 1, document_);
  std::string jws = served["signature"];
  std::size_t dot = jws.rfind('.');
  auto signature = Base64UrlDecode(jws.substr(dot + 1));
  ASSERT_TRUE(signature.ok());
  ASSERT_EQ(signature->size(), 64u);
  for (std::size_t bit = 0; bit < signature->size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = *signature;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    Json tampered = served;
    tampered["signature"] = jws.substr(0, dot + 1) + Base64UrlEncode(flipped);
    ASSERT_EQ(VerifyCode(tampered), "bundle_signature_invalid") << "bit " << bit;
  }
}

TEST_F(BundleVerifierTest, Verify_Refuses_UnknownKidAndMalformedSignature) {
  Json served = Served("cluster/prod", 1, document_);
  std::string jws = served["signature"];
  std::size_t dot = jws.find('.');
  Json header = Json::parse(*Base64UrlDecode(jws.substr(0, dot)));
  header["kid"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  Json unknown = served;
  unknown["signature"] = Base64UrlEncode(AsBytes(header.dump())) + jws.substr(dot);
  EXPECT_EQ(VerifyCode(unknown), "bundle_unknown_kid");

  header["alg"] = "none";
  Json none = served;
  none["signature"] = Base64UrlEncode(AsBytes(header.dump())) + jws.substr(dot);
  EXPECT_EQ(VerifyCode(none), "bundle_signature_malformed");
  Json truncated = served;
  truncated["signature"] = jws.substr(0, jws.rfind('.'));
  EXPECT_EQ(VerifyCode(truncated), "bundle_signature_malformed");
}

TEST_F(BundleVerifierTest, FromJwkSet_Refuses_KidThatIsNotTheThumbprint) {
  Json set = Json::parse(signer_->JwkSetJson());
  ASSERT_EQ(set["keys"].size(), 1u);
  EXPECT_EQ(set["keys"][0]["kid"], signer_->kid());
  set["keys"][0]["kid"] = "someone-else";
  auto verifier = PolicyBundleVerifier::FromJwkSet(set);
  ASSERT_FALSE(verifier.ok());
  EXPECT_EQ(verifier.error().code(), "jwk_set_invalid");
  EXPECT_FALSE(PolicyBundleVerifier::FromJwkSet(Json::array()).ok());
}

TEST_F(BundleVerifierTest, Open_KeepsTheSameKey_AcrossRestart) {
  std::string kid = signer_->kid();
  signer_.reset();
  auto reopened = BundleSigner::Open(*hsm_, *store_, 1767229200);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->kid(), kid);
  EXPECT_EQ(store_->SigningKeys()->size(), 1u);
}

TEST_F(BundleVerifierTest, Rotate_NewKeySigns_EveryKeyStaysPublished_AndSurvivesRestart) {
  const std::string old_kid = signer_->kid();
  Json before = Served("cluster/prod", 1, Json::object());

  Result<BundleKeyRecord> rotated = signer_->Rotate(1767229200);
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_NE(rotated->kid, old_kid);
  EXPECT_EQ(signer_->kid(), rotated->kid);
  Json set = Json::parse(signer_->JwkSetJson());
  ASSERT_EQ(set["keys"].size(), 2u);
  EXPECT_EQ(set["keys"][0]["kid"], old_kid);
  EXPECT_EQ(set["keys"][1]["kid"], rotated->kid);

  Result<BundleSigner::Signature> signed_now = signer_->Sign({"cluster/prod", 2, "00", 1});
  ASSERT_TRUE(signed_now.ok());
  EXPECT_EQ(signed_now->kid, rotated->kid);
  auto verifier = PolicyBundleVerifier::FromJwkSet(set);
  ASSERT_TRUE(verifier.ok()) << verifier.error().ToString();
  auto old_bundle = verifier->Verify(before, "cluster/prod", 0);
  EXPECT_TRUE(old_bundle.ok()) << old_bundle.error().ToString();
  auto new_bundle = verifier->Verify(Served("cluster/prod", 2, Json::object()), "cluster/prod", 1);
  EXPECT_TRUE(new_bundle.ok()) << new_bundle.error().ToString();

  // Created within the same second as the first key or not, the newest recorded key is active.
  signer_.reset();
  auto reopened = BundleSigner::Open(*hsm_, *store_, 1767229300);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->kid(), rotated->kid);
  EXPECT_EQ(Json::parse((*reopened)->JwkSetJson()), set);
}

TEST_F(BundleVerifierTest, Open_FailsWithMismatch_WhenHsmKeyWasReplaced) {
  auto keys = store_->SigningKeys();
  ASSERT_TRUE(keys.ok() && keys->size() == 1);
  ASSERT_TRUE(hsm_->DestroyObjects((*keys)[0].hsm_label).ok());
  ASSERT_TRUE(hsm_->CreateEcSigningKey((*keys)[0].hsm_label).ok());
  auto reopened = BundleSigner::Open(*hsm_, *store_, 1767229200);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code(), "policy_signing_key_mismatch");
}

}  // namespace
}  // namespace weftkit::policy_store
