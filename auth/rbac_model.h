// The vocabulary of the server's own role-based access control: actions, resources and their
// patterns, permissions, roles, principals, bindings and separation-of-duty constraints.
//
// Actions form a fixed catalogue (KnownActions()); a role naming any other action is refused, so a
// typo cannot create a permission that silently grants nothing or, worse, more than meant.
// Resources are strings of the forms
//
//   key/<name>  policy/<scope>  principal/<id>  role/<name>  sod/<name>  token/<id>  audit  metrics
//
// A permission lists action patterns and resource patterns:
//   action pattern    an exact action ("dek.unwrap"), a family ("dek.*"), or "*"
//   resource pattern  an exact resource ("key/orders"), or a prefix ending in "*" ("key/orders.*",
//                     "key/*", "*"). The variable "${engine}" stands for the calling engine's
//                     name: the last segment of a SPIFFE principal whose path is
//                     "/engine/<name>". For any other principal a pattern using it matches
//                     nothing. The expansion is literal text: a '*' in an engine name is not a
//                     wildcard.
//
// JSON forms (used by the store and the API, field names exact, unknown fields refused):
//   permission  {"effect":"allow"|"deny","actions":[...],"resources":[...]}
//   role        {"name":...,"description":...,"inherits":[...],"permissions":[...],"builtin":b}
//   sod         {"name":...,"first_actions":[...],"second_actions":[...],"builtin":b}
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::auth {

enum class Effect { kAllow, kDeny };

const char* EffectName(Effect effect);
std::optional<Effect> ParseEffect(std::string_view name);

struct Permission {
  Effect effect = Effect::kAllow;
  std::vector<std::string> actions;    // action patterns
  std::vector<std::string> resources;  // resource patterns
};

struct Role {
  std::string name;
  std::string description;
  std::vector<std::string> inherits;  // names of roles whose permissions this one also holds
  std::vector<Permission> permissions;
  bool builtin = false;  // defined by the server; cannot be changed or deleted through the API
};

enum class PrincipalKind { kService, kPerson };

const char* PrincipalKindName(PrincipalKind kind);
std::optional<PrincipalKind> ParsePrincipalKind(std::string_view name);

struct Principal {
  std::string id;  // a SPIFFE URI for services, a user name for people
  PrincipalKind kind = PrincipalKind::kService;
  std::string description;
  std::int64_t created_at = 0;  // Unix seconds
  bool disabled = false;        // a disabled principal holds no roles
};

// Grants `role` to `principal` directly.
struct Binding {
  std::string principal;
  std::string role;

  bool operator==(const Binding&) const = default;
};

// Nobody may be allowed both an action matching `first_actions` and one matching
// `second_actions`, on any resources.
struct SeparationOfDuty {
  std::string name;
  std::vector<std::string> first_actions;   // action patterns
  std::vector<std::string> second_actions;  // action patterns
  bool builtin = false;
};

// Everything the RBAC store holds, as one value.
struct RbacState {
  std::vector<Principal> principals;
  std::vector<Role> roles;
  std::vector<Binding> bindings;
  std::vector<SeparationOfDuty> separation_of_duty;

  const Principal* FindPrincipal(std::string_view id) const;
  const Role* FindRole(std::string_view name) const;
  const SeparationOfDuty* FindSeparationOfDuty(std::string_view name) const;
  bool HasBinding(const Binding& binding) const;
  // The roles bound to `principal` directly, in binding order.
  std::vector<std::string> DirectRolesOf(std::string_view principal) const;
};

// The catalogue of actions, e.g. "key.read", "dek.unwrap", "role.manage".
std::span<const std::string_view> KnownActions();
bool IsKnownAction(std::string_view action);

// Checks an action pattern. kInvalidArgument "unknown_action" if it names an action or family
// outside the catalogue; "invalid_pattern" if it is malformed (e.g. "key*", "*.read").
Status ValidateActionPattern(std::string_view pattern);
// Checks a resource pattern (see above). kInvalidArgument "invalid_pattern" otherwise.
Status ValidateResourcePattern(std::string_view pattern);

// Whether a validated action pattern covers `action`.
bool ActionMatches(std::string_view pattern, std::string_view action);
// Whether a validated resource pattern covers `resource` for a caller whose engine name is
// `engine` ("" for callers that are not engines).
bool ResourceMatches(std::string_view pattern, std::string_view resource, std::string_view engine);
// Whether `pattern` uses the "${engine}" variable.
bool UsesEngineVariable(std::string_view pattern);

// The engine name of a principal "spiffe://<trust domain>/engine/<name>", or "" for others.
std::string EngineOf(std::string_view principal);

// Name checks, each kInvalidArgument "invalid_field" naming `pointer` in the detail.
// Role and constraint names: 1..64 characters of [A-Za-z0-9._-], the first a letter or digit.
Status ValidateRoleName(std::string_view name, const std::string& pointer);
// Principal ids: 1..512 printable ASCII characters without spaces.
Status ValidatePrincipalId(std::string_view id, const std::string& pointer);
// Descriptions: at most 1024 bytes.
Status ValidateDescription(std::string_view description, const std::string& pointer);

// JSON conversions (see the forms above).
nlohmann::json PermissionToJson(const Permission& permission);
nlohmann::json RoleToJson(const Role& role);
nlohmann::json SeparationOfDutyToJson(const SeparationOfDuty& constraint);

// Parses a JSON array of permissions found at `pointer`. Checks the shape only (the patterns
// are checked by RbacPolicy::Create). kInvalidArgument "invalid_field" or "unknown_field" with
// the offending JSON Pointer in the detail; values are never echoed.
Result<std::vector<Permission>> PermissionsFromJson(const nlohmann::json& array,
                                                    const std::string& pointer);
// Parses a JSON array of at most `max_items` strings found at `pointer`.
Result<std::vector<std::string>> StringArrayFromJson(const nlohmann::json& array,
                                                     const std::string& pointer,
                                                     std::size_t max_items);

}  // namespace weftkit::auth
