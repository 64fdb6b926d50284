// Audit log export and live stream for SIEMs (docs/siem.md):
//
//   GET /v1/audit/export?format=jsonl|cef|leef&from=I&to=J&limit=N
//       Entries with from <= index < to (from defaults to 0, to to the log's size), at most
//       `limit` (default and maximum: AuditExportOptions::max_page_entries) per response.
//   GET /v1/audit/stream?format=...&after=I&wait=S&limit=N
//       Entries with index > I (every entry when `after` is absent). When there are none yet,
//       waits up to S seconds (default and maximum AuditExportOptions::max_wait) for the next.
//       An `after` at or past the log's size answers 422 "audit_cursor_ahead": the client
//       follows another log, or this one was restored from an older copy.
//
// Both answer 200 with one encoded entry per line (formats/export_format.h) and the headers
//   Audit-Next     the index of the first entry not in this body: the `from` of the next
//                  export page, and one more than the `after` of the next stream request
//   Audit-Cursor   (stream) the index of the last entry sent, or the request's `after` when none
//                  was sent; absent if neither. A forwarder stores it once it has processed the
//                  body and sends it back as `after`, which gives no gap and no duplicate across
//                  disconnects.
//   Audit-Size     the log's size when the page was read
//   Link           (export) <...>; rel="next" while entries of the range remain
// Both require audit.read on "audit". Query parameters are checked strictly: unknown,
// repeated or malformed ones answer 400 "invalid_query".
//
// TODO(#5): the stream's wait holds a worker thread; the number of concurrent waits is capped
// (AuditExportOptions::max_waiting_streams, then 503 "stream_busy" with Retry-After) until the
// server can park a request without a thread.
//
// Compliance evidence (docs/compliance.md), JSON by default or CSV with format=csv:
//
//   GET /v1/audit/compliance/access-review?format=json|csv
//   GET /v1/audit/compliance/change-history?format=json|csv&from=S&to=S
//   GET /v1/audit/compliance/report?format=json|csv&from=S&to=S
//
// `from` and `to` are Unix seconds, both ends included; `from` defaults to 0 for the history
// and to 30 days before `to` for the report, `to` defaults to now. They require audit.read on
// "audit" (auditor, key-officer, admin).
//
// Thread safety: the handlers are thread-safe; the reader and authorizer must outlive the router.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "api/authorizer.h"
#include "audit/audit_reader.h"
#include "audit/compliance/audit_scan.h"
#include "audit/compliance/change_history.h"
#include "audit/formats/export_format.h"
#include "auth/rbac_service.h"
#include "kms/key_service.h"
#include "server/router.h"

namespace weftkit::api {

struct AuditExportOptions {
  std::size_t max_page_entries = 1000;
  std::chrono::seconds max_wait{25};
  std::size_t max_waiting_streams = 2;
  audit::formats::SiemProduct product = audit::formats::KmsdSiemProduct();
};

// The parameters of an export or stream request, as parsed from its query string.
struct AuditQuery {
  std::optional<std::string> format;  // 1 to 16 lower-case letters; each route checks the name
  std::optional<std::uint64_t> from;
  std::optional<std::uint64_t> to;
  std::optional<std::uint64_t> after;
  std::optional<std::uint64_t> limit;
  std::optional<std::uint64_t> wait_s;
};

// Parses `query` ("a=1&b=2", without '?'), accepting only the parameter names in `allowed`
// (among format, from, to, after, limit, wait), each at most once, numbers as 1 to 20 decimal
// digits that fit 64 bits, and `format` as 1 to 16 lower-case letters. No percent-decoding:
// no accepted value needs it. kInvalidArgument "invalid_query" naming the parameter otherwise.
Result<AuditQuery> ParseAuditQuery(std::string_view query,
                                   std::span<const std::string_view> allowed);

void RegisterAuditExportRoutes(server::Router& router, const audit::AuditReader& reader,
                               Authorizer authorize, const AuditExportOptions& options);

struct ComplianceDependencies {
  const audit::AuditReader& reader;
  const auth::RbacService& rbac;
  kms::KeyService& keys;
  Authorizer authorize;
  // Whether a principal has a SCRAM password; may be empty.
  std::function<Result<bool>(const std::string& principal)> has_password;
  // The policy store's scopes; empty gives no per-scope rows.
  std::function<std::vector<std::string>()> policy_scopes;
  // Every published policy version of every scope; empty leaves policy changes to the audit
  // log's policy.publish entries alone.
  std::function<Result<std::vector<audit::compliance::PolicyChange>>()> policy_changes;
  audit::compliance::ScanLimits scan_limits;
};

// The dependencies must outlive the router.
void RegisterComplianceRoutes(server::Router& router, ComplianceDependencies deps);

}  // namespace weftkit::api
