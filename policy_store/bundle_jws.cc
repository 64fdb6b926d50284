#include "policy_store/bundle_jws.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "common/base64.h"

namespace weftkit::policy_store {
namespace {

Error Malformed(const std::string& why) {
  return Error(ErrorKind::kDataLoss, "bundle_signature_malformed", why);
}

std::string Encode(const nlohmann::ordered_json& json) {
  return Base64UrlEncode(AsBytes(json.dump()));
}

// Decodes one base64url part into a JSON object, or fails naming the part.
Result<nlohmann::json> DecodeObject(std::string_view part, const char* name) {
  Result<std::vector<std::uint8_t>> bytes = Base64UrlDecode(part);
  if (!bytes.ok()) return Malformed(std::string(name) + " is not base64url");
  nlohmann::json json = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!json.is_object()) return Malformed(std::string(name) + " is not a JSON object");
  return json;
}

bool IsString(const nlohmann::json& object, const char* field) {
  return object.contains(field) && object[field].is_string();
}

bool IsInteger(const nlohmann::json& object, const char* field) {
  return object.contains(field) && object[field].is_number_integer();
}

Status CheckHeader(const nlohmann::json& header) {
  if (header.size() != 3 || !IsString(header, "alg") || !IsString(header, "kid") ||
      !IsString(header, "typ")) {
    return Malformed("the header must hold exactly alg, kid and typ");
  }
  if (header["alg"] != "ES256") return Malformed("alg must be ES256");
  if (header["typ"] != kBundleJwsType) return Malformed("typ must be the bundle type");
  return OkStatus();
}

Result<BundleClaims> ReadClaims(const nlohmann::json& payload) {
  if (payload.size() != 4 || !IsString(payload, "scope") || !IsInteger(payload, "version") ||
      !IsString(payload, "content_hash") || !IsInteger(payload, "published_at")) {
    return Malformed("the payload must hold exactly scope, version, content_hash, published_at");
  }
  return BundleClaims{payload["scope"].get<std::string>(), payload["version"].get<std::int64_t>(),
                      payload["content_hash"].get<std::string>(),
                      payload["published_at"].get<std::int64_t>()};
}

}  // namespace

std::string BundleSigningInput(std::string_view kid, const BundleClaims& claims) {
  nlohmann::ordered_json header = {{"alg", "ES256"}, {"kid", kid}, {"typ", kBundleJwsType}};
  nlohmann::ordered_json payload = {{"scope", claims.scope},
                                    {"version", claims.version},
                                    {"content_hash", claims.content_hash},
                                    {"published_at", claims.published_at}};
  return Encode(header) + "." + Encode(payload);
}

Result<BundleJwsParts> ParseBundleJws(std::string_view jws) {
  std::size_t first = jws.find('.');
  std::size_t second = first == std::string_view::npos ? first : jws.find('.', first + 1);
  if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos) {
    return Malformed("a compact JWS has exactly three parts");
  }
  WK_ASSIGN_OR_RETURN(nlohmann::json header, DecodeObject(jws.substr(0, first), "header"));
  WK_RETURN_IF_ERROR(CheckHeader(header));
  WK_ASSIGN_OR_RETURN(nlohmann::json payload,
                      DecodeObject(jws.substr(first + 1, second - first - 1), "payload"));
  WK_ASSIGN_OR_RETURN(BundleClaims claims, ReadClaims(payload));
  Result<std::vector<std::uint8_t>> signature = Base64UrlDecode(jws.substr(second + 1));
  if (!signature.ok()) return Malformed("the signature is not base64url");

  BundleJwsParts parts;
  parts.kid = header["kid"].get<std::string>();
  parts.signing_input = std::string(jws.substr(0, second));
  parts.signature.assign(signature->begin(), signature->end());
  parts.claims = std::move(claims);
  return parts;
}

}  // namespace weftkit::policy_store
