#include "audit/compliance/change_history.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <tuple>

#include "audit/compliance/csv_writer.h"
#include "common/time_util.h"

namespace weftkit::audit::compliance {
namespace {

// The rule of the entry kmsd writes when its maintenance task destroys a version.
constexpr std::string_view kDestructionRule = "maintenance:destruction_due";

// Audit actions that change keys or policies.
constexpr std::array<std::string_view, 5> kChangingActions = {
    "key.create", "key.rotate", "key.manage_versions", "key.destroy", "policy.publish"};

bool IsChange(const AuditEntry& entry) {
  return entry.outcome == "success" && std::find(kChangingActions.begin(), kChangingActions.end(),
                                                 entry.action) != kChangingActions.end();
}

bool InPeriod(std::int64_t time_ms, std::int64_t from_ms, std::int64_t to_ms) {
  return time_ms >= from_ms && time_ms <= to_ms;
}

// The facts the key store holds, before attribution.
std::vector<ChangeEvent> KeyStoreEvents(const std::vector<kms::MasterKey>& keys,
                                        std::int64_t from_ms, std::int64_t to_ms) {
  std::vector<ChangeEvent> events;
  auto add = [&](std::int64_t time_s, const std::string& key, const char* event,
                 std::optional<std::uint64_t> version) {
    std::int64_t time_ms = time_s * 1000;
    if (!InPeriod(time_ms, from_ms, to_ms)) return;
    events.push_back({time_ms, "key/" + key, event, version, "", "key_store", {}, ""});
  };
  for (const kms::MasterKey& key : keys) {
    for (const kms::KeyVersion& version : key.versions) {
      add(version.created_at, key.name, version.version == 1 ? "key_created" : "key_rotated",
          version.version);
      if (version.destroyed_at)
        add(*version.destroyed_at, key.name, "version_destroyed", version.version);
    }
  }
  return events;
}

// The facts the policy store holds, before attribution. The store already knows the author.
void AddPolicyStoreEvents(std::vector<PolicyChange> policies, std::int64_t from_ms,
                          std::int64_t to_ms, std::vector<ChangeEvent>& events) {
  // Versions published within one second share a time: keep them in version order.
  std::sort(policies.begin(), policies.end(), [](const auto& a, const auto& b) {
    return std::tie(a.scope, a.version) < std::tie(b.scope, b.version);
  });
  for (const PolicyChange& change : policies) {
    if (!InPeriod(change.time_ms, from_ms, to_ms)) continue;
    events.push_back({change.time_ms,
                      "policy/" + change.scope,
                      change.rolled_back_from ? "policy_rolled_back" : "policy_published",
                      change.version,
                      change.author,
                      "policy_store",
                      {},
                      ""});
  }
}

// The audit action of the entry that records a store's event.
std::string_view CausingAction(const std::string& event) {
  if (event == "key_created") return "key.create";
  if (event == "key_rotated") return "key.rotate";
  // A request only schedules a destruction; kmsd's maintenance task records the destruction.
  if (event == "version_destroyed") return "key.destroy";
  if (event == "policy_published" || event == "policy_rolled_back") return "policy.publish";
  return "";
}

bool Matches(const ChangeEvent& fact, const AuditEntry& entry) {
  if (entry.action != CausingAction(fact.event)) return false;
  if (fact.event == "version_destroyed" && entry.rule != kDestructionRule) return false;
  if (fact.source == "policy_store") {
    return entry.resource == fact.object && entry.policy_version == fact.version;
  }
  // The entry names the key in its resource; key_name is set only when a key was used.
  bool same_key = entry.resource == fact.object || "key/" + entry.key_name == fact.object;
  if (!same_key) return false;
  if (entry.key_version) return *entry.key_version == fact.version;
  return std::llabs(entry.time_ms - fact.time_ms) <= kMatchWindowMs;
}

ChangeEvent AuditEvent(const AuditEntry& entry) {
  std::optional<std::uint64_t> version = entry.key_version;
  if (entry.policy_version) version = entry.policy_version;
  return {entry.time_ms,   entry.resource, entry.action, version,
          entry.principal, "audit_log",    entry.index,  entry.request_id};
}

std::string OptionalText(const std::optional<std::uint64_t>& value) {
  return value ? std::to_string(*value) : "";
}

std::string TimeText(std::int64_t time_ms) {
  return FormatRfc3339Millis(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(time_ms)));
}

}  // namespace

Result<std::vector<ChangeEvent>> BuildChangeHistory(const std::vector<kms::MasterKey>& keys,
                                                    const std::vector<PolicyChange>& policies,
                                                    const AuditReader& reader, std::int64_t from_ms,
                                                    std::int64_t to_ms, const ScanLimits& limits) {
  std::vector<ChangeEvent> events = KeyStoreEvents(keys, from_ms, to_ms);
  AddPolicyStoreEvents(policies, from_ms, to_ms, events);
  std::vector<AuditEntry> changes;
  WK_RETURN_IF_ERROR(ScanPeriod(
      reader, from_ms - kMatchWindowMs, to_ms + kMatchWindowMs,
      [&changes](const AuditEntry& entry) {
        if (IsChange(entry)) changes.push_back(entry);
      },
      limits));

  std::vector<bool> attributed(changes.size(), false);
  for (ChangeEvent& fact : events) {
    for (std::size_t i = 0; i < changes.size(); ++i) {
      if (attributed[i] || !Matches(fact, changes[i])) continue;
      attributed[i] = true;
      fact.principal = changes[i].principal;
      fact.source += "+audit_log";
      fact.audit_index = changes[i].index;
      fact.request_id = changes[i].request_id;
      break;
    }
  }
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (!attributed[i] && InPeriod(changes[i].time_ms, from_ms, to_ms)) {
      events.push_back(AuditEvent(changes[i]));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  return events;
}

nlohmann::json ChangeEventToJson(const ChangeEvent& event) {
  auto optional = [](const std::optional<std::uint64_t>& value) -> nlohmann::json {
    if (!value) return nullptr;
    return *value;
  };
  return {{"time", TimeText(event.time_ms)},
          {"time_ms", event.time_ms},
          {"object", event.object},
          {"event", event.event},
          {"version", optional(event.version)},
          {"principal", event.principal},
          {"source", event.source},
          {"audit_index", optional(event.audit_index)},
          {"request_id", event.request_id}};
}

nlohmann::json ChangeHistoryToJson(const std::vector<ChangeEvent>& events) {
  nlohmann::json array = nlohmann::json::array();
  for (const ChangeEvent& event : events) array.push_back(ChangeEventToJson(event));
  return {{"events", array}};
}

std::string ChangeHistoryToCsv(const std::vector<ChangeEvent>& events) {
  CsvWriter csv;
  csv.Row(
      {"time", "object", "event", "version", "principal", "source", "audit_index", "request_id"});
  for (const ChangeEvent& event : events) {
    csv.Row({TimeText(event.time_ms), event.object, event.event, OptionalText(event.version),
             event.principal, event.source, OptionalText(event.audit_index), event.request_id});
  }
  return csv.Take();
}

}  // namespace weftkit::audit::compliance
