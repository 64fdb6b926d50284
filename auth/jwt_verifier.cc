#include "auth/jwt_verifier.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/base64.h"

namespace weftkit::auth {
namespace {

using Json = nlohmann::json;

constexpr int kMaxJsonDepth = 8;

// Every refusal is kUnauthenticated with a fixed detail, never a value from the token.
Error Refuse(const char* code, const char* detail) {
  return Error(ErrorKind::kUnauthenticated, code, detail);
}
Error Malformed(const char* detail) { return Refuse("token_malformed", detail); }
Error MissingClaim(const char* detail) { return Refuse("token_missing_claim", detail); }

struct CompactParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header "." payload, as signed
};

Result<CompactParts> Split(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return Malformed("token longer than 8 KiB");
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Malformed("token is not three dot-separated parts");
  }
  CompactParts parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                     token.substr(second + 1), token.substr(0, second)};
  if (parts.header.empty() || parts.payload.empty() || parts.signature.empty()) {
    return Malformed("token has an empty part");
  }
  return parts;
}

// Parses `text` as a JSON object, refusing duplicate member names (RFC 7515 §5.2 allows either
// refusing them or taking the last; taking one would let two parsers read different claims) and
// nesting deeper than kMaxJsonDepth.
Result<Json> ParseStrictObject(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool rejected = false;
  auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) rejected = true;
    if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == Json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == Json::parse_event_t::key && !open_objects.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second) {
      rejected = true;
    }
    return true;
  };
  Json value;
  try {
    value = Json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  } catch (const Json::exception&) {
    return Malformed("part is not JSON");
  }
  if (rejected) return Malformed("part has duplicate members or deep nesting");
  if (value.is_discarded() || !value.is_object()) return Malformed("part is not a JSON object");
  return value;
}

Result<Json> DecodeObject(std::string_view part) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes.ok()) return Malformed("part is not unpadded base64url");
  return ParseStrictObject(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
}

bool IsAccessTokenType(const Json& typ) {
  if (!typ.is_string()) return false;
  std::string value = typ.get<std::string>();
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // RFC 7515 §4.1.9: "application/" may be left out of a media type, and types are
  // case-insensitive.
  return value == "at+jwt" || value == "application/at+jwt";
}

// ---- Claim readers: absent -> nullopt, present but of the wrong type -> token_malformed ----

Result<std::optional<std::string>> StringClaim(const Json& claims, const char* name) {
  auto found = claims.find(name);
  if (found == claims.end()) return std::optional<std::string>();
  if (!found->is_string()) return Malformed("a claim has the wrong type");
  return std::optional<std::string>(found->get<std::string>());
}

Result<std::optional<std::int64_t>> TimeClaim(const Json& claims, const char* name) {
  auto found = claims.find(name);
  if (found == claims.end()) return std::optional<std::int64_t>();
  // Our tokens carry whole seconds; fractions, negatives and values past 2^63 are not ours.
  if (found->is_number_unsigned() &&
      found->get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<std::int64_t>::max()}) {
    return std::optional<std::int64_t>(found->get<std::int64_t>());
  }
  return Malformed("a time claim is not a non-negative integer");
}

Result<std::vector<std::string>> AudienceClaim(const Json& claims) {
  auto found = claims.find("aud");
  if (found == claims.end()) return MissingClaim("aud is missing");
  if (found->is_string()) return std::vector<std::string>{found->get<std::string>()};
  if (!found->is_array() || found->empty()) return Malformed("aud is not a string or array");
  std::vector<std::string> audiences;
  for (const Json& entry : *found) {
    if (!entry.is_string()) return Malformed("aud holds a non-string");
    audiences.push_back(entry.get<std::string>());
  }
  return audiences;
}

Result<AuthMethod> AuthMethodClaim(const Json& claims) {
  WK_ASSIGN_OR_RETURN(std::optional<std::string> method, StringClaim(claims, "auth_method"));
  if (!method.has_value()) return MissingClaim("auth_method is missing");
  if (*method == "mtls") return AuthMethod::kMtls;
  if (*method == "scram") return AuthMethod::kScram;
  return Malformed("auth_method is not mtls or scram");
}

// The optional "scope" claim: absent for full tokens; anything but "password_change" is refused
// rather than ignored, so a restriction can never be dropped by misreading it.
Result<TokenScope> ScopeClaim(const Json& claims) {
  WK_ASSIGN_OR_RETURN(std::optional<std::string> scope, StringClaim(claims, "scope"));
  if (!scope.has_value()) return TokenScope::kFull;
  if (*scope == kPasswordChangeScope) return TokenScope::kPasswordChange;
  return Malformed("scope is not password_change");
}

Result<std::string> RequiredString(const Json& claims, const char* name, const char* missing) {
  WK_ASSIGN_OR_RETURN(std::optional<std::string> value, StringClaim(claims, name));
  if (!value.has_value() || value->empty()) return MissingClaim(missing);
  return *value;
}

// exp, nbf and iat against the clock, each with the policy's leeway.
Status CheckTimes(const Json& claims, const TokenPolicy& policy, VerifiedToken& token) {
  WK_ASSIGN_OR_RETURN(std::optional<std::int64_t> exp, TimeClaim(claims, "exp"));
  WK_ASSIGN_OR_RETURN(std::optional<std::int64_t> nbf, TimeClaim(claims, "nbf"));
  WK_ASSIGN_OR_RETURN(std::optional<std::int64_t> iat, TimeClaim(claims, "iat"));
  if (!exp.has_value()) return MissingClaim("exp is missing");
  if (!nbf.has_value() && !iat.has_value()) return MissingClaim("nbf and iat are missing");

  const std::int64_t now = policy.now();
  if (now >= *exp + policy.leeway_s) return Refuse("token_expired", "token has expired");
  if (nbf.has_value() && now + policy.leeway_s < *nbf) {
    return Refuse("token_not_yet_valid", "token nbf is in the future");
  }
  if (iat.has_value() && now + policy.leeway_s < *iat) {
    return Refuse("token_not_yet_valid", "token iat is in the future");
  }
  token.exp = *exp;
  token.iat = iat.has_value() ? *iat : *nbf;
  return OkStatus();
}

