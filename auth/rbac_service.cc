#include "auth/rbac_service.h"

#include <algorithm>
#include <utility>

#include "auth/builtin_roles.h"
#include "auth/sqlite_rbac_store.h"
#include "common/log.h"
#include "common/time_util.h"

namespace weftkit::auth {
namespace {

// Logs one change to the RBAC state with who made it: `subject` names what changed and
// `change` says how. The durable record of a change made over HTTP is its request's audit entry
// (docs/audit.md); this line adds what changed for operators.
void LogChange(const SecurityContext& actor, std::string_view event, log::Field subject,
               log::Field change) {
  log::Info(event, {{"request_id", actor.request_id()},
                    {"actor", actor.principal()},
                    std::move(subject),
                    std::move(change)});
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ",") + name;
  return joined;
}

std::string RolesText(const Role& role) {
  return std::to_string(role.permissions.size()) + " permissions, inherits [" +
         JoinNames(role.inherits) + "]";
}

// The context of the server itself, for changes it makes on its own (the bootstrap).
SecurityContext ServerContext() {
  return SecurityContext({"kmsd", AuthMethod::kNone, {}, "bootstrap", "", UnixNow()});
}

}  // namespace

Result<std::unique_ptr<RbacService>> RbacService::Open(std::shared_ptr<store::Database> database) {
  WK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteRbacStore> rbac_store,
                      SqliteRbacStore::Open(std::move(database)));
  return Create(std::move(rbac_store));
}

Result<std::unique_ptr<RbacService>> RbacService::Create(std::unique_ptr<RbacStore> rbac_store) {
  if (rbac_store == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "RBAC service created without a store");
  }
  auto service = std::unique_ptr<RbacService>(new RbacService(std::move(rbac_store)));
  WK_RETURN_IF_ERROR(service->Reload());
  return service;
}

Status RbacService::Publish(RbacState state) {
  WK_ASSIGN_OR_RETURN(RbacPolicy policy, BuildPolicy(state));
  auto snapshot =
      std::make_shared<RbacSnapshot>(RbacSnapshot{std::move(state), std::move(policy), {}});
  for (const Principal& principal : snapshot->state.principals) {
    if (!principal.disabled)
      snapshot->roles_by_principal.emplace(principal.id, std::vector<std::string>{});
  }
  for (const Binding& binding : snapshot->state.bindings) {
    auto holder = snapshot->roles_by_principal.find(binding.principal);
    if (holder != snapshot->roles_by_principal.end()) holder->second.push_back(binding.role);
  }
  std::shared_ptr<const RbacSnapshot> previous;
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    previous = std::exchange(snapshot_, std::move(snapshot));
  }
  // `previous` is released here, outside the lock, unless a reader still holds it.
  return OkStatus();
}

std::shared_ptr<const RbacSnapshot> RbacService::Snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  return snapshot_;
}

Status RbacService::Reload() {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  WK_ASSIGN_OR_RETURN(RbacState state, store_->Load());
  return Publish(std::move(state));
}

Status RbacService::Apply(const std::function<Result<RbacState>(RbacStore&)>& mutation) {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  WK_ASSIGN_OR_RETURN(RbacState committed, mutation(*store_));
  return Publish(std::move(committed));
}

std::vector<std::string> RbacService::RolesOf(const std::string& principal) const {
  std::shared_ptr<const RbacSnapshot> snapshot = Snapshot();
  auto found = snapshot->roles_by_principal.find(principal);
  if (found == snapshot->roles_by_principal.end()) return {};
  return found->second;
}

Decision RbacService::Decide(const SecurityContext& context, std::string_view action,
                             std::string_view resource) const {
  if (!context.authenticated()) return {false, "default deny", {}};
  return Snapshot()->policy.Decide(context.roles(), context.principal(), action, resource);
}

Status RbacService::Authorize(const SecurityContext& context, std::string_view action,
                              std::string_view resource) const {
  Decision decision = Decide(context, action, resource);
  if (decision.allowed) return OkStatus();
  return Error(ErrorKind::kPermissionDenied, "forbidden",
               "principal '" + context.principal() + "' may not " + std::string(action) + " on " +
                   std::string(resource) + " (" + decision.rule + ")");
}

Result<Principal> RbacService::GetPrincipal(const std::string& id) const {
  const Principal* found = Snapshot()->state.FindPrincipal(id);
  if (found == nullptr) {
    return Error(ErrorKind::kNotFound, "principal_not_found", "no principal '" + id + "'");
  }
  return *found;
}

Result<Role> RbacService::GetRole(const std::string& name) const {
  const Role* found = Snapshot()->state.FindRole(name);
  if (found == nullptr)
    return Error(ErrorKind::kNotFound, "role_not_found", "no role '" + name + "'");
  return *found;
}

