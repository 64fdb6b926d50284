// Routes for the master key lifecycle: create, list, show, rotate, version states and settings.
#include "api/key_routes.h"

#include "api/authorizer.h"
#include "api/json_body.h"
#include "api/responses.h"
#include "common/log.h"
#include "common/time_util.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

constexpr std::int64_t kMaxPeriod = 10LL * 365 * 86400;

nlohmann::json TimeOrNull(const std::optional<std::int64_t>& unix_seconds) {
  return unix_seconds ? nlohmann::json(FormatRfc3339(*unix_seconds)) : nlohmann::json(nullptr);
}

nlohmann::json VersionJson(const kms::KeyVersion& version, std::uint64_t encryptions) {
  return {
      {"version", version.version},
      {"state", kms::VersionStateName(version.state)},
      {"created_at", FormatRfc3339(version.created_at)},
      {"destroy_after", TimeOrNull(version.destroy_after)},
      {"destroyed_at", TimeOrNull(version.destroyed_at)},
      {"encryptions", encryptions},
      {"hsm_label", version.hsm_label},
  };
}

nlohmann::json KeyJson(const kms::KeyReport& report) {
  const kms::MasterKey& key = report.key;
  nlohmann::json versions = nlohmann::json::array();
  for (const kms::KeyVersion& version : key.versions) {
    versions.push_back(VersionJson(version, report.encryptions.at(version.version)));
  }
  std::optional<std::int64_t> next_rotation;
  if (key.rotation_period && key.rotated_at) next_rotation = *key.rotated_at + *key.rotation_period;
  return {
      {"name", key.name},
      {"algorithm", key.algorithm},
      {"description", key.description},
      {"primary_version", key.primary_version},
      {"min_decrypt_version", key.min_decrypt_version},
      {"created_at", FormatRfc3339(key.created_at)},
      {"rotated_at", TimeOrNull(key.rotated_at)},
      {"rotation_period_s", key.rotation_period ? nlohmann::json(*key.rotation_period) : nullptr},
      {"next_rotation_at", TimeOrNull(next_rotation)},
      {"versions", versions},
  };
}

// Logs a lifecycle change for operators. Its durable record is the request's audit entry, which
// the dispatcher writes before the response (docs/audit.md); ChangedKey fills its key details.
void LogChange(const SecurityContext& context, const char* event, const kms::KeyReport& report) {
  log::Info(event, {{"request_id", context.request_id()},
                    {"principal", context.principal()},
                    {"key", report.key.name},
                    {"primary_version", std::to_string(report.key.primary_version)}});
}

// The response to a change of `report`'s key: its JSON, and the key and its primary version for
// the audit entry.
Response ChangedKey(int status, const kms::KeyReport& report) {
  Response response = JsonResponse(status, KeyJson(report));
  response.audit.key_name = report.key.name;
  response.audit.key_version = report.key.primary_version;
  return response;
}

Result<std::uint32_t> VersionParam(const Request& request) {
  const std::string& text = request.PathParam("version");
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos || text[0] == '0') {
    return Error(ErrorKind::kInvalidArgument, "invalid_version", "version must be 1 to 999999999");
  }
  return static_cast<std::uint32_t>(std::stoul(text));
}

Result<Response> CreateKey(kms::KeyService& keys, const Authorizer& authorize,
                           const Request& request, const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body,
                      ParseObject(request.body, {"name", "description", "rotation_period_s"}));
  WK_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name", "/name"));
  WK_RETURN_IF_ERROR(authorize(context, "key.create", KeyResource(name)));
  WK_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description", "/description"));
  if (description && description->size() > 1024) {
    return InvalidField("/description", "at most 1024 bytes");
  }
  WK_ASSIGN_OR_RETURN(auto period, OptionalInteger(body, "rotation_period_s", "/rotation_period_s",
                                                   60, kMaxPeriod));
  WK_ASSIGN_OR_RETURN(kms::KeyReport report,
                      keys.CreateKey(name, description.value_or(""), period));
  LogChange(context, "key_created", report);
  return ChangedKey(201, report);
}

Result<Response> ListKeys(kms::KeyService& keys, const Authorizer& authorize,
                          const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(std::vector<kms::KeyReport> reports, keys.ListKeys());
  nlohmann::json listed = nlohmann::json::array();
  for (const kms::KeyReport& report : reports) {
    // Listing shows only the keys the caller may read; an engine sees its own.
    if (authorize(context, "key.read", KeyResource(report.key.name)).ok()) {
      listed.push_back(KeyJson(report));
    }
  }
  return JsonResponse(200, {{"keys", listed}});
}

Result<Response> ShowKey(kms::KeyService& keys, const Authorizer& authorize, const Request& request,
                         const SecurityContext& context) {
  const std::string& name = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, "key.read", KeyResource(name)));
  WK_ASSIGN_OR_RETURN(kms::KeyReport report, keys.GetKey(name));
  return JsonResponse(200, KeyJson(report));
}

Result<Response> RotateKey(kms::KeyService& keys, const Authorizer& authorize,
                           const Request& request, const SecurityContext& context) {
  const std::string& name = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, "key.rotate", KeyResource(name)));
  WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_ASSIGN_OR_RETURN(kms::KeyReport report, keys.Rotate(name));
  LogChange(context, "key_rotated", report);
  return ChangedKey(200, report);
}

// The version-state changes share one shape: authorize, parse, call the service, log.
using VersionChange = std::function<Result<kms::KeyReport>(kms::KeyService&, const std::string&,
                                                           std::uint32_t, const nlohmann::json&)>;

