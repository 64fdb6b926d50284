// Routes for policy bundles (docs/policy-bundles.md): authoring (publish, rollback, history,
// diff), serving to engines (bundle with ETag, If-None-Match and long polling, the JWK set),
// fleet reports and status, and the check endpoint.
//
// Every scope route is /v1/policy/scopes/{kind}/{name}/...; the scope is "<kind>/<name>" and
// its RBAC resource "policy/<kind>/<name>". Actions: policy.read, policy.publish, policy.fetch,
// policy.report, policy.fleet.read, policy.check (docs/rbac.md). Rotating the bundle signing key
// is an administrator's change of a trust anchor, authorized like the token signing key's:
// principal.manage on principal/policy-signing-keys.
#pragma once

#include <chrono>

#include "api/authorizer.h"
#include "policy_store/policy_service.h"
#include "server/change_notifier.h"
#include "server/router.h"

namespace weftkit::api {

struct PolicyRouteOptions {
  // The longest `Prefer: wait=N` honoured; longer requests wait this long.
  std::chrono::seconds max_wait{300};
  // Largest page of GET .../versions.
  std::int64_t max_history_page = 100;
};

inline constexpr std::string_view kBundleKeyRotateAction = "principal.manage";
inline constexpr std::string_view kBundleKeyRotateResource = "principal/policy-signing-keys";

// The ChangeNotifier topic that a publish to `scope` advances: "policy/<scope>".
std::string PolicyTopic(const std::string& scope);

// Adds the policy routes. `policies`, `notifier` and `authorize` must outlive the router; the
// service's on_publish must call notifier.Notify(PolicyTopic(scope)) for long polls to wake.
void RegisterPolicyRoutes(server::Router& router, policy_store::PolicyService& policies,
                          server::ChangeNotifier& notifier, Authorizer authorize,
                          PolicyRouteOptions options);

}  // namespace weftkit::api
