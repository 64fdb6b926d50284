// RbacStore: where principals, roles, bindings and separation-of-duty constraints are kept.
//
// Every mutation is atomic and validated against the whole resulting state before it is
// committed: the roles must still form a valid policy (RbacPolicy::Create), every binding must
// name an existing principal and role, no principal may violate a separation-of-duty
// constraint, and, once some enabled principal holds the admin role, at least one must keep it.
// A refused mutation changes nothing. On success each mutation returns the state it committed,
// so a cache can be replaced without reading the store again.
//
// Errors common to every mutation: those of BuildPolicy (rbac_policy.h), kFailedPrecondition
// "last_admin" when the change would leave no enabled principal holding admin, and mapped store
// errors ("store_busy", "store_unavailable", ...). Each method lists its own besides these.
//
// The interface exists so that a multi-node deployment can put the same model on a replicated
// database (DESIGN.md, decision 5).
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <string>

#include "auth/rbac_model.h"
#include "common/error.h"

namespace weftkit::auth {

class RbacStore {
 public:
  virtual ~RbacStore() = default;

  // Reads the whole state from one consistent snapshot.
  virtual Result<RbacState> Load() = 0;

  // kAlreadyExists "principal_exists".
  virtual Result<RbacState> CreatePrincipal(const Principal& principal) = 0;
  // Replaces the description and disabled flag of `principal.id`; kind and created_at stay.
  // kNotFound "principal_not_found".
  virtual Result<RbacState> UpdatePrincipal(const Principal& principal) = 0;
  // Removes the principal and its bindings. kNotFound "principal_not_found".
  virtual Result<RbacState> DeletePrincipal(const std::string& id) = 0;

  // kAlreadyExists "role_exists"; kFailedPrecondition "builtin_role_immutable" if
  // `role.builtin` is set (only the store itself writes built-in roles).
  virtual Result<RbacState> CreateRole(const Role& role) = 0;
  // Replaces description, inherits and permissions of `role.name`. kNotFound "role_not_found";
  // kFailedPrecondition "builtin_role_immutable".
  virtual Result<RbacState> ReplaceRole(const Role& role) = 0;
  // kNotFound "role_not_found"; kFailedPrecondition "builtin_role_immutable", or "role_in_use"
  // while a binding or another role's inherits names it.
  virtual Result<RbacState> DeleteRole(const std::string& name) = 0;

  // kAlreadyExists "binding_exists"; kNotFound "principal_not_found" or "role_not_found".
  virtual Result<RbacState> AddBinding(const Binding& binding) = 0;
  // kNotFound "binding_not_found".
  virtual Result<RbacState> RemoveBinding(const Binding& binding) = 0;

  // kAlreadyExists "sod_exists"; kFailedPrecondition "builtin_role_immutable" if `builtin` is
  // set; "sod_violation" if a principal already breaks the new constraint.
  virtual Result<RbacState> AddSeparationOfDuty(const SeparationOfDuty& constraint) = 0;
  // kNotFound "sod_not_found"; kFailedPrecondition "builtin_sod_immutable".
  virtual Result<RbacState> RemoveSeparationOfDuty(const std::string& name) = 0;

  // If no enabled principal holds the admin role, creates `principal` unless it exists and
  // binds admin to it, in one transaction; otherwise changes nothing. kFailedPrecondition
  // "principal_disabled" if `principal.id` exists but is disabled.
  virtual Result<RbacState> BootstrapAdmin(const Principal& principal) = 0;
};

}  // namespace weftkit::auth
