#include "auth/sqlite_rbac_store.h"

#include <algorithm>
#include <cstdint>
#include <variant>

#include "auth/builtin_roles.h"
#include "auth/rbac_policy.h"
#include "common/time_util.h"
#include "store/migration.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::auth {
namespace {

using store::Connection;
using store::Statement;

constexpr std::string_view kComponent = "auth.rbac";

// Released migrations never change; a schema change is a new entry at the end.
constexpr store::Migration kMigrations[] = {
    {1, R"sql(
  CREATE TABLE rbac_principals (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('service', 'person')),
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
  ) STRICT;

  CREATE TABLE rbac_roles (
    name        TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    inherits    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of role names, in order
    permissions TEXT    NOT NULL DEFAULT '[]',  -- JSON array of permissions (rbac_model.h)
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1))
  ) STRICT;

  CREATE TABLE rbac_bindings (
    principal  TEXT    NOT NULL REFERENCES rbac_principals (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL REFERENCES rbac_roles (name),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (principal, role)
  ) STRICT;

  CREATE INDEX rbac_bindings_by_role ON rbac_bindings (role);

  CREATE TABLE rbac_separation_of_duty (
    name           TEXT    NOT NULL PRIMARY KEY,
    first_actions  TEXT    NOT NULL,  -- JSON array of action patterns
    second_actions TEXT    NOT NULL,  -- JSON array of action patterns
    builtin        INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1))
  ) STRICT;
)sql"},
};

Error Corrupt(const std::string& what) {
  return Error(ErrorKind::kInternal, "store_corrupt", "RBAC store row holds " + what);
}

Error Immutable(const char* code, const std::string& what) {
  return Error(ErrorKind::kFailedPrecondition, code, what + " is built in and cannot be changed");
}

// Parses a JSON column; a parse failure means the row was not written by this code.
Result<nlohmann::json> JsonColumn(const Statement& row, int column, const char* what) {
  nlohmann::json parsed =
      nlohmann::json::parse(row.ColumnText(column), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Corrupt(std::string("unparsable ") + what);
  return parsed;
}

Result<std::vector<Principal>> LoadPrincipals(Connection& connection) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(connection,
                                         "SELECT id, kind, description, created_at, disabled "
                                         "FROM rbac_principals ORDER BY id"));
  std::vector<Principal> principals;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return principals;
    std::optional<PrincipalKind> kind = ParsePrincipalKind(query.ColumnText(1));
    if (!kind) return Corrupt("an unknown principal kind");
    principals.push_back({query.ColumnText(0), *kind, query.ColumnText(2), query.ColumnInt64(3),
                          query.ColumnInt64(4) != 0});
  }
}

Result<Role> ReadRoleRow(const Statement& row) {
  Role role;
  role.name = row.ColumnText(0);
  role.description = row.ColumnText(1);
  WK_ASSIGN_OR_RETURN(nlohmann::json inherits, JsonColumn(row, 2, "role inherits"));
  WK_ASSIGN_OR_RETURN(nlohmann::json permissions, JsonColumn(row, 3, "role permissions"));
  auto parsed_inherits = StringArrayFromJson(inherits, "/inherits", SIZE_MAX);
  if (!parsed_inherits.ok()) return Corrupt("malformed role inherits");
  auto parsed_permissions = PermissionsFromJson(permissions, "/permissions");
  if (!parsed_permissions.ok()) return Corrupt("malformed role permissions");
  role.inherits = std::move(parsed_inherits).value();
  role.permissions = std::move(parsed_permissions).value();
  role.builtin = row.ColumnInt64(4) != 0;
  return role;
}

Result<std::vector<Role>> LoadRoles(Connection& connection) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(connection,
                                         "SELECT name, description, inherits, permissions, "
                                         "builtin FROM rbac_roles ORDER BY name"));
  std::vector<Role> roles;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return roles;
    WK_ASSIGN_OR_RETURN(Role role, ReadRoleRow(query));
    roles.push_back(std::move(role));
  }
}

Result<std::vector<Binding>> LoadBindings(Connection& connection) {
  // rowid order is grant order, which decides which path a decision reports first.
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(connection,
                                         "SELECT principal, role FROM rbac_bindings ORDER BY "
                                         "rowid"));
  std::vector<Binding> bindings;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return bindings;
    bindings.push_back({query.ColumnText(0), query.ColumnText(1)});
  }
}

