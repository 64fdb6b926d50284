// TokenVerifier: decides whether a bearer token is one this server issued and may honour now.
//
// Every check refuses with kUnauthenticated and its own stable code. The header and signature
// are checked before the claims are even parsed:
//   token_malformed      not exactly three non-empty base64url parts (no padding), over 8 KiB,
//                        a part that is not a JSON object, duplicate members, a "crit" header,
//                        or a claim of the wrong type
//   token_algorithm      header "alg" is not ES256. The algorithm is fixed by the key (every
//                        signing key is ES256) and never taken from the header, so "none" and
//                        HS256 (e.g. an HMAC keyed with the public key) are refused outright
//   token_type           header "typ" is not "at+jwt" (or "application/at+jwt")
//   token_unknown_key    "kid" missing, or naming no active or still-retiring key
//   token_signature      the ES256 signature (exactly 64 bytes r || s) does not verify against
//                        the cached public key; checked locally with OpenSSL, no HSM call
//   token_missing_claim  iss, sub, aud, exp, jti, auth_method, or both of nbf and iat, absent
//   token_issuer         iss is not policy.issuer
//   token_audience       aud (a string or an array) does not contain policy.audience
//   token_expired        now >= exp + leeway
//   token_not_yet_valid  now + leeway < nbf, or now + leeway < iat
//   token_revoked        jti is revoked
// Error details are fixed texts: neither the token nor any value taken from it appears in them.
//
// An ES256 verification costs about as much CPU as the rest of a DEK request together, and an
// engine sends the same token with every request for its whole life, so the verifier remembers
// the SHA-256 digests of tokens whose signature verified, with the key object that verified
// them. A later call with the same bytes skips only the signature check, and only while "kid"
// still resolves to that same key object; the header, every claim, expiry and revocation are
// checked again on every call. The memory is bounded (kVerifiedSignatureCacheEntries; emptied
// when full).
//
// Thread safety: Verify is thread-safe and touches neither the HSM nor the store, so it may run
// on the I/O thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/signing_key_ring.h"
#include "auth/token_policy.h"
#include "auth/token_revocations.h"
#include "common/error.h"
#include "common/security_context.h"

namespace weftkit::auth {

// Tokens longer than this are refused before any parsing.
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;

// Tokens whose verified signature the verifier remembers (32-byte digests, so about 100 KiB).
inline constexpr std::size_t kVerifiedSignatureCacheEntries = 1024;

// What a verified token says. The caller builds the request's SecurityContext from it
// (principal = sub, method kJwt) and resolves the principal's roles at that moment.
struct VerifiedToken {
  std::string sub;
  std::string jti;
  std::vector<std::string> aud;
  std::int64_t exp = 0;
  std::int64_t iat = 0;                        // the iat claim, or nbf when the token has no iat
  AuthMethod auth_method = AuthMethod::kNone;  // how sub proved itself when the token was issued
  TokenScope scope = TokenScope::kFull;        // from the optional "scope" claim
  std::string kid;
};

class TokenVerifier {
 public:
  // `keys` and `revocations` must outlive the verifier. Fails with "invalid_token_policy".
  static Result<std::unique_ptr<TokenVerifier>> Create(const SigningKeyRing& keys,
                                                       const TokenRevocations& revocations,
                                                       TokenPolicy policy);

  // Verifies the compact JWS `token` as described above. Besides the refusals listed there,
  // fails with kInternal "openssl_error" only if OpenSSL itself fails.
  Result<VerifiedToken> Verify(std::string_view token) const;

 private:
  TokenVerifier(const SigningKeyRing& keys, const TokenRevocations& revocations, TokenPolicy policy)
      : keys_(keys), revocations_(revocations), policy_(std::move(policy)) {}

  // Header checks and key look-up; returns the key that must have signed the token.
  Result<std::shared_ptr<const P256PublicKey>> KeyFor(std::string_view header_part,
                                                      std::string* kid) const;
  // Claim checks on a token whose signature verified.
  Result<VerifiedToken> CheckClaims(std::string_view payload_part) const;
  // Whether `digest` (of a whole token) was verified before under exactly `key`.
  bool VerifiedBefore(const std::string& digest, const P256PublicKey* key) const;
  void RememberVerified(std::string digest, std::shared_ptr<const P256PublicKey> key) const;

  const SigningKeyRing& keys_;
  const TokenRevocations& revocations_;
  const TokenPolicy policy_;

  mutable std::shared_mutex verified_mutex_;
  // SHA-256 of a token -> the key its signature verified under. Guarded by verified_mutex_.
  mutable std::unordered_map<std::string, std::shared_ptr<const P256PublicKey>> verified_;
};

}  // namespace weftkit::auth
