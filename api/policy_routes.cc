// Routes for policy bundles: authoring, serving with ETag and long polls, fleet, check.
#include "api/policy_routes.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/json_body.h"
#include "api/responses.h"
#include "common/log.h"
#include "common/time_util.h"
#include "policy_store/policy_scope.h"

namespace weftkit::api {
namespace {

using policy_store::PolicyService;
using policy_store::PolicyVersion;
using server::Request;
using server::Response;

constexpr std::int64_t kMaxVersion = 999999999;

// ---- Request pieces ----

Result<std::string> ScopeParam(const Request& request) {
  return policy_store::ScopeFromParts(request.PathParam("kind"), request.PathParam("name"));
}

Result<std::int64_t> ParseVersionText(std::string_view text, const std::string& pointer) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || text[0] == '0' ||
      value > kMaxVersion) {
    return Error(ErrorKind::kInvalidArgument, "invalid_version",
                 pointer + " must be a whole number from 1 to 999999999");
  }
  return value;
}

// The query string as name -> value, refusing names outside `allowed` and repeated names. The
// values used here are all version numbers, so they are never percent-decoded.
Result<std::map<std::string, std::string>> Query(const Request& request,
                                                 std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> params;
  std::string_view query = request.query;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t equals = pair.find('=');
    std::string name(pair.substr(0, equals));
    bool known = std::find(allowed.begin(), allowed.end(), name) != allowed.end();
    if (!known || equals == std::string_view::npos || params.count(name) != 0) {
      return Error(ErrorKind::kInvalidArgument, "unknown_query_parameter",
                   "the query may hold each of its documented parameters once");
    }
    params.emplace(std::move(name), std::string(pair.substr(equals + 1)));
  }
  return params;
}

Result<std::optional<std::int64_t>> VersionQuery(const std::map<std::string, std::string>& params,
                                                 const std::string& name) {
  auto found = params.find(name);
  if (found == params.end()) return std::optional<std::int64_t>();
  WK_ASSIGN_OR_RETURN(std::int64_t value, ParseVersionText(found->second, "/query/" + name));
  return std::optional<std::int64_t>(value);
}

// The seconds of a "Prefer: wait=N" preference (RFC 7240 §4.3), capped at `max`; nullopt when
// absent or malformed (an unusable preference is ignored, as RFC 7240 asks).
std::optional<std::int64_t> PreferWait(const Request& request, std::chrono::seconds max) {
  std::optional<std::string_view> prefer = request.Header("prefer");
  if (!prefer) return std::nullopt;
  std::string_view text = *prefer;
  std::size_t at = text.find("wait=");
  if (at == std::string_view::npos ||
      (at > 0 && text[at - 1] != ' ' && text[at - 1] != ',' && text[at - 1] != ';')) {
    return std::nullopt;
  }
  std::string_view digits = text.substr(at + 5);
  digits = digits.substr(0, digits.find_first_not_of("0123456789"));
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  if (ec != std::errc() || digits.empty()) return std::nullopt;
  (void)end;
  return std::min<std::int64_t>(seconds, max.count());
}

