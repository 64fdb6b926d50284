// A signed checkpoint of the audit log: "the log had `tree_size` entries and this Merkle root at
// this time", signed ES256 by a key held in the HSM.
//
// The signature covers these bytes (ASCII, each line ending in '\n'):
//
//   weftkit-audit-checkpoint/v1
//   <tree_size, decimal>
//   <root hash, 64 lower-case hex digits>
//   <time_ms, decimal>
//   <kid>
//
// and is carried as base64url (no padding) of r || s, 64 bytes, as JWS ES256 carries it. The
// JSON form is {"tree_size":N,"root_hash":"<hex>","time_ms":T,"kid":"<kid>",
// "signature":"<base64url>"}. Public keys are published as a JWK set (RFC 7517) under their
// RFC 7638 thumbprint as kid.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle_tree.h"
#include "auth/jwk.h"
#include "common/error.h"

namespace weftkit::audit {

struct Checkpoint {
  std::uint64_t tree_size = 0;
  Hash root{};
  std::int64_t time_ms = 0;
  std::string kid;
  std::vector<std::uint8_t> signature;  // r || s
};

// The bytes the signature covers (see above).
std::string CheckpointSigningInput(std::uint64_t tree_size, const Hash& root, std::int64_t time_ms,
                                   std::string_view kid);

nlohmann::json CheckpointToJson(const Checkpoint& checkpoint);

// Parses the JSON form. Fails with kInvalidArgument "audit_bad_checkpoint" on any missing,
// extra-typed or malformed member.
Result<Checkpoint> CheckpointFromJson(const nlohmann::json& json);

// Public keys by kid, parsed from a JWK set {"keys":[...]}. Only EC P-256 keys are accepted.
using CheckpointKeys =
    std::map<std::string, std::shared_ptr<const auth::P256PublicKey>, std::less<>>;

// Fails with kInvalidArgument "audit_bad_jwk_set" if the set or one of its keys is malformed,
// or a key's kid is not its RFC 7638 thumbprint.
Result<CheckpointKeys> CheckpointKeysFromJwkSet(const nlohmann::json& jwk_set);

// Whether `checkpoint`'s signature verifies under the key named by its kid. False when the kid
// is unknown; kInternal "openssl_error" only when OpenSSL itself fails.
Result<bool> VerifyCheckpointSignature(const Checkpoint& checkpoint, const CheckpointKeys& keys);

}  // namespace weftkit::audit