Result<std::vector<SeparationOfDuty>> LoadConstraints(Connection& connection) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(connection,
                                         "SELECT name, first_actions, second_actions, builtin "
                                         "FROM rbac_separation_of_duty ORDER BY name"));
  std::vector<SeparationOfDuty> constraints;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return constraints;
    WK_ASSIGN_OR_RETURN(nlohmann::json first, JsonColumn(query, 1, "constraint actions"));
    WK_ASSIGN_OR_RETURN(nlohmann::json second, JsonColumn(query, 2, "constraint actions"));
    auto first_actions = StringArrayFromJson(first, "/first_actions", SIZE_MAX);
    auto second_actions = StringArrayFromJson(second, "/second_actions", SIZE_MAX);
    if (!first_actions.ok() || !second_actions.ok()) return Corrupt("malformed constraint");
    constraints.push_back({query.ColumnText(0), std::move(first_actions).value(),
                           std::move(second_actions).value(), query.ColumnInt64(3) != 0});
  }
}

Result<RbacState> LoadState(Connection& connection) {
  RbacState state;
  WK_ASSIGN_OR_RETURN(state.principals, LoadPrincipals(connection));
  WK_ASSIGN_OR_RETURN(state.roles, LoadRoles(connection));
  WK_ASSIGN_OR_RETURN(state.bindings, LoadBindings(connection));
  WK_ASSIGN_OR_RETURN(state.separation_of_duty, LoadConstraints(connection));
  return state;
}

// Runs one constant statement with text and integer parameters bound in order.
Status Execute(Connection& connection, std::string_view sql,
               std::initializer_list<std::variant<std::string_view, std::int64_t>> parameters) {
  WK_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(connection, sql));
  int index = 1;
  for (const auto& parameter : parameters) {
    Status bound = std::visit([&](auto value) { return statement.Bind(index, value); }, parameter);
    WK_RETURN_IF_ERROR(bound);
    ++index;
  }
  return statement.StepToEnd();
}

Status WritePrincipal(Connection& connection, const Principal& principal) {
  return Execute(connection,
                 "INSERT INTO rbac_principals (id, kind, description, created_at, disabled) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET "
                 "description = excluded.description, disabled = excluded.disabled",
                 {principal.id, PrincipalKindName(principal.kind), principal.description,
                  principal.created_at, std::int64_t{principal.disabled ? 1 : 0}});
}

Status WriteRole(Connection& connection, const Role& role) {
  nlohmann::json permissions = nlohmann::json::array();
  for (const Permission& permission : role.permissions) {
    permissions.push_back(PermissionToJson(permission));
  }
  const std::string inherits_text = nlohmann::json(role.inherits).dump();
  const std::string permissions_text = permissions.dump();
  return Execute(connection,
                 "INSERT INTO rbac_roles (name, description, inherits, permissions, builtin) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
                 "description = excluded.description, inherits = excluded.inherits, "
                 "permissions = excluded.permissions, builtin = excluded.builtin",
                 {role.name, role.description, inherits_text, permissions_text,
                  std::int64_t{role.builtin ? 1 : 0}});
}

Status WriteConstraint(Connection& connection, const SeparationOfDuty& constraint) {
  const std::string first = nlohmann::json(constraint.first_actions).dump();
  const std::string second = nlohmann::json(constraint.second_actions).dump();
  return Execute(connection,
                 "INSERT INTO rbac_separation_of_duty (name, first_actions, second_actions, "
                 "builtin) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                 "first_actions = excluded.first_actions, second_actions = "
                 "excluded.second_actions, builtin = excluded.builtin",
                 {constraint.name, first, second, std::int64_t{constraint.builtin ? 1 : 0}});
}

Status WriteBinding(Connection& connection, const Binding& binding) {
  return Execute(connection,
                 "INSERT INTO rbac_bindings (principal, role, created_at) VALUES (?1, ?2, ?3)",
                 {binding.principal, binding.role, UnixNow()});
}

template <typename T, typename Predicate>
void EraseIf(std::vector<T>& items, Predicate predicate) {
  items.erase(std::remove_if(items.begin(), items.end(), predicate), items.end());
}

Error PrincipalNotFound(const std::string& id) {
  return Error(ErrorKind::kNotFound, "principal_not_found", "no principal '" + id + "'");
}

Error RoleNotFound(const std::string& name) {
  return Error(ErrorKind::kNotFound, "role_not_found", "no role '" + name + "'");
}

// Puts `role` into `state`, replacing a role of the same name, and writes it.
Status PutRole(RbacState& state, Connection& connection, const Role& role) {
  // In place, so that the state keeps the order a fresh Load would give.
  auto existing = std::find_if(state.roles.begin(), state.roles.end(),
                               [&](const Role& stored) { return stored.name == role.name; });
  if (existing != state.roles.end()) {
    *existing = role;
  } else {
    state.roles.push_back(role);
  }
  return WriteRole(connection, role);
}

