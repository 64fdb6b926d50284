#include "api/audit_export_routes.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/responses.h"
#include "audit/compliance/access_review.h"
#include "audit/compliance/change_history.h"
#include "audit/compliance/period_report.h"
#include "common/time_util.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

constexpr std::string_view kAuditResource = "audit";
constexpr std::string_view kReadAction = "audit.read";

Error InvalidQuery(std::string_view parameter, std::string_view expected) {
  return Error(ErrorKind::kInvalidArgument, "invalid_query",
               "query parameter " + std::string(parameter) + ": " + std::string(expected));
}

// An error whose detail is only what was expected; StoreParameter names the parameter.
Error Expected(std::string_view what) {
  return Error(ErrorKind::kInvalidArgument, "invalid_query", std::string(what));
}

Result<std::uint64_t> ParseNumber(std::string_view text) {
  std::uint64_t value = 0;
  bool digits_only =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (text.empty() || text.size() > 20 || !digits_only) {
    return Expected("expected a whole number");
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Expected("the number is too large");
  }
  return value;
}

// Stores one parsed parameter into `query`; a table so that each route lists what it accepts.
struct ParameterSpec {
  std::string_view name;
  Status (*store)(AuditQuery& query, std::string_view value);
};

template <std::optional<std::uint64_t> AuditQuery::*member>
Status StoreNumber(AuditQuery& query, std::string_view value) {
  WK_ASSIGN_OR_RETURN(query.*member, ParseNumber(value));
  return OkStatus();
}

constexpr std::array<ParameterSpec, 6> kParameters{{
    {"format",
     [](AuditQuery& query, std::string_view value) -> Status {
       bool letters =
           std::all_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; });
       if (value.empty() || value.size() > 16 || !letters) return Expected("unknown format");
       query.format = std::string(value);
       return OkStatus();
     }},
    {"from", StoreNumber<&AuditQuery::from>},
    {"to", StoreNumber<&AuditQuery::to>},
    {"after", StoreNumber<&AuditQuery::after>},
    {"limit", StoreNumber<&AuditQuery::limit>},
    {"wait", StoreNumber<&AuditQuery::wait_s>},
}};

Status StoreParameter(AuditQuery& query, std::string_view name, std::string_view value) {
  for (const ParameterSpec& spec : kParameters) {
    if (spec.name != name) continue;
    Status stored = spec.store(query, value);
    if (!stored.ok()) return InvalidQuery(name, stored.error().detail());
    return OkStatus();
  }
  return InvalidQuery(name, "not accepted here");
}

// The encoded lines of `entries` in `format`.
std::string EncodeBody(const std::vector<audit::AuditEntry>& entries,
                       audit::formats::ExportFormat format,
                       const audit::formats::SiemProduct& product) {
  std::string body;
  for (const audit::AuditEntry& entry : entries) {
    body.append(audit::formats::EncodeEntryLine(format, entry, product));
  }
  return body;
}

