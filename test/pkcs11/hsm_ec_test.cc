// EC P-256 signing keys: signatures made in the token verify with OpenSSL against the public
// key the Hsm exports, and the private key is as locked down as a master key.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "pkcs11/hsm.h"
#include "test/pkcs11/hsm_fixture.h"
#include "test/pkcs11/raw_token.h"

namespace weftkit::pkcs11 {
namespace {

class HsmEcTest : public HsmFixture {};

// Verifies a raw r||s P-256 signature over `message` with OpenSSL alone.
bool VerifyWithOpenSsl(const std::vector<std::uint8_t>& spki,
                       const std::vector<std::uint8_t>& message,
                       const std::vector<std::uint8_t>& raw_signature) {
  const unsigned char* in = spki.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PUBKEY(nullptr, &in, static_cast<long>(spki.size())), EVP_PKEY_free);
  if (key == nullptr || raw_signature.size() != 64) return false;

  ECDSA_SIG* signature = ECDSA_SIG_new();
  ECDSA_SIG_set0(signature, BN_bin2bn(raw_signature.data(), 32, nullptr),
                 BN_bin2bn(raw_signature.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_size = i2d_ECDSA_SIG(signature, &der);
  ECDSA_SIG_free(signature);

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  EVP_MD_CTX_free);
  bool valid =
      EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(context.get(), der, der_size, message.data(), message.size()) == 1;
  OPENSSL_free(der);
  return valid;
}

TEST_F(HsmEcTest, SignEcdsaSha256_VerifiesWithTheExportedPublicKey) {
  ASSERT_TRUE(hsm_->CreateEcSigningKey("jwt-signing-v1").ok());
  std::vector<std::uint8_t> message = Bytes("header.payload");
  auto signature = hsm_->SignEcdsaSha256("jwt-signing-v1", message);
  ASSERT_TRUE(signature.ok()) << signature.error().ToString();
  EXPECT_EQ(signature->size(), 64u);
  auto spki = hsm_->EcPublicKeyDer("jwt-signing-v1");
  ASSERT_TRUE(spki.ok()) << spki.error().ToString();

  EXPECT_TRUE(VerifyWithOpenSsl(*spki, message, *signature));
  EXPECT_FALSE(VerifyWithOpenSsl(*spki, Bytes("header.payloaD"), *signature));
}

TEST_F(HsmEcTest, CreateEcSigningKey_PrivateKeyIsSensitiveAndNeverExtractable) {
  ASSERT_TRUE(hsm_->CreateEcSigningKey("jwt-signing-v1").ok());
  auto raw = RawToken::Open(token_->module_path(), token_->label(), token_->pin());
  ASSERT_NE(raw, nullptr);
  auto keys = raw->Find("jwt-signing-v1", CKO_PRIVATE_KEY);
  ASSERT_EQ(keys.size(), 1u);

  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, never_extractable = CK_FALSE;
  CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1},
                          {CKA_EXTRACTABLE, &extractable, 1},
                          {CKA_NEVER_EXTRACTABLE, &never_extractable, 1}};
  ASSERT_EQ(raw->functions()->C_GetAttributeValue(raw->session(), keys[0], flags, 3), CKR_OK);
  EXPECT_EQ(sensitive, CK_TRUE);
  EXPECT_EQ(extractable, CK_FALSE);
  EXPECT_EQ(never_extractable, CK_TRUE);

  std::vector<std::uint8_t> value(64);
  CK_ATTRIBUTE secret{CKA_VALUE, value.data(), value.size()};
  EXPECT_EQ(raw->functions()->C_GetAttributeValue(raw->session(), keys[0], &secret, 1),
            CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(HsmEcTest, CreateEcSigningKey_FailsAlreadyExistsForATakenLabel) {
  ASSERT_TRUE(hsm_->CreateAesKey("taken").ok());
  Status status = hsm_->CreateEcSigningKey("taken");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::kAlreadyExists);
}

TEST_F(HsmEcTest, DestroyObjects_RemovesBothHalvesOfTheKeyPair) {
  ASSERT_TRUE(hsm_->CreateEcSigningKey("jwt-signing-v1").ok());
  ASSERT_TRUE(hsm_->EcPublicKeyDer("jwt-signing-v1").ok());
  ASSERT_TRUE(hsm_->DestroyObjects("jwt-signing-v1").ok());

  EXPECT_FALSE(hsm_->ObjectExists("jwt-signing-v1"));
  auto spki = hsm_->EcPublicKeyDer("jwt-signing-v1");
  ASSERT_FALSE(spki.ok());
  EXPECT_EQ(spki.error().kind(), ErrorKind::kNotFound);
  auto signature = hsm_->SignEcdsaSha256("jwt-signing-v1", Bytes("x"));
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.error().kind(), ErrorKind::kNotFound);
}

TEST_F(HsmEcTest, SignEcdsaSha256_FailsNotFoundForAnAesLabel) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  auto signature = hsm_->SignEcdsaSha256("orders-v1", Bytes("x"));
  ASSERT_FALSE(signature.ok());
  EXPECT_EQ(signature.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace weftkit::pkcs11
