#include "auth/rbac_policy.h"

#include <algorithm>
#include <deque>
#include <unordered_set>
#include <utility>

namespace weftkit::auth {
namespace {

// Prefixes an error's detail with where it was found, keeping its kind and code.
Error At(const Error& error, const std::string& where) {
  return Error(error.kind(), error.code(), where + ": " + error.detail());
}

std::string RoleWhere(const Role& role, const std::string& pointer) {
  return "role '" + role.name + "' " + pointer;
}

Status ValidatePermission(const Role& role, const Permission& permission,
                          const std::string& pointer) {
  for (std::size_t i = 0; i < permission.actions.size(); ++i) {
    Status valid = ValidateActionPattern(permission.actions[i]);
    if (!valid.ok()) {
      return At(valid.error(), RoleWhere(role, pointer + "/actions/" + std::to_string(i)));
    }
  }
  for (std::size_t i = 0; i < permission.resources.size(); ++i) {
    Status valid = ValidateResourcePattern(permission.resources[i]);
    if (!valid.ok()) {
      return At(valid.error(), RoleWhere(role, pointer + "/resources/" + std::to_string(i)));
    }
  }
  if (permission.actions.empty() || permission.resources.empty()) {
    return Error(ErrorKind::kInvalidArgument, "invalid_field",
                 RoleWhere(role, pointer) + ": a permission needs actions and resources");
  }
  return OkStatus();
}

Status ValidateRoleFields(const Role& role) {
  WK_RETURN_IF_ERROR(ValidateRoleName(role.name, "/name"));
  WK_RETURN_IF_ERROR(ValidateDescription(role.description, RoleWhere(role, "/description")));
  for (std::size_t i = 0; i < role.permissions.size(); ++i) {
    WK_RETURN_IF_ERROR(
        ValidatePermission(role, role.permissions[i], "/permissions/" + std::to_string(i)));
  }
  return OkStatus();
}

Status ValidateConstraint(const SeparationOfDuty& constraint) {
  WK_RETURN_IF_ERROR(ValidateRoleName(constraint.name, "/name"));
  const std::string where = "separation of duty '" + constraint.name + "' ";
  const std::pair<const char*, const std::vector<std::string>*> sides[] = {
      {"/first_actions", &constraint.first_actions},
      {"/second_actions", &constraint.second_actions}};
  for (const auto& [pointer, actions] : sides) {
    if (actions->empty()) {
      return Error(ErrorKind::kInvalidArgument, "invalid_field",
                   where + pointer + ": expected at least one action");
    }
    for (std::size_t i = 0; i < actions->size(); ++i) {
      Status valid = ValidateActionPattern((*actions)[i]);
      if (!valid.ok()) {
        return At(valid.error(), where + pointer + "/" + std::to_string(i));
      }
    }
  }
  return OkStatus();
}

template <typename T>
Status CheckUniqueNames(const std::vector<T>& items, const char* what) {
  std::unordered_set<std::string> names;
  for (const T& item : items) {
    if (!names.insert(item.name).second) {
      return Error(ErrorKind::kInvalidArgument, "duplicate_name",
                   std::string("two ") + what + " are named '" + item.name + "'");
    }
  }
  return OkStatus();
}

// Depth-first search for an inheritance cycle, colouring roles as visiting or done.
class CycleFinder {
 public:
  CycleFinder(const std::vector<Role>& roles,
              const std::unordered_map<std::string, std::size_t>& index)
      : roles_(roles), index_(index), state_(roles.size(), kUnvisited) {}

  Status Check() {
    for (std::size_t i = 0; i < roles_.size(); ++i) WK_RETURN_IF_ERROR(Visit(i));
    return OkStatus();
  }

 private:
  enum State { kUnvisited, kVisiting, kDone };

  Status Visit(std::size_t role) {
    if (state_[role] == kDone) return OkStatus();
    if (state_[role] == kVisiting) return CycleError(role);
    state_[role] = kVisiting;
    stack_.push_back(role);
    for (const std::string& parent : roles_[role].inherits) {
      WK_RETURN_IF_ERROR(Visit(index_.at(parent)));
    }
    stack_.pop_back();
    state_[role] = kDone;
    return OkStatus();
  }

  // The loop is the part of the stack from `role`'s first appearance, closed by `role` again.
  Error CycleError(std::size_t role) const {
    std::string path;
    auto start = std::find(stack_.begin(), stack_.end(), role);
    for (auto it = start; it != stack_.end(); ++it) path += roles_[*it].name + " -> ";
    path += roles_[role].name;
    return Error(ErrorKind::kInvalidArgument, "role_cycle", "role inheritance loops: " + path);
  }

