// Problem responses: how every error leaves the server, as RFC 9457 application/problem+json.
//
// This is the one place where an ErrorKind becomes an HTTP status. The body carries only the
// error's stable code, a fixed generic title for its kind, the status and the request id:
//
//   {"type":"https://weftkit.dev/problems/<code>","title":"Not found","status":404,
//    "code":"<code>","request_id":"<32 hex>"}
//
// Error::detail() and anything taken from the request are never included, so internal file
// names, return codes and attacker-supplied text cannot leak or be reflected.
//
// Thread-safe: pure functions.
#pragma once

#include <string>

#include "common/error.h"
#include "server/http_types.h"

namespace weftkit::server {

// The HTTP status for `kind`: invalid_argument 400, unauthenticated 401, permission_denied 403,
// not_found 404, already_exists and conflict 409, payload_too_large 413, failed_precondition
// and data_loss 422, resource_exhausted 429, internal 500, unavailable 503,
// deadline_exceeded 504.
int HttpStatusFor(ErrorKind kind);

// The problem response for `error`. Unavailable errors also carry "Retry-After: 1".
Response ProblemResponse(const Error& error, const std::string& request_id);

// A problem response with an explicit status, for the few transport-level answers that have no
// ErrorKind of their own (405, 431). `code` must be a fixed snake_case string.
Response ProblemResponse(int status, const std::string& code, const std::string& request_id);

}  // namespace weftkit::server
