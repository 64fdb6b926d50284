// The canonical bytes of an audit entry: what its Merkle leaf hash is computed over.
//
// A length-prefixed binary form, so that no two different entries share their bytes and no
// escaping rules are needed (docs/audit.md has the same table):
//
//   offset  size  field
//   0       4     magic "WKA1" (format version 1)
//   4       8     index, unsigned, big-endian
//   12      8     time_ms, signed two's complement, big-endian
//   20      4     status, unsigned, big-endian
//   24      32    previous entry's leaf hash (32 zero bytes for entry 0)
//   56      ...   eleven text fields, each a 4-byte big-endian byte length then its UTF-8 bytes,
//                 in this order: request_id, principal, auth_method, peer, action, resource,
//                 key_name, decision, rule, outcome, error_code
//   ...     1+4   key_version: 0x00, or 0x01 then the version (4 bytes, big-endian)
//   ...     1+8   policy_version: 0x00, or 0x01 then the version (8 bytes, big-endian)
//
// An entry's leaf hash is RFC 6962's SHA-256(0x00 || canonical bytes). Because the bytes hold
// the previous entry's leaf hash, the entries also form a hash chain: changing an entry changes
// its leaf hash and breaks the link the next entry holds.
//
// Thread safety: pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "audit/audit_entry.h"
#include "audit/merkle_tree.h"
#include "common/error.h"

namespace weftkit::audit {

// The canonical bytes of `entry`. Fails with kInvalidArgument "audit_bad_entry" if
// previous_hash is not empty for entry 0 and 64 hex digits for every other entry, or if
// status is negative.
Result<std::vector<std::uint8_t>> CanonicalBytes(const AuditEntry& entry);

// LeafHash(CanonicalBytes(entry)), with CanonicalBytes' errors.
Result<Hash> EntryLeafHash(const AuditEntry& entry);

// The entry whose canonical bytes are `bytes` (archives store entries in this form). Only bytes
// that CanonicalBytes would produce are accepted: a wrong magic, a length running past the end,
// a presence flag other than 0 or 1, trailing bytes, or a non-zero previous hash at index 0
// fail with kDataLoss "audit_bad_canonical_entry".
Result<AuditEntry> ParseCanonicalBytes(std::span<const std::uint8_t> bytes);

}  // namespace weftkit::audit