// Whether an If-None-Match list holds `etag` or "*" (weak comparison, RFC 9110 §13.1.2).
bool NoneMatch(const Request& request, const std::string& etag) {
  std::optional<std::string_view> header = request.Header("if-none-match");
  if (!header) return false;
  std::string_view list = *header;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

// ---- Response pieces ----

std::string ETag(const PolicyVersion& version) { return "\"" + version.content_hash + "\""; }

nlohmann::ordered_json VersionJson(const PolicyVersion& version) {
  nlohmann::ordered_json json = {
      {"scope", version.scope},
      {"version", version.version},
      {"content_hash", version.content_hash},
      {"author", version.author},
      {"published_at", FormatRfc3339(version.published_at)},
      {"comment", version.comment},
      {"based_on", version.based_on},
      {"rolled_back_from", version.rolled_back_from
                               ? nlohmann::ordered_json(*version.rolled_back_from)
                               : nlohmann::ordered_json(nullptr)},
      {"kid", version.kid},
  };
  return json;
}

Response OrderedJson(int status, const nlohmann::ordered_json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

// The served bundle: what engines verify (policy_bundle_verifier.h).
Response BundleResponse(const PolicyVersion& version) {
  nlohmann::ordered_json body = {
      {"scope", version.scope},
      {"version", version.version},
      {"content_hash", version.content_hash},
      {"published_at", version.published_at},
      {"document", nlohmann::ordered_json::parse(version.content, nullptr, false)},
      {"signature", version.signature},
  };
  Response response = OrderedJson(200, body);
  response.headers.emplace_back("ETag", ETag(version));
  response.audit.policy_version = static_cast<std::uint64_t>(version.version);
  return response;
}

Response NotModified(const PolicyVersion& version) {
  Response response;
  response.status = 304;
  response.headers.emplace_back("ETag", ETag(version));
  response.audit.policy_version = static_cast<std::uint64_t>(version.version);
  return response;
}

// A problem response with members beyond the standard ones (RFC 9457 §3.2 extensions).
Response ProblemWith(const SecurityContext& context, const Error& error,
                     const nlohmann::ordered_json& extensions) {
  Response response = ErrorResponse(context, error);
  nlohmann::ordered_json body = nlohmann::ordered_json::parse(response.body, nullptr, false);
  for (const auto& [name, value] : extensions.items()) body[name] = value;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

// 422 "policy_invalid" listing every problem with its pointer.
Response InvalidPolicy(const SecurityContext& context,
                       const std::vector<policy::PolicyProblem>& problems) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& problem : problems) {
    list.push_back(
        {{"pointer", problem.pointer}, {"code", problem.code}, {"message", problem.message}});
  }
  Error error(ErrorKind::kFailedPrecondition, "policy_invalid",
              std::to_string(problems.size()) + " problems");
  return ProblemWith(context, error, {{"problems", list}});
}

// The answer to a refused or accepted publish or rollback.
Response PublishResponse(PolicyService& policies, const SecurityContext& context,
                         const std::string& scope,
                         const Result<policy_store::PublishOutcome>& outcome) {
  if (!outcome.ok()) {
    if (outcome.error().code() != "policy_version_conflict") {
      return ErrorResponse(context, outcome.error());
    }
    // The author needs the version to rebase on.
    Result<std::shared_ptr<const PolicyVersion>> current = policies.Current(scope);
    std::int64_t version = current.ok() && *current ? (*current)->version : 0;
    return ProblemWith(context, outcome.error(), {{"current_version", version}});
  }
  if (!outcome->published) return InvalidPolicy(context, outcome->problems);
  const PolicyVersion& published = *outcome->published;
  // The dispatcher records the audit entry, with this version, before the response leaves.
  log::Info("policy_published", {{"request_id", context.request_id()},
                                 {"principal", context.principal()},
                                 {"scope", scope},
                                 {"version", std::to_string(published.version)},
                                 {"content_hash", published.content_hash}});
  Response response = OrderedJson(201, VersionJson(published));
  response.headers.emplace_back(
      "Location", "/v1/policy/scopes/" + scope + "/versions/" + std::to_string(published.version));
  response.headers.emplace_back("ETag", ETag(published));
  response.audit.policy_version = static_cast<std::uint64_t>(published.version);
  return response;
}

// ---- Handlers ----

struct Context {
  PolicyService& policies;
  server::ChangeNotifier& notifier;
  Authorizer authorize;
  PolicyRouteOptions options;
};

Result<std::string> AuthorizedScope(const Context& c, const Request& request,
                                    const SecurityContext& context, const char* action) {
  WK_ASSIGN_OR_RETURN(std::string scope, ScopeParam(request));
  WK_RETURN_IF_ERROR(c.authorize(context, action, policy_store::ScopeResource(scope)));
  return scope;
}

Response Publish(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.publish"));
    WK_ASSIGN_OR_RETURN(nlohmann::json body,
                        ParseObject(request.body, {"document", "base_version", "comment"}));
    if (!body.contains("document") || !body["document"].is_object()) {
      return InvalidField("/document", "a policy document (JSON object)");
    }
    WK_ASSIGN_OR_RETURN(auto base,
                        OptionalInteger(body, "base_version", "/base_version", 0, kMaxVersion));
    if (!base) return InvalidField("/base_version", "the version edited, 0 for a new scope");
    WK_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment", "/comment"));
    policy_store::PublishRequest publish{scope, std::move(body["document"]), *base,
                                         comment.value_or("")};
    return PublishResponse(c.policies, context, scope, c.policies.Publish(context, publish));
  });
}

