#include "auth/rbac_model.h"

#include <algorithm>
#include <array>

namespace weftkit::auth {
namespace {

constexpr std::array<std::string_view, 20> kActions = {
    "key.read",    "key.create",     "key.rotate",     "key.manage_versions",
    "key.destroy", "dek.generate",   "dek.wrap",       "dek.unwrap",
    "dek.rewrap",  "metrics.read",   "principal.read", "principal.manage",
    "role.read",   "role.manage",    "token.issue",    "token.revoke",
    "policy.read", "policy.publish", "audit.read",     "audit.checkpoint",
};

// Resource kinds: a prefix that must be followed by a name, or a whole singleton resource.
constexpr std::array<std::string_view, 6> kNamedResourcePrefixes = {
    "key/", "policy/", "principal/", "role/", "sod/", "token/",
};
constexpr std::array<std::string_view, 2> kSingletonResources = {"audit", "metrics"};

constexpr std::string_view kEngineVariable = "${engine}";
constexpr std::size_t kMaxPatternBytes = 512;
constexpr std::size_t kMaxPermissions = 100;
constexpr std::size_t kMaxPatternsPerPermission = 64;

Error InvalidPattern(std::string_view what, std::string_view pattern_kind) {
  return Error(ErrorKind::kInvalidArgument, "invalid_pattern",
               std::string(pattern_kind) + " pattern " + std::string(what));
}

Error InvalidFieldError(const std::string& pointer, const std::string& expected) {
  return Error(ErrorKind::kInvalidArgument, "invalid_field", pointer + ": expected " + expected);
}

bool IsFamilyKnown(std::string_view family) {
  return std::any_of(kActions.begin(), kActions.end(), [&](std::string_view action) {
    return action.size() > family.size() + 1 && action.substr(0, family.size()) == family &&
           action[family.size()] == '.';
  });
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Every '$' in `body` must open "${engine}"; returns `body` with those occurrences removed.
std::optional<std::string> WithoutEngineVariables(std::string_view body) {
  std::string rest;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t dollar = body.find('$', at);
    if (dollar == std::string_view::npos) dollar = body.size();
    rest.append(body.substr(at, dollar - at));
    if (dollar == body.size()) break;
    if (body.substr(dollar, kEngineVariable.size()) != kEngineVariable) return std::nullopt;
    at = dollar + kEngineVariable.size();
  }
  return rest;
}

// Whether `body` (a pattern without its trailing '*') stays within one resource kind.
bool HasKnownKind(std::string_view body, bool prefix_match) {
  for (std::string_view kind : kSingletonResources) {
    if (body == kind) return true;
  }
  for (std::string_view kind : kNamedResourcePrefixes) {
    // An exact pattern needs a name after the kind ("key/" alone names no resource).
    if (StartsWith(body, kind) && (prefix_match || body.size() > kind.size())) return true;
  }
  return false;
}

// Replaces every "${engine}" in `text` with `engine`.
std::string ExpandEngine(std::string_view text, std::string_view engine) {
  std::string expanded;
  std::size_t at = 0;
  while (true) {
    std::size_t found = text.find(kEngineVariable, at);
    if (found == std::string_view::npos) break;
    expanded.append(text.substr(at, found - at));
    expanded.append(engine);
    at = found + kEngineVariable.size();
  }
  expanded.append(text.substr(at));
  return expanded;
}

Status CheckFields(const nlohmann::json& object, std::initializer_list<std::string_view> allowed,
                   const std::string& pointer) {
  if (!object.is_object()) return InvalidFieldError(pointer, "an object");
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      // The unknown name is the caller's text: name its position only.
      return Error(ErrorKind::kInvalidArgument, "unknown_field", "unknown field in " + pointer);
    }
  }
  return OkStatus();
}

Result<Permission> PermissionFromJson(const nlohmann::json& object, const std::string& pointer) {
  WK_RETURN_IF_ERROR(CheckFields(object, {"effect", "actions", "resources"}, pointer));
  Permission permission;
  auto effect = object.find("effect");
  std::optional<Effect> parsed;
  if (effect != object.end() && effect->is_string()) {
    parsed = ParseEffect(effect->get<std::string>());
  }
  if (!parsed) return InvalidFieldError(pointer + "/effect", "\"allow\" or \"deny\"");
  permission.effect = *parsed;

  auto actions = object.find("actions");
  auto resources = object.find("resources");
  if (actions == object.end()) return InvalidFieldError(pointer + "/actions", "an array");
  if (resources == object.end()) return InvalidFieldError(pointer + "/resources", "an array");
  WK_ASSIGN_OR_RETURN(permission.actions, StringArrayFromJson(*actions, pointer + "/actions",
                                                              kMaxPatternsPerPermission));
  WK_ASSIGN_OR_RETURN(permission.resources, StringArrayFromJson(*resources, pointer + "/resources",
                                                                kMaxPatternsPerPermission));
  if (permission.actions.empty()) return InvalidFieldError(pointer + "/actions", "an action");
  if (permission.resources.empty()) {
    return InvalidFieldError(pointer + "/resources", "a resource");
  }
  return permission;
}

}  // namespace