struct VersionRoute {
  const char* suffix;  // the last path segment
  const char* action;  // what RBAC must allow
  const char* event;   // what the log calls it
  bool takes_wait;     // the body may hold "wait_s"
  VersionChange change;
};

Result<Response> ChangeVersion(kms::KeyService& keys, const Authorizer& authorize,
                               const VersionRoute& route, const Request& request,
                               const SecurityContext& context) {
  const std::string& name = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, route.action, KeyResource(name)));
  WK_ASSIGN_OR_RETURN(std::uint32_t version, VersionParam(request));
  WK_ASSIGN_OR_RETURN(nlohmann::json body, route.takes_wait ? ParseObject(request.body, {"wait_s"})
                                                            : ParseObject(request.body, {}));
  WK_ASSIGN_OR_RETURN(kms::KeyReport report, route.change(keys, name, version, body));
  log::Info(route.event, {{"request_id", context.request_id()},
                          {"principal", context.principal()},
                          {"key", name},
                          {"version", std::to_string(version)}});
  Response response = JsonResponse(200, KeyJson(report));
  response.audit.key_name = name;
  response.audit.key_version = version;  // the version changed, not the primary one
  return response;
}

Result<kms::KeyReport> Disable(kms::KeyService& keys, const std::string& name,
                               std::uint32_t version, const nlohmann::json&) {
  return keys.DisableVersion(name, version);
}

Result<kms::KeyReport> Enable(kms::KeyService& keys, const std::string& name, std::uint32_t version,
                              const nlohmann::json&) {
  return keys.EnableVersion(name, version);
}

Result<kms::KeyReport> Schedule(kms::KeyService& keys, const std::string& name,
                                std::uint32_t version, const nlohmann::json& body) {
  WK_ASSIGN_OR_RETURN(auto wait, OptionalInteger(body, "wait_s", "/wait_s", 1, kMaxPeriod));
  if (!wait) return InvalidField("/wait_s", "the waiting period in seconds");
  return keys.ScheduleDestruction(name, version, *wait);
}

Result<kms::KeyReport> Cancel(kms::KeyService& keys, const std::string& name, std::uint32_t version,
                              const nlohmann::json&) {
  return keys.CancelDestruction(name, version);
}

Result<Response> UpdateSettings(kms::KeyService& keys, const Authorizer& authorize,
                                const Request& request, const SecurityContext& context) {
  const std::string& name = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, "key.manage_versions", KeyResource(name)));
  WK_ASSIGN_OR_RETURN(nlohmann::json body,
                      ParseObject(request.body, {"min_decrypt_version", "rotation_period_s"}));
  WK_ASSIGN_OR_RETURN(auto min_version, OptionalInteger(body, "min_decrypt_version",
                                                        "/min_decrypt_version", 1, 999999999));
  WK_ASSIGN_OR_RETURN(kms::KeyReport report, keys.GetKey(name));
  if (min_version) {
    WK_ASSIGN_OR_RETURN(report,
                        keys.SetMinDecryptVersion(name, static_cast<std::uint32_t>(*min_version)));
  }
  if (body.contains("rotation_period_s")) {
    // null turns automatic rotation off; a number sets the period.
    WK_ASSIGN_OR_RETURN(auto period, OptionalInteger(body, "rotation_period_s",
                                                     "/rotation_period_s", 60, kMaxPeriod));
    WK_ASSIGN_OR_RETURN(report, keys.SetRotationPeriod(name, period));
  }
  LogChange(context, "key_settings_changed", report);
  return ChangedKey(200, report);
}

}  // namespace

void RegisterKeyRoutes(server::Router& router, kms::KeyService& keys, Authorizer authorize) {
  using RouteFunction = Result<Response> (*)(kms::KeyService&, const Authorizer&, const Request&,
                                             const SecurityContext&);
  auto shared = std::make_shared<const Authorizer>(std::move(authorize));
  kms::KeyService* service = &keys;
  auto route = [&](std::string method, std::string pattern, RouteFunction function) {
    router.Add(
        {std::move(method), std::move(pattern), server::RunOn::kWorker, false,
         [service, shared, function](const Request& request, const SecurityContext& context) {
           return Respond(context, [&] { return function(*service, *shared, request, context); });
         }});
  };
  route("POST", "/v1/keys", CreateKey);
  route("GET", "/v1/keys",
        [](kms::KeyService& service_keys, const Authorizer& decide, const Request&,
           const SecurityContext& context) { return ListKeys(service_keys, decide, context); });
  route("GET", "/v1/keys/{name}", ShowKey);
  route("POST", "/v1/keys/{name}/rotate", RotateKey);
  route("PATCH", "/v1/keys/{name}", UpdateSettings);

  static const VersionRoute kVersionRoutes[] = {
      {"disable", "key.manage_versions", "key_version_disabled", false, Disable},
      {"enable", "key.manage_versions", "key_version_enabled", false, Enable},
      {"schedule-destruction", "key.destroy", "key_version_destruction_scheduled", true, Schedule},
      {"cancel-destruction", "key.destroy", "key_version_destruction_cancelled", false, Cancel},
  };
  for (const VersionRoute& entry : kVersionRoutes) {
    router.Add({"POST", std::string("/v1/keys/{name}/versions/{version}/") + entry.suffix,
                server::RunOn::kWorker, false,
                [service, shared, &entry](const Request& request, const SecurityContext& context) {
                  return Respond(context, [&] {
                    return ChangeVersion(*service, *shared, entry, request, context);
                  });
                }});
  }
}

}  // namespace weftkit::api
