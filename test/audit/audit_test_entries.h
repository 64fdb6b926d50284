// Entries for audit tests: realistic field values that differ per entry.
#pragma once

#include <string>

#include "audit/audit_entry.h"

namespace weftkit::audit::test_entries {

inline AuditEntry SampleEntry(int n) {
  AuditEntry entry;
  entry.time_ms = 1'780'000'000'000 + n;
  entry.request_id = "req-" + std::to_string(n);
  entry.principal = n % 3 == 0 ? "" : "spiffe://weftkit.dev/engine/orders";
  entry.auth_method = n % 3 == 0 ? "none" : "mtls";
  entry.peer = "10.0.0." + std::to_string(n % 250) + ":443";
  entry.action = n % 2 == 0 ? "dek.unwrap" : "key.rotate";
  entry.resource = "key/orders";
  entry.key_name = "orders";
  if (n % 2 == 0) entry.key_version = static_cast<std::uint32_t>(n);
  if (n % 5 == 0) entry.policy_version = static_cast<std::uint64_t>(n) * 7;
  entry.decision = n % 3 == 0 ? "deny" : "allow";
  entry.rule = n % 3 == 0 ? "default deny" : "allow role=engine permission#0";
  entry.outcome = n % 3 == 0 ? "failure" : "success";
  entry.status = n % 3 == 0 ? 403 : 200;
  entry.error_code = n % 3 == 0 ? "forbidden" : "";
  return entry;
}

}  // namespace weftkit::audit::test_entries
