// SqliteRbacStore: the RbacStore kept in the embedded SQLite database.
//
// Tables (component "auth.rbac" in schema_migrations):
//   rbac_principals          one row per principal.
//   rbac_roles               one row per role; inherits and permissions as JSON text in the
//                            forms of rbac_model.h, so a role is read and written whole.
//   rbac_bindings            (principal, role) pairs; deleting a principal deletes its bindings,
//                            a bound role cannot be deleted.
//   rbac_separation_of_duty  one row per constraint, action lists as JSON arrays.
//
// Every mutation is one BEGIN IMMEDIATE transaction that reads the current state, applies the
// change to it in memory and in SQL, validates the result (see rbac_store.h) and commits only if
// it is valid. Mutations are rare administrative acts, so reading the whole state each time
// buys simple, obviously consistent validation.
//
// Opening the store writes the built-in roles and constraints (builtin_roles.h) as this build
// defines them, replacing older definitions.
//
// Thread safety: thread-safe; calls are serialised through the shared Database's lock, and
// other processes using the same file are serialised by SQLite's locking.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "auth/rbac_store.h"
#include "store/connection.h"
#include "store/database.h"

namespace weftkit::auth {

class SqliteRbacStore final : public RbacStore {
 public:
  // Applies the migrations to `database`, writes the built-in roles and constraints, and
  // returns a store that shares ownership of `database`. Fails with "store_schema_too_new",
  // kFailedPrecondition "builtin_role_conflict" if a role made through the API has the name of
  // a built-in one, any validation error of the state with the new built-ins, or a mapped
  // SQLite error.
  static Result<std::unique_ptr<SqliteRbacStore>> Open(std::shared_ptr<store::Database> database);

  Result<RbacState> Load() override;
  Result<RbacState> CreatePrincipal(const Principal& principal) override;
  Result<RbacState> UpdatePrincipal(const Principal& principal) override;
  Result<RbacState> DeletePrincipal(const std::string& id) override;
  Result<RbacState> CreateRole(const Role& role) override;
  Result<RbacState> ReplaceRole(const Role& role) override;
  Result<RbacState> DeleteRole(const std::string& name) override;
  Result<RbacState> AddBinding(const Binding& binding) override;
  Result<RbacState> RemoveBinding(const Binding& binding) override;
  Result<RbacState> AddSeparationOfDuty(const SeparationOfDuty& constraint) override;
  Result<RbacState> RemoveSeparationOfDuty(const std::string& name) override;
  Result<RbacState> BootstrapAdmin(const Principal& principal) override;

 private:
  // Changes `state` in memory and the database through the connection, to the same effect.
  using Edit = std::function<Status(RbacState& state, store::Connection& connection)>;

  explicit SqliteRbacStore(std::shared_ptr<store::Database> database)
      : database_(std::move(database)) {}

  // Runs `edit` in one write transaction and commits if the resulting state is valid.
  Result<RbacState> Mutate(const Edit& edit);
  Status WriteBuiltins();

  const std::shared_ptr<store::Database> database_;
};

}  // namespace weftkit::auth
