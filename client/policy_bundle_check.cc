#include "client/policy_bundle_check.h"

#include <map>

#include "common/time_util.h"
#include "policy_store/bundle_jws.h"

namespace weftkit::client {
namespace {

Error Refused(std::string_view code, const std::string& why) {
  return Error(ErrorKind::kFailedPrecondition, std::string(code), why);
}

Status CheckTime(std::int64_t published_at, const PolicyBundleCheck& check) {
  std::int64_t now = check.now ? check.now() : UnixNow();
  if (published_at > now + check.max_clock_skew.count()) {
    return Refused(kBundleNotYetValid,
                   "published " + std::to_string(published_at - now) + " s in the future");
  }
  if (check.max_age && published_at < now - check.max_age->count()) {
    return Refused(kBundleExpired, "published " + std::to_string(now - published_at) +
                                       " s ago, over max_age " +
                                       std::to_string(check.max_age->count()) + " s");
  }
  return OkStatus();
}

}  // namespace

Result<PolicySnapshot> CheckPolicyBundle(const policy_store::PolicyBundleVerifier& verifier,
                                         const nlohmann::json& served,
                                         const PolicyBundleCheck& check) {
  WK_ASSIGN_OR_RETURN(policy_store::VerifiedBundle verified,
                      verifier.Verify(served, check.scope, check.min_version));
  WK_RETURN_IF_ERROR(CheckTime(verified.claims.published_at, check));

  policy::PolicyValidation validation = policy::ValidatePolicy(verified.document);
  if (!validation.document) {
    const policy::PolicyProblem& first = validation.problems.front();
    return Refused(kBundlePolicyInvalid, std::to_string(validation.problems.size()) +
                                             " problems, first " + first.code + " at " +
                                             first.pointer);
  }
  // The verifier parsed the signature already; its kid is read again for the snapshot.
  WK_ASSIGN_OR_RETURN(policy_store::BundleJwsParts parts,
                      policy_store::ParseBundleJws(served["signature"].get<std::string>()));

  PolicySnapshot snapshot;
  snapshot.scope = verified.claims.scope;
  snapshot.version = verified.claims.version;
  snapshot.content_hash = verified.claims.content_hash;
  snapshot.published_at = verified.claims.published_at;
  snapshot.kid = parts.kid;
  snapshot.etag = "\"" + snapshot.content_hash + "\"";
  snapshot.bundle = served;
  snapshot.policy = std::move(validation.document);
  return snapshot;
}

PolicyError PolicyErrorOf(const Error& error) {
  static const auto* codes = new std::map<std::string, PolicyError, std::less<>>{
      {"bundle_malformed", PolicyError::kTampered},
      {"bundle_signature_malformed", PolicyError::kTampered},
      {"bundle_signature_invalid", PolicyError::kTampered},
      {"bundle_claims_mismatch", PolicyError::kTampered},
      {"bundle_hash_mismatch", PolicyError::kTampered},
      {"bundle_unknown_kid", PolicyError::kUnknownKey},
      {"jwk_set_invalid", PolicyError::kUntrustedKeySet},
      {"bundle_scope_mismatch", PolicyError::kWrongScope},
      {"bundle_rollback", PolicyError::kRollback},
      {std::string(kBundleNotYetValid), PolicyError::kNotYetValid},
      {std::string(kBundleExpired), PolicyError::kExpired},
      {std::string(kBundlePolicyInvalid), PolicyError::kInvalidDocument},
      {std::string(kPolicyNotLoaded), PolicyError::kNotLoaded},
      {std::string(kPolicyStateInvalid), PolicyError::kStateFile},
  };
  auto found = codes->find(error.code());
  return found == codes->end() ? PolicyError::kNone : found->second;
}

}  // namespace weftkit::client