  const std::vector<Role>& roles_;
  const std::unordered_map<std::string, std::size_t>& index_;
  std::vector<State> state_;
  std::vector<std::size_t> stack_;
};

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view action) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return ActionMatches(pattern, action); });
}

bool Covers(const Permission& permission, std::string_view action, std::string_view resource,
            std::string_view engine) {
  return MatchesAny(permission.actions, action) &&
         std::any_of(permission.resources.begin(), permission.resources.end(),
                     [&](const std::string& pattern) {
                       return ResourceMatches(pattern, resource, engine);
                     });
}

std::string RuleText(Effect effect, const std::string& role, std::size_t index) {
  return std::string(EffectName(effect)) + " role=" + role + " permission#" + std::to_string(index);
}

}  // namespace

RbacPolicy::RbacPolicy(std::vector<Role> roles, std::vector<SeparationOfDuty> constraints)
    : roles_(std::move(roles)), constraints_(std::move(constraints)) {
  for (std::size_t i = 0; i < roles_.size(); ++i) index_.emplace(roles_[i].name, i);
}

Result<RbacPolicy> RbacPolicy::Create(std::vector<Role> roles,
                                      std::vector<SeparationOfDuty> constraints) {
  for (const Role& role : roles) WK_RETURN_IF_ERROR(ValidateRoleFields(role));
  WK_RETURN_IF_ERROR(CheckUniqueNames(roles, "roles"));
  for (const SeparationOfDuty& constraint : constraints) {
    WK_RETURN_IF_ERROR(ValidateConstraint(constraint));
  }
  WK_RETURN_IF_ERROR(CheckUniqueNames(constraints, "separation-of-duty constraints"));

  RbacPolicy policy(std::move(roles), std::move(constraints));
  for (const Role& role : policy.roles_) {
    for (std::size_t i = 0; i < role.inherits.size(); ++i) {
      if (policy.index_.count(role.inherits[i]) == 0) {
        return Error(
            ErrorKind::kInvalidArgument, "undefined_role",
            RoleWhere(role, "/inherits/" + std::to_string(i)) + ": inherits an undefined role");
      }
    }
  }
  WK_RETURN_IF_ERROR(CycleFinder(policy.roles_, policy.index_).Check());

  // Breadth-first from every role, so each reached role keeps its shortest path.
  policy.closure_.resize(policy.roles_.size());
  for (std::size_t start = 0; start < policy.roles_.size(); ++start) {
    std::vector<bool> seen(policy.roles_.size(), false);
    std::deque<std::pair<std::size_t, std::vector<std::string>>> queue;
    queue.push_back({start, {policy.roles_[start].name}});
    seen[start] = true;
    while (!queue.empty()) {
      auto [role, path] = std::move(queue.front());
      queue.pop_front();
      for (const std::string& parent : policy.roles_[role].inherits) {
        std::size_t next = policy.index_.at(parent);
        if (seen[next]) continue;
        seen[next] = true;
        std::vector<std::string> longer = path;
        longer.push_back(parent);
        queue.push_back({next, std::move(longer)});
      }
      policy.closure_[start].push_back({role, std::move(path)});
    }
  }
  return policy;
}

std::vector<ReachedRole> RbacPolicy::ReachedRoles(
    const std::vector<std::string>& direct_roles) const {
  std::vector<ReachedRole> reached;
  std::vector<bool> seen(roles_.size(), false);
  for (const std::string& name : direct_roles) {
    auto found = index_.find(name);
    if (found == index_.end()) continue;
    for (const auto& [role, path] : closure_[found->second]) {
      if (seen[role]) continue;
      seen[role] = true;
      reached.push_back({&roles_[role], path});
    }
  }
  return reached;
}

std::vector<std::string> RbacPolicy::EffectiveRoles(
    const std::vector<std::string>& direct_roles) const {
  std::vector<std::string> names;
  for (const ReachedRole& reached : ReachedRoles(direct_roles)) names.push_back(reached.role->name);
  return names;
}

std::vector<EffectivePermission> RbacPolicy::EffectivePermissions(
    const std::vector<std::string>& direct_roles) const {
  std::vector<EffectivePermission> permissions;
  for (const ReachedRole& reached : ReachedRoles(direct_roles)) {
    for (std::size_t i = 0; i < reached.role->permissions.size(); ++i) {
      permissions.push_back({reached.role->name, reached.path, i, reached.role->permissions[i]});
    }
  }
  return permissions;
}