Response Rollback(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.publish"));
    WK_ASSIGN_OR_RETURN(nlohmann::json body,
                        ParseObject(request.body, {"version", "base_version", "comment"}));
    WK_ASSIGN_OR_RETURN(auto target, OptionalInteger(body, "version", "/version", 1, kMaxVersion));
    WK_ASSIGN_OR_RETURN(auto base,
                        OptionalInteger(body, "base_version", "/base_version", 0, kMaxVersion));
    if (!target) return InvalidField("/version", "the version to roll back to");
    if (!base) return InvalidField("/base_version", "the current version");
    WK_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment", "/comment"));
    return PublishResponse(
        c.policies, context, scope,
        c.policies.Rollback(context, scope, *target, *base, comment.value_or("")));
  });
}

Response History(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.read"));
    WK_ASSIGN_OR_RETURN(auto params, Query(request, {"before", "limit"}));
    WK_ASSIGN_OR_RETURN(auto before, VersionQuery(params, "before"));
    WK_ASSIGN_OR_RETURN(auto limit, VersionQuery(params, "limit"));
    std::int64_t page =
        std::min(limit.value_or(c.options.max_history_page), c.options.max_history_page);
    WK_ASSIGN_OR_RETURN(std::vector<PolicyVersion> versions,
                        c.policies.History(scope, before.value_or(0), page));
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const PolicyVersion& version : versions) list.push_back(VersionJson(version));
    nlohmann::ordered_json body = {{"scope", scope}, {"versions", list}};
    // The cursor for the next page, or null on the last one.
    bool more = static_cast<std::int64_t>(versions.size()) == page && versions.back().version > 1;
    body["next_before"] = more ? nlohmann::ordered_json(versions.back().version) : nullptr;
    return OrderedJson(200, body);
  });
}

Response GetVersion(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.read"));
    WK_ASSIGN_OR_RETURN(std::int64_t number,
                        ParseVersionText(request.PathParam("version"), "/path/version"));
    WK_ASSIGN_OR_RETURN(PolicyVersion version, c.policies.Version(scope, number));
    nlohmann::ordered_json body = VersionJson(version);
    body["document"] = nlohmann::ordered_json::parse(version.content, nullptr, false);
    body["signature"] = version.signature;
    return OrderedJson(200, body);
  });
}

Response Diff(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.read"));
    WK_ASSIGN_OR_RETURN(auto params, Query(request, {"from", "to"}));
    WK_ASSIGN_OR_RETURN(auto from, VersionQuery(params, "from"));
    WK_ASSIGN_OR_RETURN(auto to, VersionQuery(params, "to"));
    if (!from || !to) return InvalidField("/query", "from=<version>&to=<version>");
    WK_ASSIGN_OR_RETURN(nlohmann::json patch, c.policies.Diff(scope, *from, *to));
    return JsonResponse(200, {{"scope", scope}, {"from", *from}, {"to", *to}, {"patch", patch}});
  });
}

// The long-poll continuation: whatever is current when the wait ends, or 304 if it still
// matches. Reads the service's in-memory current version (filled by the handler and by every
// publish), so it does not block the I/O thread it runs on.
std::function<Response(bool)> ResumeFetch(PolicyService& policies, std::string scope,
                                          std::string seen_etag, std::int64_t wait) {
  return [&policies, scope = std::move(scope), seen_etag = std::move(seen_etag), wait](bool) {
    Response response;
    Result<std::shared_ptr<const PolicyVersion>> current = policies.Current(scope);
    if (current.ok() && *current && ETag(**current) != seen_etag) {
      response = BundleResponse(**current);
    } else {
      response.status = 304;
      response.headers.emplace_back("ETag", seen_etag);
    }
    response.headers.emplace_back("Preference-Applied", "wait=" + std::to_string(wait));
    return response;
  };
}

