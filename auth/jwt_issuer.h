// TokenIssuer: mints short-lived API tokens (JWT access tokens, RFC 9068 profile) signed with
// the ring's active ES256 key inside the HSM.
//
// Wire format: compact JWS, BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(r || s), with
//   header  {"alg":"ES256","typ":"at+jwt","kid":"<RFC 7638 thumbprint>"}
//   claims  {"iss":policy.issuer,"sub":principal,"aud":audience,"iat":now,"nbf":now,
//            "exp":now + lifetime,"jti":"<16 random bytes,
//            base64url>","auth_method":"mtls"|"scram"[,"scope":"password_change"]}
// A token with scope "password_change" was issued to a user logging in with a password that must
// be changed (the one-time bootstrap password); it stays good for nothing else for its whole life,
// even after the password has changed. Tokens carry no roles: the verifier's caller resolves roles
// each time a token is used, so a role taken away takes effect at once. docs/tokens.md describes
// the format for integrators.
//
// Thread safety: Issue is thread-safe; it calls the HSM (run it on a worker thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/signing_key_ring.h"
#include "auth/token_policy.h"
#include "common/error.h"
#include "common/secret_bytes.h"
#include "common/security_context.h"
#include "pkcs11/hsm.h"

namespace weftkit::auth {

struct IssuedToken {
  SecretBytes access_token;  // the compact JWS: a bearer credential, never logged
  std::string jti;
  std::string kid;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

class TokenIssuer {
 public:
  // `hsm` and `keys` must outlive the issuer. Fails with "invalid_token_policy".
  static Result<std::unique_ptr<TokenIssuer>> Create(pkcs11::Hsm& hsm, const SigningKeyRing& keys,
                                                     TokenPolicy policy);

  // Issues a token for `principal`, who proved their identity by `method` (kMtls or kScram),
  // valid for `lifetime_s` seconds capped at policy.max_lifetime_s. An empty `audience` means
  // policy.audience; any other must be policy.audience or one of policy.extra_audiences.
  // Fails with kInvalidArgument "invalid_principal" (empty, over 1024 bytes, control characters
  // or not UTF-8), "invalid_lifetime" (below 1), "token_audience_not_allowed",
  // "invalid_auth_method", or the HSM's error.
  Result<IssuedToken> Issue(std::string_view principal, std::string_view audience,
                            std::int64_t lifetime_s, AuthMethod method,
                            TokenScope scope = TokenScope::kFull) const;

 private:
  TokenIssuer(pkcs11::Hsm& hsm, const SigningKeyRing& keys, TokenPolicy policy)
      : hsm_(hsm), keys_(keys), policy_(std::move(policy)) {}

  Result<std::string> CheckAudience(std::string_view audience) const;

  pkcs11::Hsm& hsm_;
  const SigningKeyRing& keys_;
  const TokenPolicy policy_;
};

}  // namespace weftkit::auth
