// Building HTTP responses from handler results, in one place so that every route answers the
// same way: JSON bodies on success, RFC 9457 problems on failure, with the failure logged for
// operators (detail included) and never echoed to the client.
#pragma once

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/security_context.h"
#include "server/http_types.h"

namespace weftkit::api {

server::Response JsonResponse(int status, const nlohmann::json& body);

// Logs `error` with the request id and principal, then returns its problem response.
server::Response ErrorResponse(const SecurityContext& context, const Error& error);

// Runs `handler` and converts its Result<Response> into a Response.
template <typename F>
server::Response Respond(const SecurityContext& context, F&& handler) {
  Result<server::Response> result = handler();
  if (!result.ok()) return ErrorResponse(context, result.error());
  return std::move(result).value();
}

}  // namespace weftkit::api
