#include "policy_store/policy_bundle_verifier.h"

#include <array>
#include <vector>

#include "common/base64.h"
#include "policy_store/canonical_json.h"

namespace weftkit::policy_store {
namespace {

Error BadSet(const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, "jwk_set_invalid", why);
}

Error Integrity(const char* code, const std::string& why) {
  return Error(ErrorKind::kDataLoss, code, why);
}

// The fixed DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1) up to the
// uncompressed point marker 0x04; x and y (32 bytes each) follow it.
constexpr std::array<std::uint8_t, 27> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

Result<std::shared_ptr<const auth::P256PublicKey>> KeyFromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || jwk.value("kty", "") != "EC" || jwk.value("crv", "") != "P-256" ||
      !jwk.contains("x") || !jwk["x"].is_string() || !jwk.contains("y") || !jwk["y"].is_string() ||
      !jwk.contains("kid") || !jwk["kid"].is_string()) {
    return BadSet("every key must be an EC P-256 JWK with x, y and kid");
  }
  Result<std::vector<std::uint8_t>> x = Base64UrlDecode(jwk["x"].get<std::string>());
  Result<std::vector<std::uint8_t>> y = Base64UrlDecode(jwk["y"].get<std::string>());
  if (!x.ok() || !y.ok() || x->size() != 32 || y->size() != 32) {
    return BadSet("x and y must be 32 bytes of base64url each");
  }
  std::vector<std::uint8_t> der(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end());
  der.insert(der.end(), x->begin(), x->end());
  der.insert(der.end(), y->begin(), y->end());
  Result<auth::P256PublicKey> key = auth::P256PublicKey::FromSpkiDer(der);
  if (!key.ok()) return BadSet("a key is not a point on P-256");
  if (key->Thumbprint() != jwk["kid"].get<std::string>()) {
    return BadSet("a kid is not the RFC 7638 thumbprint of its key");
  }
  return std::make_shared<const auth::P256PublicKey>(std::move(key).value());
}

// The served fields the signature must match.
struct ServedFields {
  std::string scope;
  std::int64_t version = 0;
  std::string content_hash;
  std::int64_t published_at = 0;
  std::string signature;
};

Result<ServedFields> ReadServed(const nlohmann::json& served) {
  auto string_field = [&](const char* name) {
    return served.contains(name) && served[name].is_string();
  };
  auto integer_field = [&](const char* name) {
    return served.contains(name) && served[name].is_number_integer();
  };
  if (!served.is_object() || !string_field("scope") || !integer_field("version") ||
      !string_field("content_hash") || !integer_field("published_at") ||
      !served.contains("document") || !served["document"].is_object() ||
      !string_field("signature")) {
    return Integrity("bundle_malformed",
                     "a bundle holds scope, version, content_hash, published_at, document and "
                     "signature");
  }
  return ServedFields{served["scope"].get<std::string>(), served["version"].get<std::int64_t>(),
                      served["content_hash"].get<std::string>(),
                      served["published_at"].get<std::int64_t>(),
                      served["signature"].get<std::string>()};
}

Status CheckClaims(const BundleClaims& claims, const ServedFields& served) {
  if (claims.scope != served.scope || claims.version != served.version ||
      claims.content_hash != served.content_hash || claims.published_at != served.published_at) {
    return Integrity("bundle_claims_mismatch", "the signed claims differ from the served fields");
  }
  return OkStatus();
}

}  // namespace

Result<PolicyBundleVerifier> PolicyBundleVerifier::FromJwkSet(const nlohmann::json& jwk_set) {
  if (!jwk_set.is_object() || !jwk_set.contains("keys") || !jwk_set["keys"].is_array()) {
    return BadSet("a JWK set is an object with a \"keys\" array");
  }
  KeyMap keys;
  for (const nlohmann::json& jwk : jwk_set["keys"]) {
    WK_ASSIGN_OR_RETURN(auto key, KeyFromJwk(jwk));
    keys.emplace(jwk["kid"].get<std::string>(), std::move(key));
  }
  return PolicyBundleVerifier(std::move(keys));
}

Status PolicyBundleVerifier::CheckSignature(const BundleJwsParts& parts) const {
  auto key = keys_.find(parts.kid);
  if (key == keys_.end()) {
    return Integrity("bundle_unknown_kid", "the bundle's kid is not in the JWK set");
  }
  WK_ASSIGN_OR_RETURN(
      bool valid, key->second->VerifyEs256(AsBytes(parts.signing_input), AsBytes(parts.signature)));
  if (!valid) return Integrity("bundle_signature_invalid", "the signature does not verify");
  return OkStatus();
}

Result<VerifiedBundle> PolicyBundleVerifier::Verify(const nlohmann::json& served,
                                                    std::string_view expected_scope,
                                                    std::int64_t last_accepted_version) const {
  WK_ASSIGN_OR_RETURN(ServedFields fields, ReadServed(served));
  if (fields.scope != expected_scope) {
    return Integrity("bundle_scope_mismatch", "the bundle is for another scope");
  }
  WK_ASSIGN_OR_RETURN(BundleJwsParts parts, ParseBundleJws(fields.signature));
  WK_RETURN_IF_ERROR(CheckSignature(parts));
  WK_RETURN_IF_ERROR(CheckClaims(parts.claims, fields));

  // The hash is recomputed last: the document is the largest input, and only worth hashing once
  // the signature shows the claims are genuine.
  WK_ASSIGN_OR_RETURN(std::string hash, ContentHash(served["document"]));
  if (hash != fields.content_hash) {
    return Integrity("bundle_hash_mismatch", "the document does not have the signed content hash");
  }
  if (fields.version < last_accepted_version) {
    return Error(ErrorKind::kFailedPrecondition, "bundle_rollback",
                 "version " + std::to_string(fields.version) + " is older than the accepted " +
                     std::to_string(last_accepted_version));
  }
  return VerifiedBundle{std::move(parts.claims), served["document"]};
}

}  // namespace weftkit::policy_store
