// The JSON form of an audit entry, as GET /v1/audit/entries serves it and the verifier reads
// it back: every AuditEntry field under its own name, absent versions as null.
//
//   {"index":0,"time_ms":1780000000000,"request_id":"...","principal":"...",
//    "auth_method":"mtls","peer":"10.0.0.1:5000","action":"dek.unwrap","resource":"key/orders",
//    "key_name":"orders","key_version":3,"policy_version":null,"decision":"allow",
//    "rule":"...","outcome":"success","status":200,"error_code":"","previous_hash":"..."}
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "audit/audit_entry.h"
#include "common/error.h"

namespace weftkit::audit {

nlohmann::ordered_json EntryToJson(const AuditEntry& entry);

// Parses the form above exactly: every member present with its type. Fails with
// kInvalidArgument "audit_bad_entry_json" otherwise.
Result<AuditEntry> EntryFromJson(const nlohmann::json& json);

}  // namespace weftkit::audit
