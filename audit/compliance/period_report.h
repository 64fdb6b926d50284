// Compliance report over a period [from, to] (docs/compliance.md): rotations done and overdue,
// failed authentications, denied operations and destroyed key versions, each counted and
// listed.
//
//   rotations done      key versions above 1 created in the period (key store), with who asked
//                       when a key.rotate request did (else an automatic rotation)
//   rotations overdue   keys with a rotation period whose last rotation (or creation) plus the
//                       period lies before the report's reference time: `to`, or now if `to`
//                       is in the future
//   failed auth         audit entries of the period with action auth.* and outcome failure, or
//                       with status 401
//   denied operations   audit entries of the period whose decision is "deny"
//   destroyed versions  key versions destroyed in the period (key store), with who scheduled
//                       the destruction when the audit log says
//
// Thread safety: pure functions; reads go through the reader.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/compliance/audit_scan.h"
#include "audit/compliance/change_history.h"
#include "kms/key_model.h"

namespace weftkit::audit::compliance {

struct OverdueRotation {
  std::string key;
  std::int64_t rotation_period_s = 0;
  std::int64_t last_rotation_s = 0;  // rotated_at, or created_at for a key never rotated
  std::int64_t due_at_s = 0;
  std::int64_t overdue_by_s = 0;  // at the reference time
};

struct PeriodReport {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::int64_t reference_ms = 0;  // the time "overdue" is measured at
  std::vector<ChangeEvent> rotations;
  std::vector<OverdueRotation> overdue_rotations;
  std::vector<AuditEntry> failed_authentications;
  std::vector<AuditEntry> denied_operations;
  std::vector<ChangeEvent> destroyed_versions;
};

// Builds the report. `now_ms` is the current time. Fails with the reader's errors or
// ScanPeriod's.
Result<PeriodReport> BuildPeriodReport(const std::vector<kms::MasterKey>& keys,
                                       const AuditReader& reader, std::int64_t from_ms,
                                       std::int64_t to_ms, std::int64_t now_ms,
                                       const ScanLimits& limits = {});

// {"period":{"from","to","reference_time"},"counts":{"rotations",...},"rotations":[...],
//  "overdue_rotations":[...],"failed_authentications":[entry...],"denied_operations":[...],
//  "destroyed_versions":[...]} with audit entries in the JSON lines form.
nlohmann::json PeriodReportToJson(const PeriodReport& report);

// CSV with the columns category,time,object,version,principal,action,status,audit_index,
// request_id,detail: first one "count" row per category (object = the category, detail = the
// count), then one row per listed item.
std::string PeriodReportToCsv(const PeriodReport& report);

}  // namespace weftkit::audit::compliance
