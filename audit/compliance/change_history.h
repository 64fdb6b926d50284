// Change history of keys and policies over a period, as evidence for auditors
// (docs/compliance.md).
//
// Two sources are merged:
//   - the key store, which records when each key and version was created and when a version
//     was destroyed, including changes that no request made (automatic rotation, destruction
//     once the waiting period is over);
//   - the audit log, which records who asked for each change: successful key.create,
//     key.rotate, key.manage_versions (disable, enable, minimum decryption version, rotation
//     period), key.destroy (schedule or cancel destruction) and policy.publish.
// TODO(#4): policy versions come only from policy.publish audit entries until the policy
// store's version history is read here too.
// A key-store fact and the audit entry of the request that caused it become one event naming
// both sources; an audit entry is matched to a key-store fact when both name the same key and
// version (or, without a version in the entry, lie within kMatchWindowMs of each other).
//
// Thread safety: pure functions; reads go through the reader.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/compliance/audit_scan.h"
#include "kms/key_model.h"

namespace weftkit::audit::compliance {

inline constexpr std::int64_t kMatchWindowMs = 5'000;

struct ChangeEvent {
  std::int64_t time_ms = 0;
  std::string object;  // "key/orders", "policy/cluster-a"
  // key_created, key_rotated, version_destroyed (key store); or the audit action for changes
  // only the audit log records (key.manage_versions, key.destroy, policy.publish, ...).
  std::string event;
  std::optional<std::uint64_t> version;  // key version or policy version
  std::string principal;                 // "" when no request made the change
  std::string source;                    // "key_store", "audit_log" or "key_store+audit_log"
  std::optional<std::uint64_t> audit_index;
  std::string request_id;
};

// Every change to keys and policies with a time in [from_ms, to_ms], sorted by time.
// Fails with the reader's errors or ScanPeriod's.
Result<std::vector<ChangeEvent>> BuildChangeHistory(const std::vector<kms::MasterKey>& keys,
                                                    const AuditReader& reader, std::int64_t from_ms,
                                                    std::int64_t to_ms,
                                                    const ScanLimits& limits = {});

// {"events":[{"time","time_ms","object","event","version","principal","source","audit_index",
//   "request_id"}]} with null for absent numbers.
nlohmann::json ChangeHistoryToJson(const std::vector<ChangeEvent>& events);
nlohmann::json ChangeEventToJson(const ChangeEvent& event);

// The same columns as CSV with a header row; absent values are empty cells.
std::string ChangeHistoryToCsv(const std::vector<ChangeEvent>& events);

}  // namespace weftkit::audit::compliance
