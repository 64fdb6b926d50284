// CheckPolicyBundle: every check an engine runs on a served policy bundle before it enforces it,
// in one place, for the PolicyWatcher (policy_watcher.h) and for `kmsctl policy verify`.
//
// It runs weftkit_policy_client's PolicyBundleVerifier (policy_store/policy_bundle_verifier.h):
// the bundle's shape, the scope, the ES256 signature under a key of the trusted JWK set, the
// signed claims against the served fields, the content hash of the document and the rollback
// floor. Then it adds what only the engine side can judge:
//   - time: the bundle must not be published later than now + max_clock_skew
//     ("bundle_not_yet_valid"), and, when max_age is set, not earlier than now - max_age
//     ("bundle_expired");
//   - the document must pass this build's policy language ("bundle_policy_invalid"), and is
//     compiled once, so decisions need no further parsing.
//
// The scope is the bundle's audience: it is signed, so a bundle for pool/eu-1 can never be
// passed off as one for cluster/prod. The signed payload carries no expiry of its own; max_age
// is how an engine bounds how old a policy it accepts may be.
// TODO(#4): a signed expiry and audience claim in the bundle JWS (a server-side format change).
//
// Every refusal is an Error of kind kDataLoss (integrity) or kFailedPrecondition (rollback,
// time, language) with a stable "bundle_*" code; PolicyErrorOf sorts them into an enum.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/policy_bundle_verifier.h"

namespace weftkit::client {

// What a bundle must satisfy besides its signature.
struct PolicyBundleCheck {
  std::string scope;             // the scope asked for: "cluster/prod"
  std::int64_t min_version = 0;  // the rollback floor: the last version accepted
  std::chrono::seconds max_clock_skew{300};
  std::optional<std::chrono::seconds> max_age;  // unset: any age
  std::function<std::int64_t()> now;            // Unix seconds; the system clock when empty
};

// A bundle that passed every check, ready to enforce. Immutable; share it freely.
struct PolicySnapshot {
  std::string scope;
  std::int64_t version = 0;
  std::string content_hash;  // 64 hex digits
  std::int64_t published_at = 0;
  std::string kid;        // the key that signed it
  std::string etag;       // the quoted content hash, as kmsd sends it in ETag
  nlohmann::json bundle;  // the served bundle as received (document and signature included)
  std::shared_ptr<const policy::PolicyDocument> policy;  // compiled document, for Decide
};

// Runs the checks above on the served bundle `served`. Fails with the first refusal.
Result<PolicySnapshot> CheckPolicyBundle(const policy_store::PolicyBundleVerifier& verifier,
                                         const nlohmann::json& served,
                                         const PolicyBundleCheck& check);

// The policy failures an engine acts on. Anything else (transport, server refusals) is kNone:
// use ServerErrorOf and IsTransient (client_error.h) for those.
enum class PolicyError {
  kNone,             // not a policy bundle failure
  kTampered,         // malformed bundle or JWS, bad signature, claims or hash mismatch
  kUnknownKey,       // the kid is not among the trusted keys
  kUntrustedKeySet,  // the JWK set itself is malformed or a kid is not its key's thumbprint
  kWrongScope,       // a bundle of another scope
  kRollback,         // a version lower than the last one accepted
  kNotYetValid,      // published in the future beyond the allowed clock skew
  kExpired,          // older than max_age
  kInvalidDocument,  // signed, but this build's policy language refuses the document
  kNotLoaded,        // a decision was asked before any bundle was accepted
  kStateFile,        // the rollback state file cannot be read or written
};

// Error codes of the refusals above that are not the verifier's own.
inline constexpr std::string_view kBundleNotYetValid = "bundle_not_yet_valid";
inline constexpr std::string_view kBundleExpired = "bundle_expired";
inline constexpr std::string_view kBundlePolicyInvalid = "bundle_policy_invalid";
inline constexpr std::string_view kPolicyNotLoaded = "policy_not_loaded";
inline constexpr std::string_view kPolicyStateInvalid = "policy_state_invalid";

PolicyError PolicyErrorOf(const Error& error);

}  // namespace weftkit::client