// The SHA-256 of the whole compact token, as 32 raw bytes: the key of the verified-signature
// cache. The whole token, so that a changed header, payload or signature is a different entry.
Result<std::string> TokenDigest(std::string_view token) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  if (EVP_Digest(token.data(), token.size(), reinterpret_cast<unsigned char*>(digest.data()),
                 nullptr, EVP_sha256(), nullptr) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "SHA-256 of the token failed");
  }
  return digest;
}

}  // namespace

Result<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(const SigningKeyRing& keys,
                                                             const TokenRevocations& revocations,
                                                             TokenPolicy policy) {
  WK_RETURN_IF_ERROR(ValidateTokenPolicy(policy));
  return std::unique_ptr<TokenVerifier>(new TokenVerifier(keys, revocations, std::move(policy)));
}

Result<VerifiedToken> TokenVerifier::Verify(std::string_view token) const {
  WK_ASSIGN_OR_RETURN(CompactParts parts, Split(token));
  auto signature = Base64UrlDecode(parts.signature);
  if (!signature.ok()) return Malformed("signature is not unpadded base64url");

  std::string kid;
  WK_ASSIGN_OR_RETURN(std::shared_ptr<const P256PublicKey> key, KeyFor(parts.header, &kid));
  WK_ASSIGN_OR_RETURN(std::string digest, TokenDigest(token));
  if (!VerifiedBefore(digest, key.get())) {
    WK_ASSIGN_OR_RETURN(bool verified, key->VerifyEs256(AsBytes(parts.signing_input), *signature));
    if (!verified) return Refuse("token_signature", "signature does not verify");
    RememberVerified(std::move(digest), key);
  }

  // Only now is the payload trusted enough to parse.
  WK_ASSIGN_OR_RETURN(VerifiedToken verified_token, CheckClaims(parts.payload));
  verified_token.kid = std::move(kid);
  return verified_token;
}

bool TokenVerifier::VerifiedBefore(const std::string& digest, const P256PublicKey* key) const {
  std::shared_lock lock(verified_mutex_);
  auto found = verified_.find(digest);
  return found != verified_.end() && found->second.get() == key;
}

void TokenVerifier::RememberVerified(std::string digest,
                                     std::shared_ptr<const P256PublicKey> key) const {
  std::unique_lock lock(verified_mutex_);
  // Emptying at the bound keeps memory fixed; the tokens in use are verified again once each.
  if (verified_.size() >= kVerifiedSignatureCacheEntries) verified_.clear();
  verified_.insert_or_assign(std::move(digest), std::move(key));
}

Result<std::shared_ptr<const P256PublicKey>> TokenVerifier::KeyFor(std::string_view header_part,
                                                                   std::string* kid) const {
  WK_ASSIGN_OR_RETURN(Json header, DecodeObject(header_part));
  // Every signing key is ES256, so the header may only confirm that, never choose.
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != kEs256) {
    return Refuse("token_algorithm", "alg is not ES256");
  }
  auto typ = header.find("typ");
  if (typ == header.end() || !IsAccessTokenType(*typ)) {
    return Refuse("token_type", "typ is not at+jwt");
  }
  // We define no header extensions, so a critical one is one we cannot honour (RFC 7515
  // §4.1.11).
  if (header.contains("crit")) return Malformed("header has crit");

  auto kid_member = header.find("kid");
  if (kid_member == header.end() || !kid_member->is_string()) {
    return Refuse("token_unknown_key", "header has no kid");
  }
  *kid = kid_member->get<std::string>();
  std::shared_ptr<const P256PublicKey> key = keys_.VerificationKey(*kid);
  if (key == nullptr) return Refuse("token_unknown_key", "kid names no active or retiring key");
  return key;
}

Result<VerifiedToken> TokenVerifier::CheckClaims(std::string_view payload_part) const {
  WK_ASSIGN_OR_RETURN(Json claims, DecodeObject(payload_part));
  VerifiedToken token;
  WK_ASSIGN_OR_RETURN(std::string issuer, RequiredString(claims, "iss", "iss is missing"));
  WK_ASSIGN_OR_RETURN(token.sub, RequiredString(claims, "sub", "sub is missing"));
  WK_ASSIGN_OR_RETURN(token.aud, AudienceClaim(claims));
  WK_ASSIGN_OR_RETURN(token.jti, RequiredString(claims, "jti", "jti is missing"));
  if (!ValidateJti(token.jti).ok()) return Malformed("jti is not 16 bytes of base64url");
  WK_ASSIGN_OR_RETURN(token.auth_method, AuthMethodClaim(claims));
  WK_ASSIGN_OR_RETURN(token.scope, ScopeClaim(claims));

  if (issuer != policy_.issuer) return Refuse("token_issuer", "iss is not this server");
  if (std::find(token.aud.begin(), token.aud.end(), policy_.audience) == token.aud.end()) {
    return Refuse("token_audience", "aud does not name this server");
  }
  WK_RETURN_IF_ERROR(CheckTimes(claims, policy_, token));
  if (revocations_.IsRevoked(token.jti)) return Refuse("token_revoked", "token was revoked");
  return token;
}

}  // namespace weftkit::auth
