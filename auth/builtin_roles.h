// The roles and separation-of-duty constraints every installation has, defined here in code.
//
//   engine       key.read and dek.* on its own keys: "key/${engine}" and "key/${engine}.*"
//   key-officer  key.* (including key.destroy) on key/*, policy.read and policy.publish on
//                policy/*, audit.read, metrics.read, role.read on role/* and sod/*,
//                principal.read on principal/*
//   auditor      read-only: key.read, policy.read, audit.read, metrics.read, role.read,
//                principal.read
//   admin        inherits key-officer; principal.manage, role.manage (roles and constraints),
//                token.revoke. Not dek.*: administrators do not handle data keys.
//
//   destroy-vs-unwrap  nobody who may schedule the destruction of key versions may also unwrap
//                      DEKs.
//
// The store writes these at every open, so a new release's definitions replace the old ones;
// the API refuses to change or delete them.
//
// Thread safety: pure functions.
#pragma once

#include <vector>

#include "auth/rbac_model.h"

namespace weftkit::auth {

inline constexpr const char* kAdminRole = "admin";
inline constexpr const char* kEngineRole = "engine";
inline constexpr const char* kKeyOfficerRole = "key-officer";
inline constexpr const char* kAuditorRole = "auditor";

// The built-in roles, each with builtin = true.
std::vector<Role> BuiltinRoles();

// The built-in constraints, each with builtin = true.
std::vector<SeparationOfDuty> BuiltinSeparationOfDuty();

}  // namespace weftkit::auth
