// Routes for principals, roles, bindings and separation-of-duty constraints.
#include "api/rbac_routes.h"

#include <functional>

#include "api/json_body.h"
#include "api/responses.h"
#include "common/time_util.h"

namespace weftkit::api {
namespace {

using auth::Binding;
using auth::Principal;
using auth::RbacService;
using auth::Role;
using auth::SeparationOfDuty;
using server::Request;
using server::Response;

constexpr std::size_t kMaxInherits = 32;
constexpr std::size_t kMaxConstraintActions = 64;

std::string PrincipalResource(const std::string& id) { return "principal/" + id; }
std::string RoleResource(const std::string& name) { return "role/" + name; }
std::string SodResource(const std::string& name) { return "sod/" + name; }

Response NoContent() {
  Response response;
  response.status = 204;
  return response;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes RFC 3986 percent-encoding; '+' stays '+'. Fails on a malformed escape.
Result<std::string> PercentDecode(std::string_view text, const std::string& pointer) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return InvalidField(pointer, "percent-encoded text");
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return decoded;
}

// The principal id of the {id} path segment, decoded and checked.
Result<std::string> PrincipalParam(const Request& request) {
  WK_ASSIGN_OR_RETURN(std::string id, PercentDecode(request.PathParam("id"), "/path/id"));
  WK_RETURN_IF_ERROR(auth::ValidatePrincipalId(id, "/path/id"));
  return id;
}

Result<std::string> RoleParam(const Request& request) {
  const std::string& name = request.PathParam("name");
  WK_RETURN_IF_ERROR(auth::ValidateRoleName(name, "/path/name"));
  return name;
}

// The value of `name` in a query string whose only allowed parameter is `name`.
Result<std::optional<std::string>> SingleQueryParam(std::string_view query, std::string_view name) {
  std::optional<std::string> value;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t equals = pair.find('=');
    if (pair.substr(0, equals) != name || equals == std::string_view::npos || value) {
      return Error(ErrorKind::kInvalidArgument, "unknown_query_parameter",
                   "the query may hold one " + std::string(name) + "=<value>");
    }
    WK_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(equals + 1), "/query/principal"));
  }
  return value;
}

Result<std::optional<bool>> OptionalBool(const nlohmann::json& object, const char* field,
                                         const std::string& pointer) {
  auto found = object.find(field);
  if (found == object.end() || found->is_null()) return std::optional<bool>();
  if (!found->is_boolean()) return InvalidField(pointer, "true or false");
  return std::optional<bool>(found->get<bool>());
}

Result<std::vector<std::string>> OptionalStringArray(const nlohmann::json& object,
                                                     const char* field, const std::string& pointer,
                                                     std::size_t max_items) {
  auto found = object.find(field);
  if (found == object.end() || found->is_null()) return std::vector<std::string>();
  return auth::StringArrayFromJson(*found, pointer, max_items);
}

Result<std::vector<std::string>> RequiredStringArray(const nlohmann::json& object,
                                                     const char* field, const std::string& pointer,
                                                     std::size_t max_items) {
  if (!object.contains(field)) return InvalidField(pointer, "an array of strings");
  return auth::StringArrayFromJson(object.at(field), pointer, max_items);
}

nlohmann::json PrincipalJson(const Principal& principal, const std::vector<std::string>& roles) {
  return {{"id", principal.id},
          {"kind", auth::PrincipalKindName(principal.kind)},
          {"description", principal.description},
          {"created_at", FormatRfc3339(principal.created_at)},
          {"disabled", principal.disabled},
          {"roles", roles}};
}

nlohmann::json BindingJson(const Binding& binding) {
  return {{"principal", binding.principal}, {"role", binding.role}};
}

// --- principals ------------------------------------------------------------------------------

Result<Response> ListPrincipals(RbacService& rbac, const Request&, const SecurityContext& context) {
  std::shared_ptr<const auth::RbacSnapshot> snapshot = rbac.Snapshot();
  nlohmann::json listed = nlohmann::json::array();
  for (const Principal& principal : snapshot->state.principals) {
    // Listing shows only the principals the caller may read.
    if (!rbac.Authorize(context, "principal.read", PrincipalResource(principal.id)).ok()) continue;
    listed.push_back(PrincipalJson(principal, snapshot->state.DirectRolesOf(principal.id)));
  }
  return JsonResponse(200, {{"principals", listed}});
}