Status CheckRoleUnused(const RbacState& state, const std::string& name) {
  for (const Binding& binding : state.bindings) {
    if (binding.role == name) {
      return Error(ErrorKind::kFailedPrecondition, "role_in_use",
                   "role '" + name + "' is bound to '" + binding.principal + "'");
    }
  }
  for (const Role& role : state.roles) {
    if (std::find(role.inherits.begin(), role.inherits.end(), name) != role.inherits.end()) {
      return Error(ErrorKind::kFailedPrecondition, "role_in_use",
                   "role '" + name + "' is inherited by '" + role.name + "'");
    }
  }
  return OkStatus();
}

Status AddBindingTo(RbacState& state, Connection& connection, const Binding& binding) {
  if (state.FindPrincipal(binding.principal) == nullptr)
    return PrincipalNotFound(binding.principal);
  if (state.FindRole(binding.role) == nullptr) return RoleNotFound(binding.role);
  if (state.HasBinding(binding)) {
    return Error(ErrorKind::kAlreadyExists, "binding_exists",
                 "'" + binding.principal + "' already holds '" + binding.role + "'");
  }
  state.bindings.push_back(binding);
  return WriteBinding(connection, binding);
}

}  // namespace

Result<std::unique_ptr<SqliteRbacStore>> SqliteRbacStore::Open(
    std::shared_ptr<store::Database> database) {
  if (database == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "RBAC store opened without a database");
  }
  WK_RETURN_IF_ERROR(store::Migrate(*database, kComponent, kMigrations));
  auto rbac_store = std::unique_ptr<SqliteRbacStore>(new SqliteRbacStore(std::move(database)));
  WK_RETURN_IF_ERROR(rbac_store->WriteBuiltins());
  return rbac_store;
}

Status SqliteRbacStore::WriteBuiltins() {
  Result<RbacState> written = Mutate([](RbacState& state, Connection& connection) -> Status {
    for (const Role& role : BuiltinRoles()) {
      const Role* existing = state.FindRole(role.name);
      if (existing != nullptr && !existing->builtin) {
        return Error(ErrorKind::kFailedPrecondition, "builtin_role_conflict",
                     "a role made through the API is named '" + role.name +
                         "', which is now a built-in role");
      }
      WK_RETURN_IF_ERROR(PutRole(state, connection, role));
    }
    for (const SeparationOfDuty& constraint : BuiltinSeparationOfDuty()) {
      EraseIf(state.separation_of_duty,
              [&](const SeparationOfDuty& existing) { return existing.name == constraint.name; });
      state.separation_of_duty.push_back(constraint);
      WK_RETURN_IF_ERROR(WriteConstraint(connection, constraint));
    }
    return OkStatus();
  });
  if (!written.ok()) return written.error();
  return OkStatus();
}

Result<RbacState> SqliteRbacStore::Mutate(const Edit& edit) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Result<RbacState> {
    WK_ASSIGN_OR_RETURN(RbacState state, LoadState(connection));
    // A stored state that no longer validates (say, edited by hand) must stay repairable, so
    // it only counts as having an administrator when it is valid.
    Result<RbacPolicy> before = BuildPolicy(state);
    const bool had_admin = before.ok() && !HoldersOf(state, *before, kAdminRole).empty();

    WK_RETURN_IF_ERROR(edit(state, connection));

    WK_ASSIGN_OR_RETURN(RbacPolicy after, BuildPolicy(state));
    if (had_admin && HoldersOf(state, after, kAdminRole).empty()) {
      return Error(ErrorKind::kFailedPrecondition, "last_admin",
                   "the change would leave no enabled principal holding the admin role");
    }
    return state;
  });
}

Result<RbacState> SqliteRbacStore::Load() {
  return store::InReadTransaction(*database_, LoadState);
}

Result<RbacState> SqliteRbacStore::CreatePrincipal(const Principal& principal) {
  WK_RETURN_IF_ERROR(ValidatePrincipalId(principal.id, "/id"));
  WK_RETURN_IF_ERROR(ValidateDescription(principal.description, "/description"));
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    if (state.FindPrincipal(principal.id) != nullptr) {
      return Error(ErrorKind::kAlreadyExists, "principal_exists",
                   "principal '" + principal.id + "' exists");
    }
    state.principals.push_back(principal);
    return WritePrincipal(connection, principal);
  });
}

Result<RbacState> SqliteRbacStore::UpdatePrincipal(const Principal& principal) {
  WK_RETURN_IF_ERROR(ValidateDescription(principal.description, "/description"));
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    auto found =
        std::find_if(state.principals.begin(), state.principals.end(),
                     [&](const Principal& existing) { return existing.id == principal.id; });
    if (found == state.principals.end()) return PrincipalNotFound(principal.id);
    found->description = principal.description;
    found->disabled = principal.disabled;
    return WritePrincipal(connection, *found);
  });
}