Response FetchBundle(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.fetch"));
    WK_ASSIGN_OR_RETURN(auto params, Query(request, {"version"}));
    WK_ASSIGN_OR_RETURN(auto pinned, VersionQuery(params, "version"));
    if (pinned) {
      WK_ASSIGN_OR_RETURN(PolicyVersion version, c.policies.Version(scope, *pinned));
      return NoneMatch(request, ETag(version)) ? NotModified(version) : BundleResponse(version);
    }

    // The generation is read before the state, so a publish in between wakes the wait at once.
    std::string topic = PolicyTopic(scope);
    std::uint64_t seen = c.notifier.Generation(topic);
    WK_ASSIGN_OR_RETURN(std::shared_ptr<const PolicyVersion> current, c.policies.Current(scope));
    if (!current) {
      return Error(ErrorKind::kNotFound, "policy_version_not_found", scope + " has no version");
    }
    if (!NoneMatch(request, ETag(*current))) return BundleResponse(*current);
    std::optional<std::int64_t> wait = PreferWait(request, c.options.max_wait);
    if (!wait || *wait == 0) return NotModified(*current);

    auto parked = std::make_shared<server::WaitForChange>();
    parked->notifier = &c.notifier;
    parked->topic = std::move(topic);
    parked->seen = seen;
    parked->timeout = std::chrono::seconds(*wait);
    parked->resume = ResumeFetch(c.policies, scope, ETag(*current), *wait);
    Response response;
    response.wait = std::move(parked);
    return response;
  });
}

Response Report(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.report"));
    WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"instance", "version"}));
    WK_ASSIGN_OR_RETURN(std::string instance, RequiredString(body, "instance", "/instance"));
    WK_ASSIGN_OR_RETURN(auto version, OptionalInteger(body, "version", "/version", 1, kMaxVersion));
    if (!version) return InvalidField("/version", "the version enforced");
    WK_RETURN_IF_ERROR(c.policies.Report(context, scope, instance, *version));
    WK_ASSIGN_OR_RETURN(std::shared_ptr<const PolicyVersion> current, c.policies.Current(scope));
    WK_ASSIGN_OR_RETURN(PolicyVersion reported, c.policies.Version(scope, *version));
    // As in the fleet status: behind means enforcing other content than the current version's.
    bool behind = current && reported.content_hash != current->content_hash;
    return JsonResponse(200, {{"scope", scope},
                              {"version", *version},
                              {"current_version", current ? current->version : 0},
                              {"behind", behind}});
  });
}

Response Fleet(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope,
                        AuthorizedScope(c, request, context, "policy.fleet.read"));
    WK_ASSIGN_OR_RETURN(policy_store::FleetStatus status, c.policies.Fleet(scope));
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    std::int64_t behind = 0;
    std::int64_t stale = 0;
    for (const policy_store::FleetMember& member : status.members) {
      behind += member.behind ? 1 : 0;
      stale += member.stale ? 1 : 0;
      members.push_back({{"principal", member.report.principal},
                         {"instance", member.report.instance},
                         {"version", member.report.version},
                         {"reported_at", FormatRfc3339(member.report.reported_at)},
                         {"behind", member.behind},
                         {"stale", member.stale}});
    }
    return OrderedJson(200, {{"scope", scope},
                             {"current_version", status.current_version},
                             {"reporters", members.size()},
                             {"behind", behind},
                             {"stale", stale},
                             {"members", members}});
  });
}

Response Check(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::string scope, AuthorizedScope(c, request, context, "policy.check"));
    WK_ASSIGN_OR_RETURN(auto params, Query(request, {"version"}));
    WK_ASSIGN_OR_RETURN(auto version, VersionQuery(params, "version"));
    WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseJsonObject(request.body));
    WK_ASSIGN_OR_RETURN(policy::AccessRequest access, policy::ParseAccessRequest(body));
    WK_ASSIGN_OR_RETURN(policy::Decision decision, c.policies.Check(scope, version, access));
    return JsonResponse(200, policy::DecisionToJson(decision));
  });
}

