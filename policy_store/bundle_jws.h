// The signature of a policy bundle: a compact JWS (RFC 7515) signed with ES256.
//
//   protected header  {"alg":"ES256","kid":"<RFC 7638
//   thumbprint>","typ":"weftkit-policy-bundle+jws"} payload
//   {"scope":"cluster/prod","version":7,"content_hash":"<64 hex>",
//                      "published_at":1767225600}
//   signature         ES256 over ASCII(base64url(header) || '.' || base64url(payload)), r || s
//
// The payload names the document by its content hash (SHA-256 of its canonical text,
// canonical_json.h) instead of carrying it, so the served bundle holds the document once and a
// verifier recomputes the hash from the document it received. Scope and version are inside the
// signature, so a bundle cannot be replayed for another scope or passed off as a newer version.
//
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::policy_store {

// The "typ" of every bundle signature.
inline constexpr const char* kBundleJwsType = "weftkit-policy-bundle+jws";

// What a bundle signature vouches for.
struct BundleClaims {
  std::string scope;
  std::int64_t version = 0;
  std::string content_hash;       // 64 lower-case hex digits
  std::int64_t published_at = 0;  // Unix seconds
};

// base64url(header) "." base64url(payload) for `claims` signed by key `kid`: the bytes the
// signature covers.
std::string BundleSigningInput(std::string_view kid, const BundleClaims& claims);

// A compact JWS taken apart; nothing verified yet.
struct BundleJwsParts {
  std::string kid;
  std::string signing_input;  // the first two parts with their dot, as received
  std::string signature;      // decoded: r || s
  BundleClaims claims;
};

// Splits `jws` and decodes its header and payload. The header must be exactly alg ES256, a kid
// and the bundle "typ"; the payload exactly the four claims with the right types. Fails with
// kDataLoss "bundle_signature_malformed" otherwise (the detail says which part).
Result<BundleJwsParts> ParseBundleJws(std::string_view jws);

}  // namespace weftkit::policy_store