Response LinesResponse(audit::formats::ExportFormat format, std::string body, std::uint64_t next,
                       std::uint64_t size) {
  Response response;
  response.content_type = std::string(audit::formats::ExportContentType(format));
  response.body = std::move(body);
  response.headers.emplace_back("Audit-Next", std::to_string(next));
  response.headers.emplace_back("Audit-Size", std::to_string(size));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Result<audit::formats::ExportFormat> LineFormat(const AuditQuery& query) {
  auto format = audit::formats::ParseExportFormat(query.format.value_or("jsonl"));
  if (!format.ok()) return InvalidQuery("format", "expected jsonl, cef or leef");
  return *format;
}

Result<std::size_t> PageLimit(const AuditQuery& query, const AuditExportOptions& options) {
  std::uint64_t limit = query.limit.value_or(options.max_page_entries);
  if (limit == 0 || limit > options.max_page_entries) {
    return InvalidQuery("limit", "expected 1 to " + std::to_string(options.max_page_entries));
  }
  return static_cast<std::size_t>(limit);
}

struct ExportContext {
  const audit::AuditReader& reader;
  Authorizer authorize;
  AuditExportOptions options;
  std::atomic<std::size_t> waiting{0};  // stream requests currently waiting on a worker
};

Result<Response> ExportPage(ExportContext& context, const Request& request,
                            const SecurityContext& security) {
  WK_RETURN_IF_ERROR(context.authorize(security, kReadAction, kAuditResource));
  static constexpr std::array<std::string_view, 4> kAllowed{"format", "from", "to", "limit"};
  WK_ASSIGN_OR_RETURN(AuditQuery query, ParseAuditQuery(request.query, kAllowed));
  WK_ASSIGN_OR_RETURN(audit::formats::ExportFormat format, LineFormat(query));
  WK_ASSIGN_OR_RETURN(std::size_t limit, PageLimit(query, context.options));
  WK_ASSIGN_OR_RETURN(std::uint64_t size, context.reader.Size());

  std::uint64_t from = query.from.value_or(0);
  std::uint64_t to = std::min(query.to.value_or(size), size);
  if (query.to && *query.to < from) return InvalidQuery("to", "must not be less than from");
  std::uint64_t count = from < to ? std::min<std::uint64_t>(limit, to - from) : 0;
  std::vector<audit::AuditEntry> entries;
  if (count > 0) {
    WK_ASSIGN_OR_RETURN(entries, context.reader.Read(from, count));
  }

  std::uint64_t next = from + entries.size();
  Response response =
      LinesResponse(format, EncodeBody(entries, format, context.options.product), next, size);
  if (next < to) {
    response.headers.emplace_back(
        "Link",
        "</v1/audit/export?format=" + std::string(audit::formats::ExportFormatName(format)) +
            "&from=" + std::to_string(next) + "&to=" + std::to_string(to) + ">; rel=\"next\"");
  }
  return response;
}

// Holds one of the capped waiting slots for the lifetime of the object, if one was free.
class WaitSlot {
 public:
  WaitSlot(std::atomic<std::size_t>& waiting, std::size_t cap) : waiting_(waiting) {
    held_ = waiting_.fetch_add(1) < cap;
    if (!held_) waiting_.fetch_sub(1);
  }
  ~WaitSlot() {
    if (held_) waiting_.fetch_sub(1);
  }
  WaitSlot(const WaitSlot&) = delete;
  WaitSlot& operator=(const WaitSlot&) = delete;
  bool held() const { return held_; }

 private:
  std::atomic<std::size_t>& waiting_;
  bool held_ = false;
};

// Waits until the entry at `first` exists or the wait is over; returns the log's size.
Result<std::uint64_t> WaitForEntry(ExportContext& context, std::uint64_t first,
                                   std::chrono::seconds wait) {
  WK_ASSIGN_OR_RETURN(std::uint64_t size, context.reader.Size());
  if (first > size) {
    // The client has processed entries this log does not have: it follows another log, or
    // this one was restored from an older copy. Waiting would hide that.
    return Error(ErrorKind::kFailedPrecondition, "audit_cursor_ahead",
                 "after=" + std::to_string(first - 1) + " but the log holds " +
                     std::to_string(size) + " entries");
  }
  if (size > first || wait.count() == 0) return size;
  // TODO(#5): park the request without a worker once the server offers it; until then a
  // capped number of workers may wait.
  WaitSlot slot(context.waiting, context.options.max_waiting_streams);
  if (!slot.held()) {
    return Error(ErrorKind::kUnavailable, "stream_busy",
                 "every stream waiting slot is taken; the client retries");
  }
  return context.reader.WaitForSizeAbove(first, wait);
}

Result<Response> StreamPage(ExportContext& context, const Request& request,
                            const SecurityContext& security) {
  WK_RETURN_IF_ERROR(context.authorize(security, kReadAction, kAuditResource));
  static constexpr std::array<std::string_view, 4> kAllowed{"format", "after", "wait", "limit"};
  WK_ASSIGN_OR_RETURN(AuditQuery query, ParseAuditQuery(request.query, kAllowed));
  WK_ASSIGN_OR_RETURN(audit::formats::ExportFormat format, LineFormat(query));
  WK_ASSIGN_OR_RETURN(std::size_t limit, PageLimit(query, context.options));
  std::uint64_t max_wait = static_cast<std::uint64_t>(context.options.max_wait.count());
  if (query.wait_s.value_or(0) > max_wait) {
    return InvalidQuery("wait", "expected 0 to " + std::to_string(max_wait) + " seconds");
  }
  if (query.after == std::numeric_limits<std::uint64_t>::max()) {
    return InvalidQuery("after", "no entry can follow it");
  }

  std::uint64_t first = query.after ? *query.after + 1 : 0;
  std::chrono::seconds wait(query.wait_s.value_or(max_wait));
  WK_ASSIGN_OR_RETURN(std::uint64_t size, WaitForEntry(context, first, wait));
  std::vector<audit::AuditEntry> entries;
  if (size > first) {
    WK_ASSIGN_OR_RETURN(entries, context.reader.Read(first, limit));
  }

  std::uint64_t next = first + entries.size();
  Response response =
      LinesResponse(format, EncodeBody(entries, format, context.options.product), next, size);
  if (!entries.empty()) {
    response.headers.emplace_back("Audit-Cursor", std::to_string(entries.back().index));
  } else if (query.after) {
    response.headers.emplace_back("Audit-Cursor", std::to_string(*query.after));
  }
  return response;
}

}  // namespace

