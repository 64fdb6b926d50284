#include "audit/canonical_entry.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>

#include "audit/byte_reader.h"

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

Error BadCanonical(const std::string& detail) {
  return Error(ErrorKind::kDataLoss, "audit_bad_canonical_entry", detail);
}

// Reads the canonical form front to back; every read checks the bytes left first.
class CanonicalReader : public ByteReader {
 public:
  using ByteReader::ByteReader;

  bool Raw(std::span<std::uint8_t> out) {
    std::span<const std::uint8_t> bytes;
    if (!Take(out.size(), bytes)) return false;
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
  }

  bool Text(std::string& out) {
    std::uint64_t length = 0;
    std::span<const std::uint8_t> bytes;
    if (!Uint(4, length) || length > left() || !Take(static_cast<std::size_t>(length), bytes)) {
      return false;
    }
    out.assign(bytes.begin(), bytes.end());
    return true;
  }

  // A presence flag (0 or 1) and, when 1, an unsigned value of `bytes` bytes.
  bool Optional(int bytes, std::optional<std::uint64_t>& out) {
    std::uint64_t flag = 0;
    if (!Uint(1, flag) || flag > 1) return false;
    if (flag == 0) return true;
    std::uint64_t value = 0;
    if (!Uint(bytes, value)) return false;
    out = value;
    return true;
  }

  bool AtEnd() const { return left() == 0; }
};

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

Result<AuditEntry> ParseCanonicalBytes(std::span<const std::uint8_t> bytes) {
  CanonicalReader in(bytes);
  std::array<std::uint8_t, 4> magic{};
  if (!in.Raw(magic) || magic != kMagic) return BadCanonical("not a WKA1 canonical entry");

  AuditEntry entry;
  std::uint64_t time = 0;
  std::uint64_t status = 0;
  Hash previous{};
  if (!in.Uint(8, entry.index) || !in.Uint(8, time) || !in.Uint(4, status) || !in.Raw(previous)) {
    return BadCanonical("the fixed fields are truncated");
  }
  entry.time_ms = static_cast<std::int64_t>(time);
  if (status > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    return BadCanonical("the status does not fit");
  }
  entry.status = static_cast<int>(status);
  if (entry.index == 0 && previous != Hash{}) return BadCanonical("entry 0 has a previous hash");
  if (entry.index != 0) entry.previous_hash = HashToHex(previous);

  for (std::string* text : {&entry.request_id, &entry.principal, &entry.auth_method, &entry.peer,
                            &entry.action, &entry.resource, &entry.key_name, &entry.decision,
                            &entry.rule, &entry.outcome, &entry.error_code}) {
    if (!in.Text(*text)) return BadCanonical("a text field runs past the end");
  }
  std::optional<std::uint64_t> key_version;
  std::optional<std::uint64_t> policy_version;
  if (!in.Optional(4, key_version) || !in.Optional(8, policy_version)) {
    return BadCanonical("a version field is malformed");
  }
  if (!in.AtEnd()) return BadCanonical("bytes follow the last field");
  if (key_version) entry.key_version = static_cast<std::uint32_t>(*key_version);
  entry.policy_version = policy_version;
  return entry;
}

}  // namespace weftkit::audit
