// CKA_EC_POINT comes DER-wrapped from SoftHSM and bare from some modules; both must work.
#include "pkcs11/ec_public_key.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace weftkit::pkcs11 {
namespace {

// The uncompressed point of a freshly generated P-256 key.
std::vector<std::uint8_t> FreshPoint() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  std::vector<std::uint8_t> point(65);
  std::size_t size = 0;
  EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point.data(), point.size(), &size);
  EVP_PKEY_free(key);
  point.resize(size);
  return point;
}

TEST(EcPublicKeyTest, EcPointFromAttribute_UnwrapsDerOctetString) {
  std::vector<std::uint8_t> point = FreshPoint();
  ASSERT_EQ(point.size(), 65u);
  std::vector<std::uint8_t> wrapped = {0x04, 0x41};
  wrapped.insert(wrapped.end(), point.begin(), point.end());

  auto unwrapped = EcPointFromAttribute(wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(*unwrapped, point);
  auto bare = EcPointFromAttribute(point);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*bare, point);
}

TEST(EcPublicKeyTest, EcPointFromAttribute_FailsOnOtherShapes) {
  std::vector<std::uint8_t> point = FreshPoint();
  point[0] = 0x02;  // compressed prefix with an uncompressed length
  EXPECT_FALSE(EcPointFromAttribute(point).ok());
  EXPECT_FALSE(EcPointFromAttribute(std::vector<std::uint8_t>(10, 4)).ok());
}

TEST(EcPublicKeyTest, P256SpkiFromPoint_RoundTripsThroughOpenSsl) {
  std::vector<std::uint8_t> point = FreshPoint();
  auto der = P256SpkiFromPoint(point);
  ASSERT_TRUE(der.ok()) << der.error().ToString();

  const unsigned char* in = der->data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EVP_PKEY_free(key);
}

TEST(EcPublicKeyTest, P256SpkiFromPoint_FailsOffTheCurve) {
  std::vector<std::uint8_t> point = FreshPoint();
  point[64] ^= 0x01;
  auto der = P256SpkiFromPoint(point);
  ASSERT_FALSE(der.ok());
  EXPECT_EQ(der.error().code(), "hsm_bad_ec_point");
}

}  // namespace
}  // namespace weftkit::pkcs11