Result<AuditQuery> ParseAuditQuery(std::string_view query,
                                   std::span<const std::string_view> allowed) {
  AuditQuery parsed;
  std::vector<std::string_view> seen;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) return InvalidQuery("(unnamed)", "expected name=value");
    std::string_view name = pair.substr(0, equals);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return Error(ErrorKind::kInvalidArgument, "invalid_query",
                   "a query parameter is not accepted by this route");
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return InvalidQuery(name, "given more than once");
    }
    seen.push_back(name);
    WK_RETURN_IF_ERROR(StoreParameter(parsed, name, pair.substr(equals + 1)));
  }
  return parsed;
}

void RegisterAuditExportRoutes(server::Router& router, const audit::AuditReader& reader,
                               Authorizer authorize, const AuditExportOptions& options) {
  // Braces, not make_shared: Clang 14 (the fuzz build) has no C++20 aggregate init from
  // parentheses, which make_shared of an aggregate needs.
  std::shared_ptr<ExportContext> context(new ExportContext{reader, std::move(authorize), options});
  router.Add({"GET", "/v1/audit/export", server::RunOn::kWorker, false,
              [context](const Request& request, const SecurityContext& security) {
                return Respond(security, [&] { return ExportPage(*context, request, security); });
              }});
  router.Add({"GET", "/v1/audit/stream", server::RunOn::kWorker, false,
              [context](const Request& request, const SecurityContext& security) {
                return Respond(security, [&] { return StreamPage(*context, request, security); });
              }});
}

