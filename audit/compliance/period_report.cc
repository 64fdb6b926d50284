#include "audit/compliance/period_report.h"

#include <algorithm>
#include <chrono>

#include "audit/compliance/csv_writer.h"
#include "audit/formats/json_lines_encoder.h"
#include "common/time_util.h"

namespace weftkit::audit::compliance {
namespace {

bool IsFailedAuthentication(const AuditEntry& entry) {
  return (entry.action.starts_with("auth.") && entry.outcome == "failure") || entry.status == 401;
}

std::vector<OverdueRotation> OverdueRotations(const std::vector<kms::MasterKey>& keys,
                                              std::int64_t reference_s) {
  std::vector<OverdueRotation> overdue;
  for (const kms::MasterKey& key : keys) {
    if (!key.rotation_period || *key.rotation_period <= 0) continue;
    std::int64_t last = key.rotated_at.value_or(key.created_at);
    std::int64_t due = last + *key.rotation_period;
    if (due < reference_s) {
      overdue.push_back({key.name, *key.rotation_period, last, due, reference_s - due});
    }
  }
  return overdue;
}

std::string TimeText(std::int64_t time_ms) {
  return FormatRfc3339Millis(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(time_ms)));
}

nlohmann::json EntriesToJson(const std::vector<AuditEntry>& entries) {
  nlohmann::json array = nlohmann::json::array();
  // The JSON lines form of each entry (members then sort by name in this document).
  for (const AuditEntry& entry : entries) {
    array.push_back(nlohmann::json::parse(formats::EncodeJsonLine(entry)));
  }
  return array;
}

nlohmann::json EventsToJson(const std::vector<ChangeEvent>& events) {
  return ChangeHistoryToJson(events)["events"];
}

nlohmann::json OverdueToJson(const std::vector<OverdueRotation>& overdue) {
  nlohmann::json array = nlohmann::json::array();
  for (const OverdueRotation& item : overdue) {
    array.push_back({{"key", item.key},
                     {"rotation_period_s", item.rotation_period_s},
                     {"last_rotation", FormatRfc3339(item.last_rotation_s)},
                     {"due_at", FormatRfc3339(item.due_at_s)},
                     {"overdue_by_s", item.overdue_by_s}});
  }
  return array;
}

std::string OptionalText(const auto& value) { return value ? std::to_string(*value) : ""; }

void EventRows(CsvWriter& csv, const char* category, const std::vector<ChangeEvent>& events) {
  for (const ChangeEvent& event : events) {
    csv.Row({category, TimeText(event.time_ms), event.object, OptionalText(event.version),
             event.principal, event.event, "", OptionalText(event.audit_index), event.request_id,
             event.source});
  }
}

void EntryRows(CsvWriter& csv, const char* category, const std::vector<AuditEntry>& entries) {
  for (const AuditEntry& entry : entries) {
    csv.Row({category, TimeText(entry.time_ms), entry.resource, OptionalText(entry.key_version),
             entry.principal, entry.action, std::to_string(entry.status),
             std::to_string(entry.index), entry.request_id, entry.error_code});
  }
}

}  // namespace

Result<PeriodReport> BuildPeriodReport(const std::vector<kms::MasterKey>& keys,
                                       const AuditReader& reader, std::int64_t from_ms,
                                       std::int64_t to_ms, std::int64_t now_ms,
                                       const ScanLimits& limits) {
  PeriodReport report;
  report.from_ms = from_ms;
  report.to_ms = to_ms;
  report.reference_ms = std::min(to_ms, now_ms);

  WK_ASSIGN_OR_RETURN(std::vector<ChangeEvent> changes,
                      BuildChangeHistory(keys, {}, reader, from_ms, to_ms, limits));
  for (ChangeEvent& event : changes) {
    if (event.event == "key_rotated") report.rotations.push_back(event);
    if (event.event == "version_destroyed") report.destroyed_versions.push_back(event);
  }
  report.overdue_rotations = OverdueRotations(keys, report.reference_ms / 1000);

  WK_RETURN_IF_ERROR(ScanPeriod(
      reader, from_ms, to_ms,
      [&report](const AuditEntry& entry) {
        if (IsFailedAuthentication(entry)) report.failed_authentications.push_back(entry);
        if (entry.decision == "deny") report.denied_operations.push_back(entry);
      },
      limits));
  return report;
}

nlohmann::json PeriodReportToJson(const PeriodReport& report) {
  return {{"period",
           {{"from", TimeText(report.from_ms)},
            {"to", TimeText(report.to_ms)},
            {"reference_time", TimeText(report.reference_ms)}}},
          {"counts",
           {{"rotations", report.rotations.size()},
            {"overdue_rotations", report.overdue_rotations.size()},
            {"failed_authentications", report.failed_authentications.size()},
            {"denied_operations", report.denied_operations.size()},
            {"destroyed_versions", report.destroyed_versions.size()}}},
          {"rotations", EventsToJson(report.rotations)},
          {"overdue_rotations", OverdueToJson(report.overdue_rotations)},
          {"failed_authentications", EntriesToJson(report.failed_authentications)},
          {"denied_operations", EntriesToJson(report.denied_operations)},
          {"destroyed_versions", EventsToJson(report.destroyed_versions)}};
}

std::string PeriodReportToCsv(const PeriodReport& report) {
  CsvWriter csv;
  csv.Row({"category", "time", "object", "version", "principal", "action", "status", "audit_index",
           "request_id", "detail"});
  const std::pair<const char*, std::size_t> counts[] = {
      {"rotations", report.rotations.size()},
      {"overdue_rotations", report.overdue_rotations.size()},
      {"failed_authentications", report.failed_authentications.size()},
      {"denied_operations", report.denied_operations.size()},
      {"destroyed_versions", report.destroyed_versions.size()}};
  for (const auto& [category, count] : counts) {
    csv.Row({"count", "", category, "", "", "", "", "", "", std::to_string(count)});
  }
  EventRows(csv, "rotation", report.rotations);
  for (const OverdueRotation& item : report.overdue_rotations) {
    csv.Row({"overdue_rotation", FormatRfc3339(item.due_at_s), "key/" + item.key, "", "", "", "",
             "", "", "overdue_by_s=" + std::to_string(item.overdue_by_s)});
  }
  EntryRows(csv, "failed_authentication", report.failed_authentications);
  EntryRows(csv, "denied_operation", report.denied_operations);
  EventRows(csv, "destroyed_version", report.destroyed_versions);
  return csv.Take();
}

}  // namespace weftkit::audit::compliance
