#include "auth/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <limits>

#include "common/base64.h"

namespace weftkit::auth {
namespace {

constexpr std::size_t kCoordinateBytes = 32;

struct BignumDeleter {
  void operator()(BIGNUM* number) const { BN_free(number); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* signature) const { ECDSA_SIG_free(signature); }
};
struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using Bignum = std::unique_ptr<BIGNUM, BignumDeleter>;

Error BadKey(const char* why) {
  // Leave no stale entries on this thread's OpenSSL error queue for the next caller to misread.
  ERR_clear_error();
  return Error(ErrorKind::kInvalidArgument, "jwk_bad_public_key",
               std::string("signing public key ") + why);
}

Error OpensslFailure(const char* what) {
  ERR_clear_error();
  return Error(ErrorKind::kInternal, "openssl_error", std::string(what) + " failed");
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    return false;
  }
  return std::strcmp(group.data(), "prime256v1") == 0;
}

// One affine coordinate of `key`, left-padded to 32 bytes and base64url-encoded.
Result<std::string> Coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return BadKey("has no affine coordinates");
  Bignum number(raw);
  std::array<std::uint8_t, kCoordinateBytes> bytes{};
  if (BN_bn2binpad(number.get(), bytes.data(), bytes.size()) != kCoordinateBytes) {
    return BadKey("has a coordinate over 32 bytes");
  }
  return Base64UrlEncode(bytes);
}

// The DER ECDSA-Sig-Value that OpenSSL verifies, from JOSE's fixed-width r || s.
Result<std::vector<std::uint8_t>> DerSignature(std::span<const std::uint8_t> raw) {
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> signature(ECDSA_SIG_new());
  Bignum r(BN_bin2bn(raw.data(), kCoordinateBytes, nullptr));
  Bignum s(BN_bin2bn(raw.data() + kCoordinateBytes, kCoordinateBytes, nullptr));
  if (signature == nullptr || r == nullptr || s == nullptr) return OpensslFailure("ECDSA_SIG_new");
  if (ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return OpensslFailure("ECDSA_SIG_set0");
  }
  // The signature owns r and s now.
  r.release();
  s.release();

  const int size = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (size <= 0) return OpensslFailure("i2d_ECDSA_SIG");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(signature.get(), &out) != size) return OpensslFailure("i2d_ECDSA_SIG");
  return der;
}

}  // namespace

Result<P256PublicKey> P256PublicKey::FromSpkiDer(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) {
    return BadKey("is empty");
  }
  const unsigned char* cursor = der.data();
  std::shared_ptr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())),
                                EVP_PKEY_free);
  if (key == nullptr) return BadKey("is not a DER SubjectPublicKeyInfo");
  if (cursor != der.data() + der.size()) return BadKey("has bytes after its DER");
  if (!IsP256(key.get())) return BadKey("is not a P-256 key");

  WK_ASSIGN_OR_RETURN(std::string x, Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X));
  WK_ASSIGN_OR_RETURN(std::string y, Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
  return P256PublicKey(std::move(key), std::move(x), std::move(y));
}

std::string P256PublicKey::Thumbprint() const {
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace. Built by
  // hand because the canonical form is a byte string, not whatever a JSON library emits; x and y
  // are base64url and need no escaping.
  const std::string canonical =
      R"({"crv":"P-256","kty":"EC","x":")" + x_ + R"(","y":")" + y_ + R"("})";
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest.data(), &length, EVP_sha256(),
                 nullptr) != 1) {
    // SHA-256 cannot fail short of a broken library; an empty kid matches no token.
    ERR_clear_error();
    return {};
  }
  return Base64UrlEncode(std::span<const std::uint8_t>(digest.data(), length));
}

nlohmann::ordered_json P256PublicKey::ToJwk(const std::string& kid) const {
  return {{"kty", "EC"}, {"crv", "P-256"}, {"x", x_},      {"y", y_},
          {"kid", kid},  {"use", "sig"},   {"alg", kEs256}};
}

Result<bool> P256PublicKey::VerifyEs256(std::span<const std::uint8_t> signing_input,
                                        std::span<const std::uint8_t> signature) const {
  if (signature.size() != kEs256SignatureBytes) return false;
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> der, DerSignature(signature));

  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> context(EVP_MD_CTX_new());
  if (context == nullptr || EVP_DigestVerifyInit_ex(context.get(), nullptr, "SHA256", nullptr,
                                                    nullptr, key_.get(), nullptr) != 1) {
    return OpensslFailure("EVP_DigestVerifyInit_ex");
  }
  const int verified = EVP_DigestVerify(context.get(), der.data(), der.size(), signing_input.data(),
                                        signing_input.size());
  // 0 is a wrong signature; a negative value is a signature OpenSSL could not even decode
  // (r or s out of range). Both mean the same to the caller: not signed by this key.
  if (verified != 1) ERR_clear_error();
  return verified == 1;
}

}  // namespace weftkit::auth
