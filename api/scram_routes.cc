#include "api/scram_routes.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "api/json_body.h"
#include "api/responses.h"
#include "auth/scram_messages.h"
#include "common/base64.h"
#include "common/log.h"
#include "server/problem.h"

namespace weftkit::api {
namespace {

using auth::ScramMechanism;
using server::Request;
using server::Response;

// The base64 of the largest SCRAM message plus the scheme, a sid and some separators.
constexpr std::size_t kMaxAuthorizationBytes = 4096;
constexpr std::size_t kMaxSidLength = 64;

Error BadAuthorization(const char* detail) {
  return Error(ErrorKind::kInvalidArgument, "scram_bad_authorization", detail);
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// A bare value, or a quoted-string without escapes (none of our values needs one).
Result<std::string_view> Unquote(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
    raw = raw.substr(1, raw.size() - 2);
  }
  if (raw.empty() || raw.find_first_of("\"\\") != std::string_view::npos) {
    return BadAuthorization("auth-param value empty or badly quoted");
  }
  return raw;
}

bool IsValidSid(std::string_view sid) {
  return !sid.empty() && sid.size() <= kMaxSidLength &&
         std::all_of(sid.begin(), sid.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

struct AuthParams {
  std::optional<std::string_view> sid;
  std::optional<std::string_view> data;
  std::optional<std::string_view> realm;  // accepted and ignored
};

Status ParseAuthParam(std::string_view param, AuthParams* params) {
  const std::size_t equals = param.find('=');
  if (equals == std::string_view::npos) return BadAuthorization("auth-param without '='");
  const std::string name = Lower(TrimOws(param.substr(0, equals)));
  WK_ASSIGN_OR_RETURN(std::string_view value, Unquote(TrimOws(param.substr(equals + 1))));
  std::optional<std::string_view>* slot = name == "sid"     ? &params->sid
                                          : name == "data"  ? &params->data
                                          : name == "realm" ? &params->realm
                                                            : nullptr;
  if (slot == nullptr) return BadAuthorization("unknown auth-param");
  if (slot->has_value()) return BadAuthorization("repeated auth-param");
  *slot = value;
  return OkStatus();
}

// The challenges a request without SCRAM credentials gets: -PLUS only where the connection can
// bind (it has a TLS exporter).
void AddChallenges(const Request& request, Response* response) {
  if (!request.tls_exporter.empty()) {
    response->headers.emplace_back("WWW-Authenticate", "SCRAM-SHA-256-PLUS realm=\"weftkit-kms\"");
  }
  response->headers.emplace_back("WWW-Authenticate", "SCRAM-SHA-256 realm=\"weftkit-kms\"");
}

std::string ScramHeader(std::string_view prefix, std::string_view sid, std::string_view message) {
  return std::string(prefix) + "sid=" + std::string(sid) +
         ", data=" + Base64Encode(AsBytes(message));
}

// The answer to a failed step: the problem, the server-final "e=" where RFC 5802 has one (only
// once an exchange exists), a challenge on every 401, and Retry-After when throttled.
Response StepFailure(const Request& request, const SecurityContext& context, const Error& error,
                     const ScramAuthorization& authorization, std::int64_t retry_after) {
  Response response = ErrorResponse(context, error);
  std::optional<std::string_view> server_error = auth::ServerErrorValueFor(error.code());
  if (authorization.sid.has_value() && server_error.has_value()) {
    const std::string prefix = std::string(auth::ScramMechanismName(authorization.mechanism)) + " ";
    response.headers.emplace_back(
        "WWW-Authenticate",
        ScramHeader(prefix, *authorization.sid, auth::FormatServerError(*server_error)));
  } else if (response.status == 401) {
    AddChallenges(request, &response);
  }
  if (retry_after > 0) response.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return response;
}

Response StartStep(const ScramRouteDependencies& deps, const Request& request,
                   const SecurityContext& context, const ScramAuthorization& authorization) {
  std::int64_t retry_after = 0;
  Result<auth::ScramChallenge> challenge = deps.scram.Start(
      authorization.mechanism, authorization.message, request.tls_exporter, &retry_after);
  if (!challenge.ok()) {
    return StepFailure(request, context, challenge.error(), authorization, retry_after);
  }
  Response response = server::ProblemResponse(
      Error(ErrorKind::kUnauthenticated, "scram_continue", ""), context.request_id());
  const std::string prefix = std::string(auth::ScramMechanismName(authorization.mechanism)) + " ";
  response.headers.emplace_back("WWW-Authenticate",
                                ScramHeader(prefix, challenge->sid, challenge->server_first));
  return response;
}

Response TokenResponse(const ScramRouteDependencies& deps, const auth::ScramSuccess& success,
                       std::string token, std::string_view sid) {
  nlohmann::json body = {{"access_token", std::move(token)},
                         {"token_type", "Bearer"},
                         {"expires_in", deps.token_lifetime_seconds},
                         {"must_change_password", success.must_change_password}};
  Response response = JsonResponse(200, body);
  std::string& copy = body["access_token"].get_ref<std::string&>();
  OPENSSL_cleanse(copy.data(), copy.size());
  response.wipe_after_send = true;  // the body holds a bearer token
  response.headers.emplace_back("Authentication-Info", ScramHeader("", sid, success.server_final));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response FinishStep(const ScramRouteDependencies& deps, const Request& request,
                    const SecurityContext& context, const ScramAuthorization& authorization) {
  std::int64_t retry_after = 0;
  Result<auth::ScramSuccess> success =
      deps.scram.Finish(*authorization.sid, authorization.mechanism, authorization.message,
                        request.tls_exporter, &retry_after);
  if (!success.ok()) {
    return StepFailure(request, context, success.error(), authorization, retry_after);
  }
  const std::string principal = ScramPrincipal(success->user);
  Result<std::string> token = deps.issue_token(principal, success->must_change_password);
  if (!token.ok()) return ErrorResponse(context, token.error());
  log::Info("scram_login_succeeded",
            {{"request_id", context.request_id()},
             {"principal", principal},
             {"peer", context.peer()},
             {"mechanism", auth::ScramMechanismName(authorization.mechanism)},
             {"must_change_password", success->must_change_password ? "true" : "false"}});
  Response response = TokenResponse(deps, *success, std::move(token).value(), *authorization.sid);
  response.audit.resource = "principal/" + principal;  // who logged in, for the audit entry
  return response;
}

Response LoginStep(const ScramRouteDependencies& deps, const Request& request,
                   const SecurityContext& context) {
  std::optional<std::string_view> header = request.Header("authorization");
  Result<std::optional<ScramAuthorization>> authorization =
      header.has_value() ? ParseScramAuthorization(*header)
                         : Result<std::optional<ScramAuthorization>>(std::nullopt);
  if (!authorization.ok()) return ErrorResponse(context, authorization.error());
  if (!authorization->has_value()) {
    Response response = ErrorResponse(
        context, Error(ErrorKind::kUnauthenticated, "scram_required", "no SCRAM Authorization"));
    AddChallenges(request, &response);
    return response;
  }
  const ScramAuthorization& scram = **authorization;
  return scram.sid.has_value() ? FinishStep(deps, request, context, scram)
                               : StartStep(deps, request, context, scram);
}

// Every step of a login is audited as "auth.login"; the last, successful one names the user.
Response Login(const ScramRouteDependencies& deps, const Request& request,
               const SecurityContext& context) {
  Response response = LoginStep(deps, request, context);
  response.audit.action = "auth.login";
  return response;
}

// Moves the password out of the parsed body into secure memory and wipes the JSON's copy.
Result<SecretBytes> TakePassword(nlohmann::json& body) {
  auto field = body.find("password");
  if (field == body.end() || !field->is_string()) return InvalidField("/password", "a string");
  std::string& text = field->get_ref<std::string&>();
  SecretBytes password = SecretBytes::CopyOf(text);
  OPENSSL_cleanse(text.data(), text.size());
  return password;
}

Status AuthorizePasswordChange(const ScramRouteDependencies& deps, const SecurityContext& context,
                               const std::string& principal) {
  if (!context.authenticated()) {
    return Error(ErrorKind::kUnauthenticated, "unauthenticated", "password change needs a caller");
  }
  if (context.principal() == principal) return OkStatus();  // users may change their own
  return deps.authorize(context, kPasswordManageAction, "principal/" + principal);
}

// The request body that carried the password is wiped by the server once the handler returns
// (server/request_dispatcher.cc); the copies made here are wiped here.
Result<Response> SetPassword(const ScramRouteDependencies& deps, const Request& request,
                             const SecurityContext& context) {
  const std::string& user = request.PathParam("name");
  if (!auth::IsValidUserName(user)) {
    return Error(ErrorKind::kInvalidArgument, "invalid_user_name", "user name not allowed");
  }
  const std::string principal = ScramPrincipal(user);
  WK_RETURN_IF_ERROR(AuthorizePasswordChange(deps, context, principal));

  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"password", "iterations"}));
  WK_ASSIGN_OR_RETURN(SecretBytes password, TakePassword(body));
  WK_ASSIGN_OR_RETURN(std::optional<std::int64_t> iterations,
                      OptionalInteger(body, "iterations", "/iterations", auth::kMinScramIterations,
                                      auth::kMaxScramIterations));
  const auto count = static_cast<std::uint32_t>(iterations.value_or(deps.default_iterations));
  WK_RETURN_IF_ERROR(deps.passwords.SetPassword(user, password, count));

  log::Info("scram_password_set", {{"request_id", context.request_id()},
                                   {"principal", context.principal()},
                                   {"user", principal},
                                   {"iterations", std::to_string(count)}});
  return JsonResponse(200, {{"principal", principal}, {"iterations", count}});
}

}  // namespace

std::string ScramPrincipal(std::string_view user) { return "user:" + std::string(user); }

Result<std::optional<ScramAuthorization>> ParseScramAuthorization(std::string_view value) {
  if (value.size() > kMaxAuthorizationBytes) return BadAuthorization("Authorization too long");
  const std::size_t space = value.find(' ');
  std::optional<ScramMechanism> mechanism = auth::ParseScramMechanism(value.substr(0, space));
  if (!mechanism.has_value()) return std::optional<ScramAuthorization>();
  if (space == std::string_view::npos) return BadAuthorization("no auth-params");

  AuthParams params;
  std::string_view rest = value.substr(space + 1);
  while (true) {
    const std::size_t comma = rest.find(',');
    WK_RETURN_IF_ERROR(ParseAuthParam(rest.substr(0, comma), &params));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!params.data.has_value()) return BadAuthorization("no data auth-param");
  if (params.sid.has_value() && !IsValidSid(*params.sid)) return BadAuthorization("bad sid");
  Result<std::vector<std::uint8_t>> message = Base64Decode(*params.data);
  if (!message.ok()) return BadAuthorization("data is not canonical base64");

  ScramAuthorization parsed;
  parsed.mechanism = *mechanism;
  if (params.sid.has_value()) parsed.sid = std::string(*params.sid);
  parsed.message.assign(message->begin(), message->end());
  return std::optional<ScramAuthorization>(std::move(parsed));
}

void RegisterScramRoutes(server::Router& router, const ScramRouteDependencies& deps) {
  // Public: this route is where a person authenticates, so it cannot require authentication.
  router.Add({"POST", "/v1/auth/scram", server::RunOn::kWorker, true,
              [deps](const Request& request, const SecurityContext& context) {
                return Login(deps, request, context);
              },
              /*is_login=*/true});
  router.Add({"PUT", "/v1/principals/{name}/password", server::RunOn::kWorker, false,
              [deps](const Request& request, const SecurityContext& context) {
                return Respond(context, [&] { return SetPassword(deps, request, context); });
              }});
}

}  // namespace weftkit::api
