#include "audit/canonical_entry.h"

#include <array>
#include <string>

namespace weftkit::audit {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'W', 'K', 'A', '1'};

void PutUint(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

void PutText(std::vector<std::uint8_t>& out, const std::string& text) {
  PutUint(out, text.size(), 4);
  out.insert(out.end(), text.begin(), text.end());
}

Error BadEntry(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_entry", detail);
}

// The raw previous hash: zeros for entry 0, which must not claim one.
Result<Hash> PreviousHash(const AuditEntry& entry) {
  if (entry.index == 0) {
    if (!entry.previous_hash.empty()) return BadEntry("entry 0 has a previous hash");
    return Hash{};
  }
  Result<Hash> previous = HashFromHex(entry.previous_hash);
  if (!previous.ok()) {
    return BadEntry("entry " + std::to_string(entry.index) + " has a malformed previous hash");
  }
  return previous;
}

}  // namespace

Result<std::vector<std::uint8_t>> CanonicalBytes(const AuditEntry& entry) {
  WK_ASSIGN_OR_RETURN(Hash previous, PreviousHash(entry));
  if (entry.status < 0) return BadEntry("negative status");

  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  PutUint(out, entry.index, 8);
  PutUint(out, static_cast<std::uint64_t>(entry.time_ms), 8);
  PutUint(out, static_cast<std::uint64_t>(entry.status), 4);
  out.insert(out.end(), previous.begin(), previous.end());

  for (const std::string* text :
       {&entry.request_id, &entry.principal, &entry.auth_method, &entry.peer, &entry.action,
        &entry.resource, &entry.key_name, &entry.decision, &entry.rule, &entry.outcome,
        &entry.error_code}) {
    PutText(out, *text);
  }

  out.push_back(entry.key_version.has_value() ? 1 : 0);
  if (entry.key_version) PutUint(out, *entry.key_version, 4);
  out.push_back(entry.policy_version.has_value() ? 1 : 0);
  if (entry.policy_version) PutUint(out, *entry.policy_version, 8);
  return out;
}

Result<Hash> EntryLeafHash(const AuditEntry& entry) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, CanonicalBytes(entry));
  return LeafHash(bytes);
}

}  // namespace weftkit::audit