namespace {

enum class EvidenceFormat { kJson, kCsv };

constexpr std::int64_t kDefaultReportDays = 30;

Result<EvidenceFormat> EvidenceFormatOf(const AuditQuery& query) {
  std::string name = query.format.value_or("json");
  if (name == "json") return EvidenceFormat::kJson;
  if (name == "csv") return EvidenceFormat::kCsv;
  return InvalidQuery("format", "expected json or csv");
}

Response EvidenceResponse(EvidenceFormat format, const nlohmann::json& json, std::string csv,
                          const std::string& file_stem) {
  Response response;
  if (format == EvidenceFormat::kJson) {
    response.body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    response.content_type = "text/csv; charset=utf-8; header=present";
    response.body = std::move(csv);
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + file_stem + ".csv\"");
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// The period [from, to] in Unix milliseconds from `from`/`to` in seconds.
struct Period {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
};

Result<Period> PeriodOf(const AuditQuery& query, std::int64_t default_span_s) {
  // Seconds up to year 9999 keep every millisecond value far from overflow.
  constexpr std::uint64_t kMaxSeconds = 253402300799;
  std::int64_t now_s = UnixNow();
  if (query.to && *query.to > kMaxSeconds) return InvalidQuery("to", "too far in the future");
  std::int64_t to_s = query.to ? static_cast<std::int64_t>(*query.to) : now_s;
  std::int64_t from_s = std::max<std::int64_t>(0, to_s - default_span_s);
  if (query.from) {
    if (*query.from > static_cast<std::uint64_t>(to_s)) {
      return InvalidQuery("from", "must not be after to");
    }
    from_s = static_cast<std::int64_t>(*query.from);
  }
  return Period{from_s * 1000, to_s * 1000 + 999};
}

Result<std::vector<kms::MasterKey>> AllKeys(kms::KeyService& keys) {
  WK_ASSIGN_OR_RETURN(std::vector<kms::KeyReport> reports, keys.ListKeys());
  std::vector<kms::MasterKey> all;
  for (kms::KeyReport& report : reports) all.push_back(std::move(report.key));
  return all;
}

Result<Response> AccessReview(const ComplianceDependencies& deps, const Request& request,
                              const SecurityContext& security) {
  WK_RETURN_IF_ERROR(deps.authorize(security, kReadAction, kAuditResource));
  static constexpr std::array<std::string_view, 1> kAllowed{"format"};
  WK_ASSIGN_OR_RETURN(AuditQuery query, ParseAuditQuery(request.query, kAllowed));
  WK_ASSIGN_OR_RETURN(EvidenceFormat format, EvidenceFormatOf(query));
  WK_ASSIGN_OR_RETURN(std::vector<kms::MasterKey> keys, AllKeys(deps.keys));

  audit::compliance::AccessReviewInputs inputs{deps.rbac, {}, {}, deps.has_password};
  for (const kms::MasterKey& key : keys) inputs.key_names.push_back(key.name);
  if (deps.policy_scopes) inputs.policy_scopes = deps.policy_scopes();
  WK_ASSIGN_OR_RETURN(auto review, audit::compliance::BuildAccessReview(inputs));
  return EvidenceResponse(
      format, audit::compliance::AccessReviewToJson(review),
      format == EvidenceFormat::kCsv ? audit::compliance::AccessReviewToCsv(review) : std::string(),
      "access-review");
}

Result<Response> ChangeHistory(const ComplianceDependencies& deps, const Request& request,
                               const SecurityContext& security) {
  WK_RETURN_IF_ERROR(deps.authorize(security, kReadAction, kAuditResource));
  static constexpr std::array<std::string_view, 3> kAllowed{"format", "from", "to"};
  WK_ASSIGN_OR_RETURN(AuditQuery query, ParseAuditQuery(request.query, kAllowed));
  WK_ASSIGN_OR_RETURN(EvidenceFormat format, EvidenceFormatOf(query));
  WK_ASSIGN_OR_RETURN(Period period, PeriodOf(query, std::numeric_limits<std::int32_t>::max()));
  WK_ASSIGN_OR_RETURN(std::vector<kms::MasterKey> keys, AllKeys(deps.keys));
  std::vector<audit::compliance::PolicyChange> policies;
  if (deps.policy_changes) {
    WK_ASSIGN_OR_RETURN(policies, deps.policy_changes());
  }

  WK_ASSIGN_OR_RETURN(auto events, audit::compliance::BuildChangeHistory(
                                       keys, policies, deps.reader, period.from_ms, period.to_ms,
                                       deps.scan_limits));
  return EvidenceResponse(format, audit::compliance::ChangeHistoryToJson(events),
                          format == EvidenceFormat::kCsv
                              ? audit::compliance::ChangeHistoryToCsv(events)
                              : std::string(),
                          "change-history");
}

Result<Response> PeriodReport(const ComplianceDependencies& deps, const Request& request,
                              const SecurityContext& security) {
  WK_RETURN_IF_ERROR(deps.authorize(security, kReadAction, kAuditResource));
  static constexpr std::array<std::string_view, 3> kAllowed{"format", "from", "to"};
  WK_ASSIGN_OR_RETURN(AuditQuery query, ParseAuditQuery(request.query, kAllowed));
  WK_ASSIGN_OR_RETURN(EvidenceFormat format, EvidenceFormatOf(query));
  WK_ASSIGN_OR_RETURN(Period period, PeriodOf(query, kDefaultReportDays * 86400));
  WK_ASSIGN_OR_RETURN(std::vector<kms::MasterKey> keys, AllKeys(deps.keys));

  WK_ASSIGN_OR_RETURN(auto report, audit::compliance::BuildPeriodReport(
                                       keys, deps.reader, period.from_ms, period.to_ms,
                                       UnixNow() * 1000, deps.scan_limits));
  return EvidenceResponse(
      format, audit::compliance::PeriodReportToJson(report),
      format == EvidenceFormat::kCsv ? audit::compliance::PeriodReportToCsv(report) : std::string(),
      "compliance-report");
}

}  // namespace

void RegisterComplianceRoutes(server::Router& router, ComplianceDependencies deps) {
  auto shared = std::make_shared<const ComplianceDependencies>(std::move(deps));
  using Builder =
      Result<Response> (*)(const ComplianceDependencies&, const Request&, const SecurityContext&);
  auto handler = [shared](Builder build) {
    return [shared, build](const Request& request, const SecurityContext& security) {
      return Respond(security, [&] { return build(*shared, request, security); });
    };
  };
  router.Add({"GET", "/v1/audit/compliance/access-review", server::RunOn::kWorker, false,
              handler(AccessReview)});
  router.Add({"GET", "/v1/audit/compliance/change-history", server::RunOn::kWorker, false,
              handler(ChangeHistory)});
  router.Add(
      {"GET", "/v1/audit/compliance/report", server::RunOn::kWorker, false, handler(PeriodReport)});
}

}  // namespace weftkit::api
