#include "api/responses.h"

#include "common/log.h"
#include "server/problem.h"

namespace weftkit::api {

server::Response JsonResponse(int status, const nlohmann::json& body) {
  server::Response response;
  response.status = status;
  response.body = body.dump();
  return response;
}

server::Response ErrorResponse(const SecurityContext& context, const Error& error) {
  bool server_side = error.kind() == ErrorKind::kInternal ||
                     error.kind() == ErrorKind::kUnavailable ||
                     error.kind() == ErrorKind::kDataLoss;
  log::Write(server_side ? log::Level::kWarning : log::Level::kInfo, "request_failed",
             {{"request_id", context.request_id()},
              {"principal", context.principal()},
              {"kind", ErrorKindName(error.kind())},
              {"code", error.code()},
              {"detail", error.detail()}});
  return server::ProblemResponse(error, context.request_id());
}

}  // namespace weftkit::api