Result<Response> CreatePrincipal(RbacService& rbac, const Request& request,
                                 const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body,
                      ParseObject(request.body, {"id", "kind", "description"}));
  WK_ASSIGN_OR_RETURN(std::string id, RequiredString(body, "id", "/id"));
  WK_RETURN_IF_ERROR(auth::ValidatePrincipalId(id, "/id"));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.manage", PrincipalResource(id)));
  WK_ASSIGN_OR_RETURN(auto kind_name, OptionalString(body, "kind", "/kind"));
  WK_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description", "/description"));

  Principal principal{id, auth::PrincipalKind::kService, description.value_or(""), 0, false};
  if (kind_name) {
    std::optional<auth::PrincipalKind> kind = auth::ParsePrincipalKind(*kind_name);
    if (!kind) return InvalidField("/kind", "\"service\" or \"person\"");
    principal.kind = *kind;
  } else if (id.rfind("spiffe://", 0) != 0) {
    principal.kind = auth::PrincipalKind::kPerson;
  }
  WK_ASSIGN_OR_RETURN(Principal created, rbac.CreatePrincipal(context, principal));
  return JsonResponse(201, PrincipalJson(created, {}));
}

Result<Response> ShowPrincipal(RbacService& rbac, const Request& request,
                               const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string id, PrincipalParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.read", PrincipalResource(id)));
  WK_ASSIGN_OR_RETURN(Principal principal, rbac.GetPrincipal(id));
  return JsonResponse(200, PrincipalJson(principal, rbac.Snapshot()->state.DirectRolesOf(id)));
}

Result<Response> UpdatePrincipal(RbacService& rbac, const Request& request,
                                 const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string id, PrincipalParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.manage", PrincipalResource(id)));
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"description", "disabled"}));
  WK_ASSIGN_OR_RETURN(Principal principal, rbac.GetPrincipal(id));
  WK_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description", "/description"));
  WK_ASSIGN_OR_RETURN(auto disabled, OptionalBool(body, "disabled", "/disabled"));
  if (description) principal.description = *description;
  if (disabled) principal.disabled = *disabled;
  WK_ASSIGN_OR_RETURN(Principal updated, rbac.UpdatePrincipal(context, principal));
  return JsonResponse(200, PrincipalJson(updated, rbac.Snapshot()->state.DirectRolesOf(id)));
}

Result<Response> DeletePrincipal(RbacService& rbac, const Request& request,
                                 const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string id, PrincipalParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.manage", PrincipalResource(id)));
  WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_RETURN_IF_ERROR(rbac.DeletePrincipal(context, id));
  return NoContent();
}

nlohmann::json AccessReportJson(const auth::AccessReport& report) {
  nlohmann::json roles = nlohmann::json::array();
  for (const auth::ReachedRole& reached : report.effective_roles) {
    roles.push_back({{"role", reached.role->name}, {"path", reached.path}});
  }
  nlohmann::json permissions = nlohmann::json::array();
  for (const auth::EffectivePermission& held : report.permissions) {
    nlohmann::json entry = auth::PermissionToJson(held.permission);
    entry["role"] = held.role;
    entry["path"] = held.path;
    entry["index"] = held.index;
    permissions.push_back(std::move(entry));
  }
  return {
      {"principal", PrincipalJson(report.principal, report.direct_roles)},
      {"engine", report.engine.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.engine)},
      {"effective_roles", roles},
      {"permissions", permissions}};
}

Result<Response> PrincipalPermissions(RbacService& rbac, const Request& request,
                                      const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string id, PrincipalParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.read", PrincipalResource(id)));
  WK_ASSIGN_OR_RETURN(auth::AccessReport report, rbac.ReviewAccess(id));
  return JsonResponse(200, AccessReportJson(report));
}

// --- roles -----------------------------------------------------------------------------------

Result<Response> ListRoles(RbacService& rbac, const Request&, const SecurityContext& context) {
  std::shared_ptr<const auth::RbacSnapshot> snapshot = rbac.Snapshot();
  nlohmann::json listed = nlohmann::json::array();
  for (const Role& role : snapshot->state.roles) {
    if (rbac.Authorize(context, "role.read", RoleResource(role.name)).ok()) {
      listed.push_back(auth::RoleToJson(role));
    }
  }
  return JsonResponse(200, {{"roles", listed}});
}

