// Change history of keys and policies over a period, as evidence for auditors
// (docs/compliance.md).
//
// Two sources are merged:
//   - the key store, which records when each key and version was created and when a version
//     was destroyed, including changes that no request made (automatic rotation, destruction
//     once the waiting period is over);
//   - the policy store, which records every published version of every scope with its author,
//     time and, for a rollback, the version it republished;
//   - the audit log, which records who asked for each change: successful key.create,
//     key.rotate, key.manage_versions (disable, enable, minimum decryption version, rotation
//     period), key.destroy (schedule or cancel destruction) and policy.publish.
// A store's fact and the audit entry of the request that caused it become one event naming
// both sources. An audit entry is matched to a key-store fact when both name the same key and
// version (or, without a version in the entry, lie within kMatchWindowMs of each other), and to
// a policy-store fact when both name the same scope and policy version.
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

// One published version of a policy scope, as the policy store records it. The audit library
// does not depend on the policy store; kmsd converts its versions into these.
struct PolicyChange {
  std::string scope;
  std::uint64_t version = 0;
  std::int64_t time_ms = 0;
  std::string author;                             // the principal that published it
  std::optional<std::uint64_t> rolled_back_from;  // set when it republished an older version
};

struct ChangeEvent {
  std::int64_t time_ms = 0;
  std::string object;  // "key/orders", "policy/cluster-a"
  // key_created, key_rotated, version_destroyed (key store); policy_published,
  // policy_rolled_back (policy store); or the audit action for changes only the audit log
  // records (key.manage_versions, key.destroy, ...).
  std::string event;
  std::optional<std::uint64_t> version;  // key version or policy version
  std::string principal;                 // "" when no request made the change
  // "key_store", "policy_store", "audit_log", "key_store+audit_log" or "policy_store+audit_log"
  std::string source;
  std::optional<std::uint64_t> audit_index;
  std::string request_id;
};

// Every change to keys and policies with a time in [from_ms, to_ms], sorted by time.
// Fails with the reader's errors or ScanPeriod's.
Result<std::vector<ChangeEvent>> BuildChangeHistory(const std::vector<kms::MasterKey>& keys,
                                                    const std::vector<PolicyChange>& policies,
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
