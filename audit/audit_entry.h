// One entry of the tamper-evident audit log (docs/audit.md).
//
// This header is the contract between the audit log's core (store, Merkle tree, checkpoints,
// the server's hook that records every operation) and its consumers (SIEM formats, streaming,
// compliance exports). An entry never holds key material, plaintext, tokens, passwords or
// PINs: only names, versions, identifiers and outcomes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weftkit::audit {

struct AuditEntry {
  std::uint64_t index = 0;   // position in the log from 0; also its Merkle leaf index
  std::int64_t time_ms = 0;  // Unix milliseconds when the operation completed
  std::string request_id;    // the server's request id, echoed in X-Request-Id
  std::string principal;     // empty when authentication failed or was not attempted
  std::string auth_method;   // "none", "mtls", "jwt", "scram"
  std::string peer;          // "ip:port"
  std::string action;        // e.g. "dek.unwrap", "key.rotate", "policy.publish", "auth.login"
  std::string resource;      // e.g. "key/orders", "policy/cluster-a", "principal/alice"
  std::string key_name;      // when the operation used a master key
  std::optional<std::uint32_t> key_version;
  std::optional<std::uint64_t> policy_version;
  std::string decision;       // "allow", "deny", or empty when no authorization was asked
  std::string rule;           // what decided, e.g. the role that granted or "default_deny"
  std::string outcome;        // "success" or "failure"
  int status = 0;             // the HTTP status sent
  std::string error_code;     // the stable problem code on failure, else empty
  std::string previous_hash;  // lower-case hex SHA-256 leaf hash of entry index-1 (empty at 0)
};

}  // namespace weftkit::audit
