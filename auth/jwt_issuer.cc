#include "auth/jwt_issuer.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "auth/jwk.h"
#include "common/base64.h"

namespace weftkit::auth {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kJtiBytes = 16;
constexpr std::size_t kMaxPrincipalBytes = 1024;

Error Invalid(const char* code, const char* detail) {
  return Error(ErrorKind::kInvalidArgument, code, detail);
}

Result<std::string> NewJti() {
  std::array<std::uint8_t, kJtiBytes> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "RAND_bytes failed");
  }
  return Base64UrlEncode(bytes);
}

Result<const char*> AuthMethodClaim(AuthMethod method) {
  // A token can only be obtained by proving an identity some other way; a token minted from a
  // token would let one stolen credential renew itself forever.
  if (method == AuthMethod::kMtls) return "mtls";
  if (method == AuthMethod::kScram) return "scram";
  return Invalid("invalid_auth_method", "tokens are issued to mTLS or SCRAM principals only");
}

Status CheckPrincipal(std::string_view principal) {
  if (principal.empty() || principal.size() > kMaxPrincipalBytes ||
      std::any_of(principal.begin(), principal.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Invalid("invalid_principal", "principal must be 1 to 1024 printable bytes");
  }
  return OkStatus();
}

// The JSON text of `value`, or "invalid_principal" when a string in it is not UTF-8 (the only
// way the JSON library fails to serialise what we build).
Result<std::string> Serialise(const Json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return Invalid("invalid_principal", "principal is not UTF-8");
  }
}

// BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature), assembled in secure memory.
SecretBytes Assemble(const std::string& signing_input, std::string signature_part) {
  SecretBytes token(signing_input.size() + 1 + signature_part.size());
  std::uint8_t* out = token.expose_mutable().data();
  std::memcpy(out, signing_input.data(), signing_input.size());
  out[signing_input.size()] = '.';
  std::memcpy(out + signing_input.size() + 1, signature_part.data(), signature_part.size());
  OPENSSL_cleanse(signature_part.data(), signature_part.size());
  return token;
}

}  // namespace

Result<std::unique_ptr<TokenIssuer>> TokenIssuer::Create(pkcs11::Hsm& hsm,
                                                         const SigningKeyRing& keys,
                                                         TokenPolicy policy) {
  WK_RETURN_IF_ERROR(ValidateTokenPolicy(policy));
  return std::unique_ptr<TokenIssuer>(new TokenIssuer(hsm, keys, std::move(policy)));
}

Result<std::string> TokenIssuer::CheckAudience(std::string_view audience) const {
  if (audience.empty() || audience == policy_.audience) return policy_.audience;
  const auto& extra = policy_.extra_audiences;
  if (std::find(extra.begin(), extra.end(), audience) != extra.end()) {
    return std::string(audience);
  }
  return Invalid("token_audience_not_allowed", "audience is not configured for tokens");
}

Result<IssuedToken> TokenIssuer::Issue(std::string_view principal, std::string_view audience,
                                       std::int64_t lifetime_s, AuthMethod method,
                                       TokenScope scope) const {
  WK_RETURN_IF_ERROR(CheckPrincipal(principal));
  WK_ASSIGN_OR_RETURN(std::string aud, CheckAudience(audience));
  WK_ASSIGN_OR_RETURN(const char* method_claim, AuthMethodClaim(method));
  if (lifetime_s < 1) return Invalid("invalid_lifetime", "lifetime must be at least 1 s");

  IssuedToken issued;
  WK_ASSIGN_OR_RETURN(issued.jti, NewJti());
  const ActiveSigningKey key = keys_.ActiveKey();
  issued.kid = key.kid;
  issued.iat = policy_.now();
  issued.exp = issued.iat + std::min(lifetime_s, policy_.max_lifetime_s);

  const Json header = {{"alg", kEs256}, {"typ", "at+jwt"}, {"kid", key.kid}};
  Json claims = {{"iss", policy_.issuer}, {"sub", principal},           {"aud", aud},
                 {"iat", issued.iat},     {"nbf", issued.iat},          {"exp", issued.exp},
                 {"jti", issued.jti},     {"auth_method", method_claim}};
  if (scope == TokenScope::kPasswordChange) claims["scope"] = kPasswordChangeScope;
  WK_ASSIGN_OR_RETURN(std::string header_json, Serialise(header));
  WK_ASSIGN_OR_RETURN(std::string claims_json, Serialise(claims));
  const std::string signing_input =
      Base64UrlEncode(AsBytes(header_json)) + "." + Base64UrlEncode(AsBytes(claims_json));

  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> signature,
                      hsm_.SignEcdsaSha256(key.hsm_label, AsBytes(signing_input)));
  if (signature.size() != kEs256SignatureBytes) {
    return Error(
        ErrorKind::kInternal, "hsm_bad_signature",
        "HSM returned an ES256 signature of " + std::to_string(signature.size()) + " bytes");
  }
  issued.access_token = Assemble(signing_input, Base64UrlEncode(signature));
  return issued;
}

}  // namespace weftkit::auth
