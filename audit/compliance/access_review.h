// Access review: every principal the server knows, its roles, and what it may do on each key and
// each policy scope, as evidence for auditors (docs/compliance.md).
//
// Principals are those of the RBAC state: services identified by certificate (their SPIFFE ID
// or mapped name, as auth.principal_from maps them) and people, who log in with SCRAM when they
// have a password. Effective permissions come from the RBAC service's own decision function, so
// the review says exactly what a request would be allowed: inheritance, deny permissions and
// the "${engine}" variable included. A disabled principal holds nothing.
//
// Thread safety: pure functions over the snapshot they are given.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/rbac_service.h"
#include "common/error.h"

namespace weftkit::audit::compliance {

// What one principal may do on one object ("key/orders", "policy/cluster-a").
struct ObjectAccess {
  std::string resource;
  std::vector<std::string> allowed_actions;  // in catalogue order
};

struct PrincipalAccess {
  auth::Principal principal;
  bool has_password = false;  // may log in with SCRAM
  std::vector<std::string> direct_roles;
  std::vector<std::string> effective_roles;  // direct and inherited
  std::vector<auth::EffectivePermission> permissions;
  std::vector<ObjectAccess> keys;      // only objects with at least one allowed action
  std::vector<ObjectAccess> policies;  // idem
};

struct AccessReviewInputs {
  const auth::RbacService& rbac;
  std::vector<std::string> key_names;
  // The policy scopes to list permissions on ("<kind>/<name>", from the policy store).
  std::vector<std::string> policy_scopes;
  // Whether a principal has a SCRAM password; may be empty (then false for everyone).
  std::function<Result<bool>(const std::string& principal)> has_password;
};

// The review of every principal, sorted by id. Fails only if has_password fails.
Result<std::vector<PrincipalAccess>> BuildAccessReview(const AccessReviewInputs& inputs);

// {"principals":[{"id","kind","disabled","has_password","direct_roles","effective_roles",
//   "permissions":[{"role","path","effect","actions","resources"}],
//   "keys":[{"resource","allowed_actions"}],"policies":[...]}]}
nlohmann::json AccessReviewToJson(const std::vector<PrincipalAccess>& review);

// One row per principal and object it may act on (one row with an empty object for a principal
// that may act on none): principal,kind,disabled,has_password,direct_roles,effective_roles,
// resource,allowed_actions. Lists inside a cell are separated by ';'.
std::string AccessReviewToCsv(const std::vector<PrincipalAccess>& review);

}  // namespace weftkit::audit::compliance
