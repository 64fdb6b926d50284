// JSON lines encoding of audit entries: one JSON object per line, the complete and exact form
// of an entry (CEF and LEEF drop nothing a SIEM needs but rename and escape fields).
//
// Each object has exactly these members, always in this order, always present:
//
//   index           number   position in the log from 0
//   time            string   RFC 3339 UTC with milliseconds, "2026-12-03T18:52:23.123Z"
//   time_ms         number   the same instant in Unix milliseconds
//   request_id      string
//   principal       string   "" when authentication failed or was not attempted
//   auth_method     string   "none", "mtls", "jwt", "scram"
//   peer            string   "ip:port" or "[ipv6]:port"
//   action          string   e.g. "dek.unwrap"
//   resource        string   e.g. "key/orders"
//   key_name        string   "" when no master key was used
//   key_version     number or null
//   policy_version  number or null
//   decision        string   "allow", "deny" or ""
//   rule            string
//   outcome         string   "success" or "failure"
//   status          number   the HTTP status sent
//   error_code      string   "" on success
//   previous_hash   string   lower-case hex SHA-256 leaf hash of the entry before ("" at 0)
//
// Strings are UTF-8; a byte sequence that is not well-formed UTF-8 is written as U+FFFD (the
// log's own verification works on the stored entries, not on exports). Control characters use
// JSON's escapes, so a line never holds a raw line break.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "audit/audit_entry.h"

namespace weftkit::audit::formats {

// The object described above.
nlohmann::ordered_json AuditEntryToJson(const AuditEntry& entry);

// That object serialised on one line, without the line terminator.
std::string EncodeJsonLine(const AuditEntry& entry);

}  // namespace weftkit::audit::formats
