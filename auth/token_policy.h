// TokenPolicy: the settings that issuing and verifying API tokens share, so that what the
// issuer promises (lifetime, issuer, audience) is exactly what the verifier checks.
//
// Thread safety: a plain value; copy it into each component that needs it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace weftkit::auth {

// The "scope" claim value of a TokenScope::kPasswordChange token.
inline constexpr char kPasswordChangeScope[] = "password_change";

// What a token may be used for.
enum class TokenScope {
  kFull,            // whatever the principal's roles allow when the token is used
  kPasswordChange,  // only changing the principal's own password
};

struct TokenPolicy {
  // The "iss" claim of every token, and the only issuer the verifier accepts.
  std::string issuer = "https://kms.weftkit.local";
  // The audience tokens are issued for by default, and the one this server's verifier requires
  // in "aud".
  std::string audience = "https://kms.weftkit.local";
  // Further audiences the issuer may mint tokens for on request (other WeftKit services that
  // trust this JWK set). This server's own verifier still refuses them.
  std::vector<std::string> extra_audiences;
  // Requested lifetimes are capped at this; a retiring signing key stays published this long
  // plus the leeway after it stops signing.
  std::int64_t max_lifetime_s = 15 * 60;
  // Clock skew tolerated on exp, nbf and iat.
  std::int64_t leeway_s = 30;
  // The clock, in Unix seconds; tests replace it.
  std::function<std::int64_t()> now;
};

// Checks a policy before anything is built on it: an issuer and audience of printable ASCII,
// 1 <= max_lifetime_s <= 24 h, 0 <= leeway_s <= 5 min, a clock. Fails with kInvalidArgument
// "invalid_token_policy" naming the setting.
Status ValidateTokenPolicy(const TokenPolicy& policy);

// How long a key that stopped signing must stay verifiable: until every token it signed has
// expired, leeway included.
inline std::int64_t RetirementDelay(const TokenPolicy& policy) {
  return policy.max_lifetime_s + policy.leeway_s;
}

}  // namespace weftkit::auth
