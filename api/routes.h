// The server's HTTP API: every route, its handler, and the authorization each one requires.
// docs/api.md and docs/openapi.yaml describe the same routes for integrators.
#pragma once

#include <cstddef>
#include <functional>

#include "api/authorizer.h"
#include "kms/key_service.h"
#include "server/metrics.h"
#include "server/rate_limits.h"
#include "server/router.h"

namespace weftkit::api {

struct ApiDependencies {
  kms::KeyService& keys;
  // Decides every non-public route (the RBAC service in kmsd).
  Authorizer authorize;
  // Readiness of the HSM and the store, for /readyz; runs on a worker thread.
  std::function<Status()> check_ready;
  // The registry /metrics renders; routes add their own families to it.
  server::Metrics& metrics;
  std::size_t max_batch_items = 1000;
  // Limits on unwrapping DEKs; null: none. Must outlive the router.
  server::RateLimits* rate_limits = nullptr;
};

// Adds every route to `router`. The dependencies must outlive the router.
void RegisterRoutes(server::Router& router, const ApiDependencies& deps);

}  // namespace weftkit::api