const char* EffectName(Effect effect) { return effect == Effect::kDeny ? "deny" : "allow"; }

std::optional<Effect> ParseEffect(std::string_view name) {
  if (name == "allow") return Effect::kAllow;
  if (name == "deny") return Effect::kDeny;
  return std::nullopt;
}

const char* PrincipalKindName(PrincipalKind kind) {
  return kind == PrincipalKind::kPerson ? "person" : "service";
}

std::optional<PrincipalKind> ParsePrincipalKind(std::string_view name) {
  if (name == "service") return PrincipalKind::kService;
  if (name == "person") return PrincipalKind::kPerson;
  return std::nullopt;
}

const Principal* RbacState::FindPrincipal(std::string_view id) const {
  auto found = std::find_if(principals.begin(), principals.end(),
                            [&](const Principal& principal) { return principal.id == id; });
  return found == principals.end() ? nullptr : &*found;
}

const Role* RbacState::FindRole(std::string_view name) const {
  auto found =
      std::find_if(roles.begin(), roles.end(), [&](const Role& role) { return role.name == name; });
  return found == roles.end() ? nullptr : &*found;
}

const SeparationOfDuty* RbacState::FindSeparationOfDuty(std::string_view name) const {
  auto found =
      std::find_if(separation_of_duty.begin(), separation_of_duty.end(),
                   [&](const SeparationOfDuty& constraint) { return constraint.name == name; });
  return found == separation_of_duty.end() ? nullptr : &*found;
}

bool RbacState::HasBinding(const Binding& binding) const {
  return std::find(bindings.begin(), bindings.end(), binding) != bindings.end();
}

std::vector<std::string> RbacState::DirectRolesOf(std::string_view principal) const {
  std::vector<std::string> roles_of;
  for (const Binding& binding : bindings) {
    if (binding.principal == principal) roles_of.push_back(binding.role);
  }
  return roles_of;
}

std::span<const std::string_view> KnownActions() { return kActions; }

bool IsKnownAction(std::string_view action) {
  return std::find(kActions.begin(), kActions.end(), action) != kActions.end();
}

Status ValidateActionPattern(std::string_view pattern) {
  if (pattern == "*" || IsKnownAction(pattern)) return OkStatus();
  if (pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ".*") {
    std::string_view family = pattern.substr(0, pattern.size() - 2);
    if (family.find_first_of(".*") != std::string_view::npos) {
      return InvalidPattern("may end in one \".*\" after a family name", "action");
    }
    if (IsFamilyKnown(family)) return OkStatus();
    return Error(ErrorKind::kInvalidArgument, "unknown_action", "unknown action family");
  }
  if (pattern.find('*') != std::string_view::npos) {
    return InvalidPattern("may use '*' only as \"*\" or \"<family>.*\"", "action");
  }
  return Error(ErrorKind::kInvalidArgument, "unknown_action", "action not in the catalogue");
}

Status ValidateResourcePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > kMaxPatternBytes || !IsPrintableAscii(pattern)) {
    return InvalidPattern("must be 1..512 printable ASCII characters", "resource");
  }
  if (pattern == "*") return OkStatus();
  const bool prefix_match = pattern.back() == '*';
  std::string_view body = prefix_match ? pattern.substr(0, pattern.size() - 1) : pattern;
  if (body.find('*') != std::string_view::npos) {
    return InvalidPattern("may use '*' only at its end", "resource");
  }
  std::optional<std::string> literal = WithoutEngineVariables(body);
  if (!literal) return InvalidPattern("may use '$' only in \"${engine}\"", "resource");
  if (!HasKnownKind(body, prefix_match)) {
    return InvalidPattern(
        "must name a resource kind (key/, policy/, principal/, role/, sod/, "
        "token/, audit, metrics)",
        "resource");
  }
  return OkStatus();
}