Decision RbacPolicy::Decide(const std::vector<std::string>& direct_roles,
                            const std::string& principal, std::string_view action,
                            std::string_view resource) const {
  const std::string engine = EngineOf(principal);
  std::optional<Decision> allow;
  for (const ReachedRole& reached : ReachedRoles(direct_roles)) {
    const std::vector<Permission>& permissions = reached.role->permissions;
    for (std::size_t i = 0; i < permissions.size(); ++i) {
      if (!Covers(permissions[i], action, resource, engine)) continue;
      // A deny ends the search; an allow must wait until no deny can follow.
      if (permissions[i].effect == Effect::kDeny) {
        return {false, RuleText(Effect::kDeny, reached.role->name, i), reached.path};
      }
      if (!allow)
        allow = Decision{true, RuleText(Effect::kAllow, reached.role->name, i), reached.path};
    }
  }
  if (allow) return *allow;
  return {false, "default deny", {}};
}

bool RbacPolicy::Grants(const std::vector<ReachedRole>& reached, std::string_view action,
                        std::string_view engine) const {
  bool allowed = false;
  for (const ReachedRole& entry : reached) {
    for (const Permission& permission : entry.role->permissions) {
      if (!MatchesAny(permission.actions, action)) continue;
      if (permission.effect == Effect::kDeny) {
        // Only a deny on every resource takes the action away everywhere.
        if (std::find(permission.resources.begin(), permission.resources.end(), "*") !=
            permission.resources.end()) {
          return false;
        }
        continue;
      }
      // An allow whose every pattern needs an engine name grants nothing to a non-engine.
      allowed = allowed || std::any_of(permission.resources.begin(), permission.resources.end(),
                                       [&](const std::string& pattern) {
                                         return !engine.empty() || !UsesEngineVariable(pattern);
                                       });
    }
  }
  return allowed;
}

Status RbacPolicy::CheckPrincipal(const std::string& principal,
                                  const std::vector<std::string>& direct_roles) const {
  if (constraints_.empty()) return OkStatus();
  const std::vector<ReachedRole> reached = ReachedRoles(direct_roles);
  const std::string engine = EngineOf(principal);
  auto first_granted = [&](const std::vector<std::string>& patterns) -> std::string_view {
    for (std::string_view action : KnownActions()) {
      if (MatchesAny(patterns, action) && Grants(reached, action, engine)) return action;
    }
    return {};
  };
  for (const SeparationOfDuty& constraint : constraints_) {
    std::string_view first = first_granted(constraint.first_actions);
    if (first.empty()) continue;
    std::string_view second = first_granted(constraint.second_actions);
    if (second.empty()) continue;
    return Error(ErrorKind::kFailedPrecondition, "sod_violation",
                 "principal '" + principal + "' would be allowed both " + std::string(first) +
                     " and " + std::string(second) + ", which separation of duty '" +
                     constraint.name + "' forbids");
  }
  return OkStatus();
}

const Role* RbacPolicy::FindRole(std::string_view name) const {
  auto found = index_.find(std::string(name));
  return found == index_.end() ? nullptr : &roles_[found->second];
}

Result<RbacPolicy> BuildPolicy(const RbacState& state) {
  WK_ASSIGN_OR_RETURN(RbacPolicy policy, RbacPolicy::Create(state.roles, state.separation_of_duty));
  std::unordered_map<std::string, std::vector<std::string>> roles_by_principal;
  for (const Binding& binding : state.bindings) {
    if (state.FindPrincipal(binding.principal) == nullptr) {
      return Error(ErrorKind::kNotFound, "principal_not_found",
                   "a binding names unknown principal '" + binding.principal + "'");
    }
    if (policy.FindRole(binding.role) == nullptr) {
      return Error(ErrorKind::kNotFound, "role_not_found",
                   "a binding names unknown role '" + binding.role + "'");
    }
    roles_by_principal[binding.principal].push_back(binding.role);
  }
  // Disabled principals are checked too: enabling one again must not need another check.
  for (const auto& [principal, roles] : roles_by_principal) {
    WK_RETURN_IF_ERROR(policy.CheckPrincipal(principal, roles));
  }
  return policy;
}

std::vector<std::string> HoldersOf(const RbacState& state, const RbacPolicy& policy,
                                   std::string_view role) {
  std::unordered_map<std::string, std::vector<std::string>> roles_by_principal;
  for (const Binding& binding : state.bindings) {
    roles_by_principal[binding.principal].push_back(binding.role);
  }
  std::vector<std::string> holders;
  for (const Principal& principal : state.principals) {
    auto bound = roles_by_principal.find(principal.id);
    if (principal.disabled || bound == roles_by_principal.end()) continue;
    std::vector<std::string> effective = policy.EffectiveRoles(bound->second);
    if (std::find(effective.begin(), effective.end(), role) != effective.end()) {
      holders.push_back(principal.id);
    }
  }
  return holders;
}

}  // namespace weftkit::auth
