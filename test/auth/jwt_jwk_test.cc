// P256PublicKey against keys and signatures made independently with OpenSSL: coordinates,
// RFC 7638 thumbprint, ES256 verification with JOSE's r || s form, and refusal of other keys.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "auth/jwk.h"
#include "common/base64.h"

namespace weftkit::auth {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey Generate(const char* type, const char* group) {
  if (group == nullptr) return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type), EVP_PKEY_free);
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type, group), EVP_PKEY_free);
}

std::vector<std::uint8_t> SpkiDer(EVP_PKEY* key) {
  const int size = i2d_PUBKEY(key, nullptr);
  std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  i2d_PUBKEY(key, &out);
  return der;
}

std::string CoordinateB64(EVP_PKEY* key, const char* name) {
  BIGNUM* number = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &number), 1);
  std::vector<std::uint8_t> bytes(32);
  BN_bn2binpad(number, bytes.data(), 32);
  BN_free(number);
  return Base64UrlEncode(bytes);
}

// An ES256 signature of `message` by `key`, converted from OpenSSL's DER to r || s.
std::vector<std::uint8_t> SignEs256(EVP_PKEY* key, const std::string& message) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  EXPECT_EQ(EVP_DigestSign(context.get(), nullptr, &size, data, message.size()), 1);
  std::vector<std::uint8_t> der(size);
  EXPECT_EQ(EVP_DigestSign(context.get(), der.data(), &size, data, message.size()), 1);

  const unsigned char* cursor = der.data();
  ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(size));
  std::vector<std::uint8_t> raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(signature), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(signature), raw.data() + 32, 32);
  ECDSA_SIG_free(signature);
  return raw;
}

class P256PublicKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(key_, nullptr);
    auto parsed = P256PublicKey::FromSpkiDer(SpkiDer(key_.get()));
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    public_key_ = std::make_unique<P256PublicKey>(std::move(parsed).value());
  }

  Pkey key_ = Generate("EC", "P-256");
  std::unique_ptr<P256PublicKey> public_key_;
};

TEST_F(P256PublicKeyTest, FromSpkiDer_ReadsCoordinates) {
  EXPECT_EQ(public_key_->x(), CoordinateB64(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X));
  EXPECT_EQ(public_key_->y(), CoordinateB64(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
}

TEST_F(P256PublicKeyTest, Thumbprint_HashesCanonicalJwk) {
  // RFC 7638 §3.2 spelled out independently of the implementation.
  const std::string canonical = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + public_key_->x() +
                                "\",\"y\":\"" + public_key_->y() + "\"}";
  unsigned char digest[32];
  unsigned int length = 0;
  ASSERT_EQ(EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr),
            1);
  EXPECT_EQ(public_key_->Thumbprint(),
            Base64UrlEncode(std::span<const std::uint8_t>(digest, length)));
  EXPECT_EQ(public_key_->Thumbprint().size(), 43u);
}

TEST_F(P256PublicKeyTest, ToJwk_HasExactlyThePublishedMembers) {
  nlohmann::ordered_json jwk = public_key_->ToJwk("kid-1");
  EXPECT_EQ(jwk.dump(), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + public_key_->x() +
                            "\",\"y\":\"" + public_key_->y() +
                            "\",\"kid\":\"kid-1\",\"use\":\"sig\",\"alg\":\"ES256\"}");
}

TEST_F(P256PublicKeyTest, VerifyEs256_AcceptsOpensslSignature) {
  const std::string message = "header.payload";
  auto verified = public_key_->VerifyEs256(AsBytes(message), SignEs256(key_.get(), message));
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(*verified);
}

TEST_F(P256PublicKeyTest, VerifyEs256_RefusesEveryBitFlipOfSignatureAndMessage) {
  const std::string message = "header.payload";
  const std::vector<std::uint8_t> signature = SignEs256(key_.get(), message);
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = signature;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1 << (bit % 8));
    auto verified = public_key_->VerifyEs256(AsBytes(message), flipped);
    ASSERT_TRUE(verified.ok());
    ASSERT_FALSE(*verified) << "bit " << bit;
  }
  for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
    std::string flipped = message;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_FALSE(*public_key_->VerifyEs256(AsBytes(flipped), signature)) << "bit " << bit;
  }
}

TEST_F(P256PublicKeyTest, VerifyEs256_RefusesWrongLengthsAndZeros) {
  const std::string message = "header.payload";
  std::vector<std::uint8_t> signature = SignEs256(key_.get(), message);
  std::vector<std::uint8_t> longer = signature;
  longer.push_back(0);
  EXPECT_FALSE(*public_key_->VerifyEs256(AsBytes(message), longer));
  EXPECT_FALSE(*public_key_->VerifyEs256(AsBytes(message),
                                         std::span<const std::uint8_t>(signature.data(), 63)));
  EXPECT_FALSE(*public_key_->VerifyEs256(AsBytes(message), std::vector<std::uint8_t>(64, 0)));
  EXPECT_FALSE(*public_key_->VerifyEs256(AsBytes(message), std::vector<std::uint8_t>(64, 0xff)));
}

TEST_F(P256PublicKeyTest, VerifyEs256_RefusesSignatureOfAnotherKey) {
  Pkey other = Generate("EC", "P-256");
  const std::string message = "header.payload";
  EXPECT_FALSE(*public_key_->VerifyEs256(AsBytes(message), SignEs256(other.get(), message)));
}

TEST(P256PublicKeyParseTest, FromSpkiDer_RefusesOtherKeysAndBadDer) {
  Pkey p384 = Generate("EC", "P-384");
  Pkey ed25519 = Generate("ED25519", nullptr);
  Pkey p256 = Generate("EC", "P-256");
  std::vector<std::uint8_t> trailing = SpkiDer(p256.get());
  trailing.push_back(0);
  std::vector<std::uint8_t> truncated = SpkiDer(p256.get());
  truncated.pop_back();

  for (const auto& der : {SpkiDer(p384.get()), SpkiDer(ed25519.get()), trailing, truncated,
                          std::vector<std::uint8_t>{}, std::vector<std::uint8_t>{0x30, 0x00}}) {
    auto parsed = P256PublicKey::FromSpkiDer(der);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code(), "jwk_bad_public_key");
  }
}

}  // namespace
}  // namespace weftkit::auth
