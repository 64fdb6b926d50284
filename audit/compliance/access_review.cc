#include "audit/compliance/access_review.h"

#include <algorithm>

#include "audit/compliance/csv_writer.h"

namespace weftkit::audit::compliance {
namespace {

std::vector<std::string> ActionsOfFamilies(std::initializer_list<std::string_view> families) {
  std::vector<std::string> actions;
  for (std::string_view action : auth::KnownActions()) {
    for (std::string_view family : families) {
      if (action.starts_with(family)) actions.emplace_back(action);
    }
  }
  return actions;
}

std::vector<ObjectAccess> AccessOn(const auth::RbacService& rbac, const SecurityContext& context,
                                   std::string_view prefix, const std::vector<std::string>& names,
                                   const std::vector<std::string>& actions) {
  std::vector<ObjectAccess> objects;
  for (const std::string& name : names) {
    ObjectAccess object{std::string(prefix) + name, {}};
    for (const std::string& action : actions) {
      if (rbac.Decide(context, action, object.resource).allowed) {
        object.allowed_actions.push_back(action);
      }
    }
    if (!object.allowed_actions.empty()) objects.push_back(std::move(object));
  }
  return objects;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) {
    if (!text.empty()) text.push_back(';');
    text.append(item);
  }
  return text;
}

nlohmann::json ObjectsToJson(const std::vector<ObjectAccess>& objects) {
  nlohmann::json array = nlohmann::json::array();
  for (const ObjectAccess& object : objects) {
    array.push_back({{"resource", object.resource}, {"allowed_actions", object.allowed_actions}});
  }
  return array;
}

nlohmann::json PermissionsToJson(const std::vector<auth::EffectivePermission>& permissions) {
  nlohmann::json array = nlohmann::json::array();
  for (const auth::EffectivePermission& held : permissions) {
    array.push_back({{"role", held.role},
                     {"path", held.path},
                     {"effect", auth::EffectName(held.permission.effect)},
                     {"actions", held.permission.actions},
                     {"resources", held.permission.resources}});
  }
  return array;
}

}  // namespace

Result<std::vector<PrincipalAccess>> BuildAccessReview(const AccessReviewInputs& inputs) {
  static const std::vector<std::string> kKeyActions = ActionsOfFamilies({"key.", "dek."});
  static const std::vector<std::string> kPolicyActions = ActionsOfFamilies({"policy."});
  std::shared_ptr<const auth::RbacSnapshot> snapshot = inputs.rbac.Snapshot();

  std::vector<PrincipalAccess> review;
  for (const auth::Principal& principal : snapshot->state.principals) {
    PrincipalAccess access;
    access.principal = principal;
    if (inputs.has_password) {
      WK_ASSIGN_OR_RETURN(access.has_password, inputs.has_password(principal.id));
    }
    auto roles = snapshot->roles_by_principal.find(principal.id);
    if (roles != snapshot->roles_by_principal.end()) access.direct_roles = roles->second;
    access.effective_roles = snapshot->policy.EffectiveRoles(access.direct_roles);
    access.permissions = snapshot->policy.EffectivePermissions(access.direct_roles);

    // A context like the one a request of this principal would carry.
    SecurityContext context(
        {principal.id, AuthMethod::kMtls, access.direct_roles, "access-review", "", 0});
    access.keys = AccessOn(inputs.rbac, context, "key/", inputs.key_names, kKeyActions);
    access.policies =
        AccessOn(inputs.rbac, context, "policy/", inputs.policy_scopes, kPolicyActions);
    review.push_back(std::move(access));
  }
  std::sort(review.begin(), review.end(),
            [](const auto& a, const auto& b) { return a.principal.id < b.principal.id; });
  return review;
}

nlohmann::json AccessReviewToJson(const std::vector<PrincipalAccess>& review) {
  nlohmann::json principals = nlohmann::json::array();
  for (const PrincipalAccess& access : review) {
    principals.push_back({{"id", access.principal.id},
                          {"kind", auth::PrincipalKindName(access.principal.kind)},
                          {"disabled", access.principal.disabled},
                          {"has_password", access.has_password},
                          {"direct_roles", access.direct_roles},
                          {"effective_roles", access.effective_roles},
                          {"permissions", PermissionsToJson(access.permissions)},
                          {"keys", ObjectsToJson(access.keys)},
                          {"policies", ObjectsToJson(access.policies)}});
  }
  return {{"principals", principals}};
}

std::string AccessReviewToCsv(const std::vector<PrincipalAccess>& review) {
  CsvWriter csv;
  csv.Row({"principal", "kind", "disabled", "has_password", "direct_roles", "effective_roles",
           "resource", "allowed_actions"});
  for (const PrincipalAccess& access : review) {
    std::vector<std::string> common{access.principal.id,
                                    auth::PrincipalKindName(access.principal.kind),
                                    access.principal.disabled ? "true" : "false",
                                    access.has_password ? "true" : "false",
                                    Joined(access.direct_roles),
                                    Joined(access.effective_roles)};
    std::vector<const ObjectAccess*> objects;
    for (const ObjectAccess& object : access.keys) objects.push_back(&object);
    for (const ObjectAccess& object : access.policies) objects.push_back(&object);
    if (objects.empty()) {
      std::vector<std::string> row = common;
      row.insert(row.end(), {"", ""});
      csv.Row(row);
    }
    for (const ObjectAccess* object : objects) {
      std::vector<std::string> row = common;
      row.insert(row.end(), {object->resource, Joined(object->allowed_actions)});
      csv.Row(row);
    }
  }
  return csv.Take();
}

}  // namespace weftkit::audit::compliance
