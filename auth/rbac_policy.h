// RbacPolicy: an immutable, validated snapshot of the roles and separation-of-duty constraints,
// and the deny-by-default decision over them.
//
// A decision walks the role graph from the caller's direct roles through everything they
// inherit. Any matching deny wins over any matching allow, whichever roles they come from; with
// no deny, one matching allow suffices; with neither, the answer is "default deny". The
// inheritance graph is a DAG: Create refuses cycles, so the walk always ends.
//
// Separation of duty is checked per principal over its effective permissions (CheckPrincipal):
// an action counts as granted when an allow covers it on some resource and no deny covers it on
// every resource ("*"). This over-approximates what the principal can do, which is the safe
// direction for a constraint: a deny that covers only some resources does not excuse a grant.
//
// Thread safety: immutable after Create; every const member is safe to call concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/rbac_model.h"
#include "common/error.h"

namespace weftkit::auth {

// The outcome of one decision and the rule that made it, for logs and the audit trail.
struct Decision {
  bool allowed = false;
  // "allow role=key-officer permission#0", "deny role=x permission#2" or "default deny".
  std::string rule;
  // The inheritance path from a direct role to the deciding role, e.g. {"admin","key-officer"};
  // empty for a default deny.
  std::vector<std::string> role_path;
};

// A role reached from a set of direct roles, with the first inheritance path found to it.
struct ReachedRole {
  const Role* role = nullptr;  // points into the policy; valid while the policy lives
  std::vector<std::string> path;
};

// One permission a principal holds, and where it comes from (for access reviews).
struct EffectivePermission {
  std::string role;
  std::vector<std::string> path;
  std::size_t index = 0;  // position in the role's permission list
  Permission permission;
};

class RbacPolicy {
 public:
  // Validates `roles` and `constraints` and builds the policy. Fails with kInvalidArgument and
  //   "invalid_field"   a role or constraint name is malformed, or a constraint lists no action;
  //   "duplicate_name"  two roles or two constraints share a name;
  //   "undefined_role"  a role inherits one that does not exist;
  //   "role_cycle"      inheritance loops; the detail spells the loop, "a -> b -> a";
  //   "unknown_action"  an action pattern names something outside the catalogue;
  //   "invalid_pattern" an action or resource pattern is malformed.
  // Details name the role and the JSON Pointer of the offending field within it.
  static Result<RbacPolicy> Create(std::vector<Role> roles,
                                   std::vector<SeparationOfDuty> constraints = {});

  // Decides whether a caller holding `direct_roles` (as bound, before inheritance) may perform
  // `action` on `resource`. `principal` only supplies the "${engine}" variable. Unknown role
  // names are ignored: they grant nothing.
  Decision Decide(const std::vector<std::string>& direct_roles, const std::string& principal,
                  std::string_view action, std::string_view resource) const;

  // The direct roles and everything they inherit, each once, in breadth-first order.
  std::vector<std::string> EffectiveRoles(const std::vector<std::string>& direct_roles) const;
  std::vector<ReachedRole> ReachedRoles(const std::vector<std::string>& direct_roles) const;
  std::vector<EffectivePermission> EffectivePermissions(
      const std::vector<std::string>& direct_roles) const;

  // Checks `principal`, holding `direct_roles`, against every separation-of-duty constraint.
  // kFailedPrecondition "sod_violation" naming the constraint and the two actions otherwise.
  Status CheckPrincipal(const std::string& principal,
                        const std::vector<std::string>& direct_roles) const;

  const Role* FindRole(std::string_view name) const;
  const std::vector<Role>& roles() const { return roles_; }
  const std::vector<SeparationOfDuty>& constraints() const { return constraints_; }

 private:
  RbacPolicy(std::vector<Role> roles, std::vector<SeparationOfDuty> constraints);

  // Whether the permissions reached grant `action` somewhere (see the header comment).
  bool Grants(const std::vector<ReachedRole>& reached, std::string_view action,
              std::string_view engine) const;

  std::vector<Role> roles_;
  std::vector<SeparationOfDuty> constraints_;
  std::unordered_map<std::string, std::size_t> index_;  // role name -> position in roles_
  // For each role, everything it reaches (itself first) with the path, as role indexes.
  std::vector<std::vector<std::pair<std::size_t, std::vector<std::string>>>> closure_;
};

// Builds the policy of `state` and checks that the whole state is consistent: every binding
// names an existing principal and role, and no principal violates a separation-of-duty
// constraint. Fails with RbacPolicy::Create's errors, kNotFound "principal_not_found" or
// "role_not_found" for a dangling binding, or kFailedPrecondition "sod_violation".
Result<RbacPolicy> BuildPolicy(const RbacState& state);

// The principals of `state` that are enabled and hold `role` directly or by inheritance.
std::vector<std::string> HoldersOf(const RbacState& state, const RbacPolicy& policy,
                                   std::string_view role);

}  // namespace weftkit::auth