Result<RbacState> SqliteRbacStore::DeletePrincipal(const std::string& id) {
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    if (state.FindPrincipal(id) == nullptr) return PrincipalNotFound(id);
    EraseIf(state.principals, [&](const Principal& principal) { return principal.id == id; });
    EraseIf(state.bindings, [&](const Binding& binding) { return binding.principal == id; });
    // The bindings go with the principal (ON DELETE CASCADE).
    return Execute(connection, "DELETE FROM rbac_principals WHERE id = ?1", {id});
  });
}

Result<RbacState> SqliteRbacStore::CreateRole(const Role& role) {
  if (role.builtin) return Immutable("builtin_role_immutable", "role '" + role.name + "'");
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    if (state.FindRole(role.name) != nullptr) {
      return Error(ErrorKind::kAlreadyExists, "role_exists", "role '" + role.name + "' exists");
    }
    return PutRole(state, connection, role);
  });
}

Result<RbacState> SqliteRbacStore::ReplaceRole(const Role& role) {
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    const Role* existing = state.FindRole(role.name);
    if (existing == nullptr) return RoleNotFound(role.name);
    if (existing->builtin || role.builtin) {
      return Immutable("builtin_role_immutable", "role '" + role.name + "'");
    }
    return PutRole(state, connection, role);
  });
}

Result<RbacState> SqliteRbacStore::DeleteRole(const std::string& name) {
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    const Role* existing = state.FindRole(name);
    if (existing == nullptr) return RoleNotFound(name);
    if (existing->builtin) return Immutable("builtin_role_immutable", "role '" + name + "'");
    WK_RETURN_IF_ERROR(CheckRoleUnused(state, name));
    EraseIf(state.roles, [&](const Role& role) { return role.name == name; });
    return Execute(connection, "DELETE FROM rbac_roles WHERE name = ?1", {name});
  });
}

Result<RbacState> SqliteRbacStore::AddBinding(const Binding& binding) {
  return Mutate([&](RbacState& state, Connection& connection) {
    return AddBindingTo(state, connection, binding);
  });
}

Result<RbacState> SqliteRbacStore::RemoveBinding(const Binding& binding) {
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    if (!state.HasBinding(binding)) {
      return Error(ErrorKind::kNotFound, "binding_not_found",
                   "'" + binding.principal + "' does not hold '" + binding.role + "'");
    }
    EraseIf(state.bindings, [&](const Binding& existing) { return existing == binding; });
    return Execute(connection, "DELETE FROM rbac_bindings WHERE principal = ?1 AND role = ?2",
                   {binding.principal, binding.role});
  });
}

Result<RbacState> SqliteRbacStore::AddSeparationOfDuty(const SeparationOfDuty& constraint) {
  if (constraint.builtin) {
    return Immutable("builtin_sod_immutable", "separation of duty '" + constraint.name + "'");
  }
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    if (state.FindSeparationOfDuty(constraint.name) != nullptr) {
      return Error(ErrorKind::kAlreadyExists, "sod_exists",
                   "separation of duty '" + constraint.name + "' exists");
    }
    state.separation_of_duty.push_back(constraint);
    return WriteConstraint(connection, constraint);
  });
}

Result<RbacState> SqliteRbacStore::RemoveSeparationOfDuty(const std::string& name) {
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    const SeparationOfDuty* existing = state.FindSeparationOfDuty(name);
    if (existing == nullptr) {
      return Error(ErrorKind::kNotFound, "sod_not_found", "no separation of duty '" + name + "'");
    }
    if (existing->builtin) {
      return Immutable("builtin_sod_immutable", "separation of duty '" + name + "'");
    }
    EraseIf(state.separation_of_duty,
            [&](const SeparationOfDuty& constraint) { return constraint.name == name; });
    return Execute(connection, "DELETE FROM rbac_separation_of_duty WHERE name = ?1", {name});
  });
}

Result<RbacState> SqliteRbacStore::BootstrapAdmin(const Principal& principal) {
  WK_RETURN_IF_ERROR(ValidatePrincipalId(principal.id, "/id"));
  return Mutate([&](RbacState& state, Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(RbacPolicy policy, BuildPolicy(state));
    if (!HoldersOf(state, policy, kAdminRole).empty()) return OkStatus();
    const Principal* existing = state.FindPrincipal(principal.id);
    if (existing != nullptr && existing->disabled) {
      return Error(ErrorKind::kFailedPrecondition, "principal_disabled",
                   "bootstrap administrator '" + principal.id + "' is disabled");
    }
    if (existing == nullptr) {
      state.principals.push_back(principal);
      WK_RETURN_IF_ERROR(WritePrincipal(connection, principal));
    }
    return AddBindingTo(state, connection, {principal.id, kAdminRole});
  });
}

}  // namespace weftkit::auth
