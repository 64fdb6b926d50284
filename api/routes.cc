#include "api/routes.h"

#include "api/dek_routes.h"
#include "api/key_routes.h"
#include "api/responses.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

void RegisterOperationalRoutes(server::Router& router, const ApiDependencies& deps) {
  // Liveness: answers while the process can serve HTTP at all; touches nothing else.
  router.Add(
      {"GET", "/healthz", server::RunOn::kInline, true, [](const Request&, const SecurityContext&) {
         return JsonResponse(200, {{"status", "ok"}});
       }});

  // Readiness: the HSM and the store answer. Runs on a worker because it calls both.
  router.Add({"GET", "/readyz", server::RunOn::kWorker, true,
              [check = deps.check_ready](const Request&, const SecurityContext& context) {
                Status ready = check();
                if (ready.ok()) return JsonResponse(200, {{"status", "ready"}});
                // Whatever failed, the server is not ready: always 503 with Retry-After, keeping
                // the dependency's code so that operators can tell the HSM from the store.
                const Error& cause = ready.error();
                return ErrorResponse(context,
                                     Error(ErrorKind::kUnavailable, cause.code(), cause.detail()));
              }});

  router.Add({"GET", "/metrics", server::RunOn::kInline, false,
              [metrics = &deps.metrics, authorize = deps.authorize](
                  const Request&, const SecurityContext& context) {
                Status allowed = authorize(context, "metrics.read", "metrics");
                if (!allowed.ok()) return ErrorResponse(context, allowed.error());
                Response response;
                response.content_type = "text/plain; version=0.0.4";
                response.body = metrics->Render();
                return response;
              }});
}

}  // namespace

void RegisterRoutes(server::Router& router, const ApiDependencies& deps) {
  RegisterOperationalRoutes(router, deps);
  RegisterKeyRoutes(router, deps.keys, deps.authorize);
  RegisterDekRoutes(router, deps.keys, deps.authorize, deps.metrics, deps.max_batch_items,
                    deps.rate_limits);
}

}  // namespace weftkit::api