Response ListScopes(const Context& c, const Request&, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_ASSIGN_OR_RETURN(std::vector<std::string> scopes, c.policies.Scopes());
    // Listing answers everyone, leaving out the scopes the caller may not read.
    nlohmann::json visible = nlohmann::json::array();
    for (const std::string& scope : scopes) {
      if (c.authorize(context, "policy.read", policy_store::ScopeResource(scope)).ok()) {
        visible.push_back({{"scope", scope}});
      }
    }
    return JsonResponse(200, {{"scopes", visible}});
  });
}

using HandlerFn = Response (*)(const Context&, const Request&, const SecurityContext&);

struct PolicyRoute {
  const char* method;
  const char* pattern;
  HandlerFn handler;
};

// A new bundle signing key signs from now on; the answer is the new kid and the whole JWK set.
Response RotateBundleKey(const Context& c, const Request& request, const SecurityContext& context) {
  return Respond(context, [&]() -> Result<Response> {
    WK_RETURN_IF_ERROR(c.authorize(context, kBundleKeyRotateAction, kBundleKeyRotateResource));
    WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
    WK_ASSIGN_OR_RETURN(policy_store::BundleKeyRecord active, c.policies.RotateSigningKey());
    log::Info("policy_signing_key_rotated", {{"request_id", context.request_id()},
                                             {"principal", context.principal()},
                                             {"kid", active.kid}});
    nlohmann::ordered_json body = {{"active_kid", active.kid}};
    body["keys"] = nlohmann::ordered_json::parse(c.policies.JwkSetJson())["keys"];
    return OrderedJson(200, body);
  });
}

const PolicyRoute kRoutes[] = {
    {"GET", "/v1/policy/scopes/{kind}/{name}/versions", History},
    {"POST", "/v1/policy/scopes/{kind}/{name}/versions", Publish},
    {"GET", "/v1/policy/scopes/{kind}/{name}/versions/{version}", GetVersion},
    {"GET", "/v1/policy/scopes/{kind}/{name}/diff", Diff},
    {"POST", "/v1/policy/scopes/{kind}/{name}/rollback", Rollback},
    {"GET", "/v1/policy/scopes/{kind}/{name}/bundle", FetchBundle},
    {"POST", "/v1/policy/scopes/{kind}/{name}/reports", Report},
    {"GET", "/v1/policy/scopes/{kind}/{name}/fleet", Fleet},
    {"POST", "/v1/policy/scopes/{kind}/{name}/check", Check},
};

}  // namespace

std::string PolicyTopic(const std::string& scope) { return "policy/" + scope; }

void RegisterPolicyRoutes(server::Router& router, PolicyService& policies,
                          server::ChangeNotifier& notifier, Authorizer authorize,
                          PolicyRouteOptions options) {
  auto context =
      std::make_shared<const Context>(Context{policies, notifier, std::move(authorize), options});
  for (const PolicyRoute& route : kRoutes) {
    router.Add({route.method, route.pattern, server::RunOn::kWorker, false,
                [context, handler = route.handler](const Request& request,
                                                   const SecurityContext& security) {
                  return handler(*context, request, security);
                }});
  }
  router.Add({"GET", "/v1/policy/scopes", server::RunOn::kWorker, false,
              [context](const Request& request, const SecurityContext& security) {
                return ListScopes(*context, request, security);
              }});
  // The HSM creates a key pair: a worker's job.
  router.Add({"POST", "/v1/policy/keys/rotate", server::RunOn::kWorker, false,
              [context](const Request& request, const SecurityContext& security) {
                return RotateBundleKey(*context, request, security);
              }});
  // Public: engines need the keys before they can trust anything, and they verify nothing secret.
  router.Add({"GET", "/v1/policy/keys", server::RunOn::kInline, true,
              [&policies](const Request&, const SecurityContext&) {
                Response response;
                response.body = policies.JwkSetJson();
                return response;
              }});
}

}  // namespace weftkit::api
