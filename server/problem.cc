#include "server/problem.h"

#include <nlohmann/json.hpp>

namespace weftkit::server {
namespace {

struct KindInfo {
  ErrorKind kind;
  int status;
  const char* title;
};

// data_loss means supplied data (an envelope, a signature) failed an integrity check, which the
// client must fix, hence 422 rather than 500.
constexpr KindInfo kKinds[] = {
    {ErrorKind::kInvalidArgument, 400, "Invalid request"},
    {ErrorKind::kUnauthenticated, 401, "Authentication required"},
    {ErrorKind::kPermissionDenied, 403, "Permission denied"},
    {ErrorKind::kNotFound, 404, "Not found"},
    {ErrorKind::kAlreadyExists, 409, "Already exists"},
    {ErrorKind::kConflict, 409, "Conflict"},
    {ErrorKind::kFailedPrecondition, 422, "Precondition failed"},
    {ErrorKind::kPayloadTooLarge, 413, "Payload too large"},
    {ErrorKind::kResourceExhausted, 429, "Too many requests"},
    {ErrorKind::kUnavailable, 503, "Service unavailable"},
    {ErrorKind::kDeadlineExceeded, 504, "Deadline exceeded"},
    {ErrorKind::kDataLoss, 422, "Integrity check failed"},
    {ErrorKind::kInternal, 500, "Internal error"},
};

// Titles for statuses that have no ErrorKind.
struct StatusTitle {
  int status;
  const char* title;
};
constexpr StatusTitle kStatusTitles[] = {
    {405, "Method not allowed"},
    {431, "Request header fields too large"},
};

const KindInfo& InfoFor(ErrorKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  return kKinds[std::size(kKinds) - 1];  // internal
}

const char* TitleFor(int status) {
  for (const KindInfo& info : kKinds) {
    if (info.status == status) return info.title;
  }
  for (const StatusTitle& entry : kStatusTitles) {
    if (entry.status == status) return entry.title;
  }
  return "Error";
}

Response MakeProblem(int status, const char* title, const std::string& code,
                     const std::string& request_id) {
  nlohmann::ordered_json body;
  body["type"] = "https://weftkit.dev/problems/" + code;
  body["title"] = title;
  body["status"] = status;
  body["code"] = code;
  body["request_id"] = request_id;
  Response response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

}  // namespace

int HttpStatusFor(ErrorKind kind) { return InfoFor(kind).status; }

Response ProblemResponse(const Error& error, const std::string& request_id) {
  const KindInfo& info = InfoFor(error.kind());
  return MakeProblem(info.status, info.title, error.code(), request_id);
}

Response ProblemResponse(int status, const std::string& code, const std::string& request_id) {
  return MakeProblem(status, TitleFor(status), code, request_id);
}

}  // namespace weftkit::server
