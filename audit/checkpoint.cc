#include "audit/checkpoint.h"

#include <array>

#include "common/base64.h"

namespace weftkit::audit {
namespace {

// The DER SubjectPublicKeyInfo header of an uncompressed P-256 point: SEQUENCE { SEQUENCE {
// id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 || x || y } }. Followed by the 64 bytes.
constexpr std::array<std::uint8_t, 27> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

Error BadCheckpoint(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_checkpoint", detail);
}

Error BadJwkSet(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_jwk_set", detail);
}

// The string member `name` of `object`, or "" if it is absent or not a string.
std::string StringMember(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<auth::P256PublicKey> KeyFromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || StringMember(jwk, "kty") != "EC" || StringMember(jwk, "crv") != "P-256") {
    return BadJwkSet("a key is not an EC P-256 JWK");
  }
  auto x = Base64UrlDecode(StringMember(jwk, "x"));
  auto y = Base64UrlDecode(StringMember(jwk, "y"));
  if (!x.ok() || !y.ok() || x->size() != 32 || y->size() != 32) {
    return BadJwkSet("a key's coordinates are not 32 bytes of base64url");
  }
  std::vector<std::uint8_t> der(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end());
  der.insert(der.end(), x->begin(), x->end());
  der.insert(der.end(), y->begin(), y->end());
  Result<auth::P256PublicKey> key = auth::P256PublicKey::FromSpkiDer(der);
  if (!key.ok()) return BadJwkSet("a key is not a point on P-256");
  return key;
}

}  // namespace

std::string CheckpointSigningInput(std::uint64_t tree_size, const Hash& root, std::int64_t time_ms,
                                   std::string_view kid) {
  std::string input = "weftkit-audit-checkpoint/v1\n";
  input += std::to_string(tree_size) + "\n";
  input += HashToHex(root) + "\n";
  input += std::to_string(time_ms) + "\n";
  input += std::string(kid) + "\n";
  return input;
}

nlohmann::json CheckpointToJson(const Checkpoint& checkpoint) {
  return {{"tree_size", checkpoint.tree_size},
          {"root_hash", HashToHex(checkpoint.root)},
          {"time_ms", checkpoint.time_ms},
          {"kid", checkpoint.kid},
          {"signature", Base64UrlEncode(checkpoint.signature)}};
}

Result<Checkpoint> CheckpointFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return BadCheckpoint("a checkpoint is a JSON object");
  auto member = [&](const char* name) -> const nlohmann::json* {
    auto it = json.find(name);
    return it == json.end() ? nullptr : &*it;
  };
  const nlohmann::json* size = member("tree_size");
  const nlohmann::json* root = member("root_hash");
  const nlohmann::json* time = member("time_ms");
  const nlohmann::json* kid = member("kid");
  const nlohmann::json* signature = member("signature");
  if (!size || !size->is_number_unsigned() || !root || !root->is_string() || !time ||
      !time->is_number_integer() || !kid || !kid->is_string() || !signature ||
      !signature->is_string()) {
    return BadCheckpoint("missing or mistyped member");
  }
  Checkpoint checkpoint;
  checkpoint.tree_size = size->get<std::uint64_t>();
  Result<Hash> root_hash = HashFromHex(root->get<std::string>());
  if (!root_hash.ok()) return BadCheckpoint("root_hash is not 64 hex digits");
  checkpoint.root = *root_hash;
  checkpoint.time_ms = time->get<std::int64_t>();
  checkpoint.kid = kid->get<std::string>();
  auto signature_bytes = Base64UrlDecode(signature->get<std::string>());
  if (!signature_bytes.ok() || signature_bytes->size() != auth::kEs256SignatureBytes) {
    return BadCheckpoint("signature is not 64 bytes of base64url");
  }
  checkpoint.signature = std::move(signature_bytes).value();
  return checkpoint;
}

Result<CheckpointKeys> CheckpointKeysFromJwkSet(const nlohmann::json& jwk_set) {
  if (!jwk_set.is_object() || !jwk_set.contains("keys") || !jwk_set["keys"].is_array()) {
    return BadJwkSet("a JWK set is {\"keys\":[...]}");
  }
  CheckpointKeys keys;
  for (const nlohmann::json& jwk : jwk_set["keys"]) {
    WK_ASSIGN_OR_RETURN(auth::P256PublicKey key, KeyFromJwk(jwk));
    std::string kid = StringMember(jwk, "kid");
    if (kid != key.Thumbprint()) return BadJwkSet("a key's kid is not its thumbprint");
    keys.emplace(kid, std::make_shared<const auth::P256PublicKey>(std::move(key)));
  }
  return keys;
}

Result<bool> VerifyCheckpointSignature(const Checkpoint& checkpoint, const CheckpointKeys& keys) {
  auto key = keys.find(checkpoint.kid);
  if (key == keys.end()) return false;
  std::string input = CheckpointSigningInput(checkpoint.tree_size, checkpoint.root,
                                             checkpoint.time_ms, checkpoint.kid);
  return key->second->VerifyEs256(AsBytes(input), checkpoint.signature);
}

}  // namespace weftkit::audit