// Reads description, inherits and permissions of a role body into `role`.
Status ReadRoleBody(const nlohmann::json& body, Role& role) {
  WK_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description", "/description"));
  role.description = description.value_or("");
  WK_ASSIGN_OR_RETURN(role.inherits,
                      OptionalStringArray(body, "inherits", "/inherits", kMaxInherits));
  if (!body.contains("permissions")) return InvalidField("/permissions", "an array");
  WK_ASSIGN_OR_RETURN(role.permissions,
                      auth::PermissionsFromJson(body.at("permissions"), "/permissions"));
  return OkStatus();
}

Result<Response> CreateRole(RbacService& rbac, const Request& request,
                            const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"name", "description",
                                                                      "inherits", "permissions"}));
  Role role;
  WK_ASSIGN_OR_RETURN(role.name, RequiredString(body, "name", "/name"));
  WK_RETURN_IF_ERROR(auth::ValidateRoleName(role.name, "/name"));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", RoleResource(role.name)));
  WK_RETURN_IF_ERROR(ReadRoleBody(body, role));
  WK_ASSIGN_OR_RETURN(Role created, rbac.CreateRole(context, std::move(role)));
  return JsonResponse(201, auth::RoleToJson(created));
}

Result<Response> ShowRole(RbacService& rbac, const Request& request,
                          const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string name, RoleParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.read", RoleResource(name)));
  WK_ASSIGN_OR_RETURN(Role role, rbac.GetRole(name));
  return JsonResponse(200, auth::RoleToJson(role));
}

Result<Response> ReplaceRole(RbacService& rbac, const Request& request,
                             const SecurityContext& context) {
  Role role;
  WK_ASSIGN_OR_RETURN(role.name, RoleParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", RoleResource(role.name)));
  WK_ASSIGN_OR_RETURN(nlohmann::json body,
                      ParseObject(request.body, {"description", "inherits", "permissions"}));
  WK_RETURN_IF_ERROR(ReadRoleBody(body, role));
  WK_ASSIGN_OR_RETURN(Role replaced, rbac.ReplaceRole(context, std::move(role)));
  return JsonResponse(200, auth::RoleToJson(replaced));
}

Result<Response> DeleteRole(RbacService& rbac, const Request& request,
                            const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string name, RoleParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", RoleResource(name)));
  WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_RETURN_IF_ERROR(rbac.DeleteRole(context, name));
  return NoContent();
}

// --- bindings --------------------------------------------------------------------------------

Result<Response> ListBindings(RbacService& rbac, const Request& request,
                              const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::optional<std::string> principal,
                      SingleQueryParam(request.query, "principal"));
  if (principal) {
    WK_RETURN_IF_ERROR(auth::ValidatePrincipalId(*principal, "/query/principal"));
    WK_RETURN_IF_ERROR(rbac.Authorize(context, "principal.read", PrincipalResource(*principal)));
  }
  nlohmann::json listed = nlohmann::json::array();
  for (const Binding& binding : rbac.ListBindings(principal)) {
    if (rbac.Authorize(context, "principal.read", PrincipalResource(binding.principal)).ok()) {
      listed.push_back(BindingJson(binding));
    }
  }
  return JsonResponse(200, {{"bindings", listed}});
}

// Parses {principal, role} and checks that the caller manages both sides of the grant.
Result<Binding> AuthorizedBinding(RbacService& rbac, const Request& request,
                                  const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"principal", "role"}));
  Binding binding;
  WK_ASSIGN_OR_RETURN(binding.principal, RequiredString(body, "principal", "/principal"));
  WK_ASSIGN_OR_RETURN(binding.role, RequiredString(body, "role", "/role"));
  WK_RETURN_IF_ERROR(auth::ValidatePrincipalId(binding.principal, "/principal"));
  WK_RETURN_IF_ERROR(auth::ValidateRoleName(binding.role, "/role"));
  WK_RETURN_IF_ERROR(
      rbac.Authorize(context, "principal.manage", PrincipalResource(binding.principal)));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", RoleResource(binding.role)));
  return binding;
}