std::vector<Binding> RbacService::ListBindings(const std::optional<std::string>& principal) const {
  std::shared_ptr<const RbacSnapshot> snapshot = Snapshot();
  std::vector<Binding> bindings;
  for (const Binding& binding : snapshot->state.bindings) {
    if (!principal || binding.principal == *principal) bindings.push_back(binding);
  }
  return bindings;
}

Result<AccessReport> RbacService::ReviewAccess(const std::string& principal) const {
  AccessReport report;
  report.snapshot = Snapshot();
  const Principal* found = report.snapshot->state.FindPrincipal(principal);
  if (found == nullptr) {
    return Error(ErrorKind::kNotFound, "principal_not_found", "no principal '" + principal + "'");
  }
  report.principal = *found;
  report.direct_roles = report.snapshot->state.DirectRolesOf(principal);
  // A disabled principal holds nothing now, but the review shows what it would hold again.
  report.effective_roles = report.snapshot->policy.ReachedRoles(report.direct_roles);
  report.permissions = report.snapshot->policy.EffectivePermissions(report.direct_roles);
  report.engine = EngineOf(principal);
  return report;
}

Result<Principal> RbacService::CreatePrincipal(const SecurityContext& actor, Principal principal) {
  principal.created_at = UnixNow();
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.CreatePrincipal(principal); }));
  LogChange(actor, "rbac_principal_created", {"principal", principal.id},
            {"kind", PrincipalKindName(principal.kind)});
  return GetPrincipal(principal.id);
}

Result<Principal> RbacService::UpdatePrincipal(const SecurityContext& actor,
                                               const Principal& principal) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.UpdatePrincipal(principal); }));
  LogChange(actor, "rbac_principal_updated", {"principal", principal.id},
            {"disabled", principal.disabled ? "true" : "false"});
  return GetPrincipal(principal.id);
}

Status RbacService::DeletePrincipal(const SecurityContext& actor, const std::string& id) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.DeletePrincipal(id); }));
  LogChange(actor, "rbac_principal_deleted", {"principal", id}, {"change", "deleted"});
  return OkStatus();
}

Result<Role> RbacService::CreateRole(const SecurityContext& actor, Role role) {
  role.builtin = false;
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.CreateRole(role); }));
  LogChange(actor, "rbac_role_created", {"role", role.name}, {"definition", RolesText(role)});
  return GetRole(role.name);
}

Result<Role> RbacService::ReplaceRole(const SecurityContext& actor, Role role) {
  role.builtin = false;
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.ReplaceRole(role); }));
  LogChange(actor, "rbac_role_replaced", {"role", role.name}, {"definition", RolesText(role)});
  return GetRole(role.name);
}

Status RbacService::DeleteRole(const SecurityContext& actor, const std::string& name) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.DeleteRole(name); }));
  LogChange(actor, "rbac_role_deleted", {"role", name}, {"change", "deleted"});
  return OkStatus();
}

Status RbacService::AddBinding(const SecurityContext& actor, const Binding& binding) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.AddBinding(binding); }));
  LogChange(actor, "rbac_binding_added", {"principal", binding.principal}, {"role", binding.role});
  return OkStatus();
}

Status RbacService::RemoveBinding(const SecurityContext& actor, const Binding& binding) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.RemoveBinding(binding); }));
  LogChange(actor, "rbac_binding_removed", {"principal", binding.principal},
            {"role", binding.role});
  return OkStatus();
}

Result<SeparationOfDuty> RbacService::AddSeparationOfDuty(const SecurityContext& actor,
                                                          SeparationOfDuty constraint) {
  constraint.builtin = false;
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.AddSeparationOfDuty(constraint); }));
  LogChange(actor, "rbac_sod_added", {"sod", constraint.name},
            {"definition", "[" + JoinNames(constraint.first_actions) + "] vs [" +
                               JoinNames(constraint.second_actions) + "]"});
  return constraint;
}

Status RbacService::RemoveSeparationOfDuty(const SecurityContext& actor, const std::string& name) {
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.RemoveSeparationOfDuty(name); }));
  LogChange(actor, "rbac_sod_removed", {"sod", name}, {"change", "deleted"});
  return OkStatus();
}

Result<bool> RbacService::EnsureBootstrapAdmin(const std::string& principal) {
  {
    std::shared_ptr<const RbacSnapshot> snapshot = Snapshot();
    if (!HoldersOf(snapshot->state, snapshot->policy, kAdminRole).empty()) return false;
  }
  const PrincipalKind kind =
      principal.rfind("spiffe://", 0) == 0 ? PrincipalKind::kService : PrincipalKind::kPerson;
  Principal admin{principal, kind, "first administrator", UnixNow(), false};
  WK_RETURN_IF_ERROR(Apply([&](RbacStore& s) { return s.BootstrapAdmin(admin); }));
  LogChange(ServerContext(), "rbac_bootstrap_admin", {"principal", principal},
            {"role", kAdminRole});
  return true;
}

}  // namespace weftkit::auth
