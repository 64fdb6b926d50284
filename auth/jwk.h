// P256PublicKey: the public half of an ES256 token-signing key, in the two forms it is used in:
// an OpenSSL key that verifies JWS signatures locally (never an HSM call), and the JSON Web Key
// (RFC 7517, RFC 7518 §6.2) that /.well-known/jwks.json publishes.
//
// The key id of a signing key is its RFC 7638 thumbprint: base64url(SHA-256) of the JSON
//   {"crv":"P-256","kty":"EC","x":"<x>","y":"<y>"}
// with exactly those members in that order and no whitespace. It is derived from the key itself,
// so anyone holding the JWK can check it, and a database row cannot pair a kid with another key.
//
// Thread safety: immutable after construction; copies share one OpenSSL key, which OpenSSL 3
// allows several threads to verify with at once.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "common/error.h"

namespace weftkit::auth {

// The JOSE algorithm of every token-signing key: ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
inline constexpr const char* kEs256 = "ES256";
// An ES256 signature as JWS carries it: r || s, each 32 bytes big-endian.
inline constexpr std::size_t kEs256SignatureBytes = 64;

class P256PublicKey {
 public:
  // Parses a DER SubjectPublicKeyInfo (as pkcs11::Hsm::EcPublicKeyDer returns it). Fails with
  // kInvalidArgument "jwk_bad_public_key" unless it is exactly one P-256 public key with nothing
  // after it.
  static Result<P256PublicKey> FromSpkiDer(std::span<const std::uint8_t> der);

  // The affine coordinates, base64url without padding, 32 bytes each before encoding.
  const std::string& x() const { return x_; }
  const std::string& y() const { return y_; }

  // The RFC 7638 thumbprint described above: 43 base64url characters.
  std::string Thumbprint() const;

  // {"kty":"EC","crv":"P-256","x":...,"y":...,"kid":kid,"use":"sig","alg":"ES256"}.
  nlohmann::ordered_json ToJwk(const std::string& kid) const;

  // Checks the ES256 `signature` (r || s) over `signing_input`. Returns true if it verifies,
  // false if it does not or is not 64 bytes long, and kInternal "openssl_error" only when
  // OpenSSL itself fails, so callers can tell a bad token from a broken library.
  Result<bool> VerifyEs256(std::span<const std::uint8_t> signing_input,
                           std::span<const std::uint8_t> signature) const;

 private:
  P256PublicKey(std::shared_ptr<EVP_PKEY> key, std::string x, std::string y)
      : key_(std::move(key)), x_(std::move(x)), y_(std::move(y)) {}

  std::shared_ptr<EVP_PKEY> key_;
  std::string x_;
  std::string y_;
};

}  // namespace weftkit::auth