bool ActionMatches(std::string_view pattern, std::string_view action) {
  if (pattern == "*") return true;
  if (pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ".*") {
    std::string_view family_dot = pattern.substr(0, pattern.size() - 1);  // "dek."
    return action.size() > family_dot.size() && StartsWith(action, family_dot);
  }
  return pattern == action;
}

bool ResourceMatches(std::string_view pattern, std::string_view resource, std::string_view engine) {
  if (pattern == "*") return true;
  const bool prefix_match = !pattern.empty() && pattern.back() == '*';
  std::string_view body = prefix_match ? pattern.substr(0, pattern.size() - 1) : pattern;
  if (UsesEngineVariable(body)) {
    if (engine.empty()) return false;
    std::string expanded = ExpandEngine(body, engine);
    return prefix_match ? StartsWith(resource, expanded) : resource == expanded;
  }
  return prefix_match ? StartsWith(resource, body) : resource == body;
}

bool UsesEngineVariable(std::string_view pattern) {
  return pattern.find(kEngineVariable) != std::string_view::npos;
}

std::string EngineOf(std::string_view principal) {
  constexpr std::string_view kScheme = "spiffe://";
  constexpr std::string_view kEnginePath = "/engine/";
  if (!StartsWith(principal, kScheme)) return "";
  std::size_t path_start = principal.find('/', kScheme.size());
  if (path_start == std::string_view::npos || path_start == kScheme.size()) return "";
  std::string_view path = principal.substr(path_start);
  if (!StartsWith(path, kEnginePath)) return "";
  std::string_view name = path.substr(kEnginePath.size());
  if (name.empty() || name.find_first_of("/?#") != std::string_view::npos) return "";
  return std::string(name);
}

Status ValidateRoleName(std::string_view name, const std::string& pointer) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  bool valid = !name.empty() && name.size() <= 64 &&
               std::all_of(name.begin(), name.end(), allowed) && name[0] != '.' && name[0] != '_' &&
               name[0] != '-';
  if (!valid) return InvalidFieldError(pointer, "1..64 characters of [A-Za-z0-9._-]");
  return OkStatus();
}

Status ValidatePrincipalId(std::string_view id, const std::string& pointer) {
  if (id.empty() || id.size() > 512 || !IsPrintableAscii(id)) {
    return InvalidFieldError(pointer, "1..512 printable ASCII characters without spaces");
  }
  return OkStatus();
}

Status ValidateDescription(std::string_view description, const std::string& pointer) {
  if (description.size() > 1024) return InvalidFieldError(pointer, "at most 1024 bytes");
  return OkStatus();
}

nlohmann::json PermissionToJson(const Permission& permission) {
  return {{"effect", EffectName(permission.effect)},
          {"actions", permission.actions},
          {"resources", permission.resources}};
}

nlohmann::json RoleToJson(const Role& role) {
  nlohmann::json permissions = nlohmann::json::array();
  for (const Permission& permission : role.permissions) {
    permissions.push_back(PermissionToJson(permission));
  }
  return {{"name", role.name},
          {"description", role.description},
          {"inherits", role.inherits},
          {"permissions", permissions},
          {"builtin", role.builtin}};
}

nlohmann::json SeparationOfDutyToJson(const SeparationOfDuty& constraint) {
  return {{"name", constraint.name},
          {"first_actions", constraint.first_actions},
          {"second_actions", constraint.second_actions},
          {"builtin", constraint.builtin}};
}

Result<std::vector<Permission>> PermissionsFromJson(const nlohmann::json& array,
                                                    const std::string& pointer) {
  if (!array.is_array() || array.size() > kMaxPermissions) {
    return InvalidFieldError(pointer, "an array of at most 100 permissions");
  }
  std::vector<Permission> permissions;
  for (std::size_t i = 0; i < array.size(); ++i) {
    WK_ASSIGN_OR_RETURN(Permission permission,
                        PermissionFromJson(array[i], pointer + "/" + std::to_string(i)));
    permissions.push_back(std::move(permission));
  }
  return permissions;
}

Result<std::vector<std::string>> StringArrayFromJson(const nlohmann::json& array,
                                                     const std::string& pointer,
                                                     std::size_t max_items) {
  const std::string expected = "an array of at most " + std::to_string(max_items) + " strings";
  if (!array.is_array() || array.size() > max_items) return InvalidFieldError(pointer, expected);
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      return InvalidFieldError(pointer + "/" + std::to_string(i), "a string");
    }
    strings.push_back(array[i].get<std::string>());
  }
  return strings;
}

}  // namespace weftkit::auth
