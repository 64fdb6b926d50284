#include "pkcs11/ec_public_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <memory>

namespace weftkit::pkcs11 {
namespace {

constexpr std::size_t kUncompressedPointSize = 65;  // 0x04 || X (32) || Y (32)
constexpr std::uint8_t kDerOctetString = 0x04;
constexpr std::uint8_t kUncompressedPrefix = 0x04;

Error BadPoint(const char* why) {
  return Error(ErrorKind::kInternal, "hsm_bad_ec_point", std::string("CKA_EC_POINT ") + why);
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyContextDeleter {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};

}  // namespace

Result<std::vector<std::uint8_t>> EcPointFromAttribute(std::span<const std::uint8_t> ec_point) {
  // DER OCTET STRING with a one-byte length: 0x04 0x41 <65-byte point>.
  if (ec_point.size() == kUncompressedPointSize + 2 && ec_point[0] == kDerOctetString &&
      ec_point[1] == kUncompressedPointSize) {
    ec_point = ec_point.subspan(2);
  }
  if (ec_point.size() != kUncompressedPointSize || ec_point[0] != kUncompressedPrefix) {
    return BadPoint("is not an uncompressed P-256 point");
  }
  return std::vector<std::uint8_t>(ec_point.begin(), ec_point.end());
}

Result<std::vector<std::uint8_t>> P256SpkiFromPoint(std::span<const std::uint8_t> point) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyContextDeleter> context(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_fromdata_init(context.get()) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "EVP_PKEY_fromdata_init failed");
  }
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw_key = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return BadPoint("is not a point on P-256");
  }
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(raw_key);

  int size = i2d_PUBKEY(key.get(), nullptr);
  if (size <= 0) return Error(ErrorKind::kInternal, "openssl_error", "i2d_PUBKEY failed");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  if (i2d_PUBKEY(key.get(), &out) != size) {
    return Error(ErrorKind::kInternal, "openssl_error", "i2d_PUBKEY failed");
  }
  return der;
}

}  // namespace weftkit::pkcs11
