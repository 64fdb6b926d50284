// PolicyBundleVerifier: what an engine (or the Pool Manager) runs on every bundle it fetches
// before enforcing it. Linkable on its own as target weftkit_policy_client.
//
// Given the server's JWK set (GET /v1/policy/keys), a served bundle (GET
// /v1/policy/scopes/{kind}/{name}/bundle, docs/policy-bundles.md) and the version it enforces
// now, Verify checks, in order:
//   1. the bundle has the served shape: scope, version, content_hash, published_at, document,
//      signature, author and comment are optional and ignored;
//   2. the scope is the one the engine asked for;
//   3. the JWS header is ES256 with the bundle "typ" and a kid present in the JWK set, and the
//      signature verifies under that key;
//   4. the signed scope, version, content hash and publication time equal the served ones;
//   5. SHA-256 of the canonical text of the served document equals the content hash;
//   6. the version is not lower than `last_accepted_version` (rollback protection: a server,
//      proxy or attacker replaying an older signed bundle is refused). The same version again is
//      accepted, so a restarted engine can re-verify what it holds.
//
// Errors (all kDataLoss unless said): "bundle_malformed", "bundle_scope_mismatch",
// "bundle_signature_malformed", "bundle_unknown_kid", "bundle_signature_invalid",
// "bundle_claims_mismatch", "bundle_hash_mismatch", and kFailedPrecondition "bundle_rollback".
//
// Thread safety: immutable after FromJwkSet; Verify may run on several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/jwk.h"
#include "common/error.h"
#include "policy_store/bundle_jws.h"

namespace weftkit::policy_store {

// A bundle that passed every check.
struct VerifiedBundle {
  BundleClaims claims;
  nlohmann::json document;
};

class PolicyBundleVerifier {
 public:
  // Reads every EC P-256 key of `jwk_set` ({"keys":[...]}) whose "kid" is its RFC 7638
  // thumbprint. Fails with kInvalidArgument "jwk_set_invalid" if the set is malformed, a key is
  // not P-256, or a kid does not match its key (a server cannot pair a kid with another key).
  static Result<PolicyBundleVerifier> FromJwkSet(const nlohmann::json& jwk_set);

  // Runs the checks above on `served` for `expected_scope`.
  Result<VerifiedBundle> Verify(const nlohmann::json& served, std::string_view expected_scope,
                                std::int64_t last_accepted_version) const;

 private:
  using KeyMap = std::map<std::string, std::shared_ptr<const auth::P256PublicKey>, std::less<>>;
  explicit PolicyBundleVerifier(KeyMap keys) : keys_(std::move(keys)) {}

  Status CheckSignature(const BundleJwsParts& parts) const;

  KeyMap keys_;
};

}  // namespace weftkit::policy_store
