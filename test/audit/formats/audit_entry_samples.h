// Audit entries for export tests: an ordinary one and one whose every string is hostile.
#pragma once

#include <string>

#include "audit/audit_entry.h"

namespace weftkit::audit::testing {

// A successful unwrap by an engine over IPv4.
inline AuditEntry OrdinaryEntry(std::uint64_t index = 7) {
  AuditEntry entry;
  entry.index = index;
  entry.time_ms = 1796322743123;  // 2026-12-03T18:32:23.123Z
  entry.request_id = "req-0001";
  entry.principal = "spiffe://weftkit.dev/engine/orders";
  entry.auth_method = "mtls";
  entry.peer = "192.0.2.10:53124";
  entry.action = "dek.unwrap";
  entry.resource = "key/orders";
  entry.key_name = "orders";
  entry.key_version = 3;
  entry.decision = "allow";
  entry.rule = "engine";
  entry.outcome = "success";
  entry.status = 200;
  entry.previous_hash = std::string(64, 'a');
  return entry;
}

// Every string field carries the characters the formats must escape or replace: backslashes,
// pipes, equals signs, CR and LF, tabs, carets, spaces before an "x=y" look-alike, non-ASCII
// text, and a trailing backslash.
inline std::string HostileText(const std::string& tag) {
  return tag + " a\\b|c=d\ne\rf\tg^h k=v \xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\x91 \\";
}

inline AuditEntry HostileEntry() {
  AuditEntry entry = OrdinaryEntry();
  entry.request_id = HostileText("rid");
  entry.principal = HostileText("who");
  entry.action = HostileText("act");
  entry.resource = HostileText("res");
  entry.key_name = HostileText("key");
  entry.decision = HostileText("dec");
  entry.rule = HostileText("rule");
  entry.outcome = HostileText("out");
  entry.error_code = HostileText("err");
  return entry;
}

}  // namespace weftkit::audit::testing