Result<Response> AddBinding(RbacService& rbac, const Request& request,
                            const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(Binding binding, AuthorizedBinding(rbac, request, context));
  WK_RETURN_IF_ERROR(rbac.AddBinding(context, binding));
  return JsonResponse(201, BindingJson(binding));
}

Result<Response> RemoveBinding(RbacService& rbac, const Request& request,
                               const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(Binding binding, AuthorizedBinding(rbac, request, context));
  WK_RETURN_IF_ERROR(rbac.RemoveBinding(context, binding));
  return NoContent();
}

// --- separation of duty ----------------------------------------------------------------------

Result<Response> ListConstraints(RbacService& rbac, const Request&,
                                 const SecurityContext& context) {
  std::shared_ptr<const auth::RbacSnapshot> snapshot = rbac.Snapshot();
  nlohmann::json listed = nlohmann::json::array();
  for (const SeparationOfDuty& constraint : snapshot->state.separation_of_duty) {
    if (rbac.Authorize(context, "role.read", SodResource(constraint.name)).ok()) {
      listed.push_back(auth::SeparationOfDutyToJson(constraint));
    }
  }
  return JsonResponse(200, {{"separation_of_duty", listed}});
}

Result<Response> AddConstraint(RbacService& rbac, const Request& request,
                               const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body,
                      ParseObject(request.body, {"name", "first_actions", "second_actions"}));
  SeparationOfDuty constraint;
  WK_ASSIGN_OR_RETURN(constraint.name, RequiredString(body, "name", "/name"));
  WK_RETURN_IF_ERROR(auth::ValidateRoleName(constraint.name, "/name"));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", SodResource(constraint.name)));
  WK_ASSIGN_OR_RETURN(
      constraint.first_actions,
      RequiredStringArray(body, "first_actions", "/first_actions", kMaxConstraintActions));
  WK_ASSIGN_OR_RETURN(
      constraint.second_actions,
      RequiredStringArray(body, "second_actions", "/second_actions", kMaxConstraintActions));
  WK_ASSIGN_OR_RETURN(SeparationOfDuty added,
                      rbac.AddSeparationOfDuty(context, std::move(constraint)));
  return JsonResponse(201, auth::SeparationOfDutyToJson(added));
}

Result<Response> RemoveConstraint(RbacService& rbac, const Request& request,
                                  const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::string name, RoleParam(request));
  WK_RETURN_IF_ERROR(rbac.Authorize(context, "role.manage", SodResource(name)));
  WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_RETURN_IF_ERROR(rbac.RemoveSeparationOfDuty(context, name));
  return NoContent();
}

using RbacHandler = Result<Response> (*)(RbacService&, const Request&, const SecurityContext&);

}  // namespace

void RegisterRbacRoutes(server::Router& router, auth::RbacService& rbac) {
  RbacService* service = &rbac;
  auto route = [&](std::string method, std::string pattern, RbacHandler handler) {
    router.Add({std::move(method), std::move(pattern), server::RunOn::kWorker, false,
                [service, handler](const Request& request, const SecurityContext& context) {
                  return Respond(context, [&] { return handler(*service, request, context); });
                }});
  };
  route("GET", "/v1/principals", ListPrincipals);
  route("POST", "/v1/principals", CreatePrincipal);
  route("GET", "/v1/principals/{id}", ShowPrincipal);
  route("PATCH", "/v1/principals/{id}", UpdatePrincipal);
  route("DELETE", "/v1/principals/{id}", DeletePrincipal);
  route("GET", "/v1/principals/{id}/permissions", PrincipalPermissions);
  route("GET", "/v1/roles", ListRoles);
  route("POST", "/v1/roles", CreateRole);
  route("GET", "/v1/roles/{name}", ShowRole);
  route("PUT", "/v1/roles/{name}", ReplaceRole);
  route("DELETE", "/v1/roles/{name}", DeleteRole);
  route("GET", "/v1/bindings", ListBindings);
  route("POST", "/v1/bindings", AddBinding);
  route("DELETE", "/v1/bindings", RemoveBinding);
  route("GET", "/v1/separation-of-duty", ListConstraints);
  route("POST", "/v1/separation-of-duty", AddConstraint);
  route("DELETE", "/v1/separation-of-duty/{name}", RemoveConstraint);
}

}  // namespace weftkit::api
