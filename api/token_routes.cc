#include "api/token_routes.h"

#include "api/json_body.h"
#include "api/responses.h"
#include "common/log.h"
#include "common/time_util.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

// Only a caller that proved itself without a token may obtain one here: a token that could
// mint its successor would let one stolen credential live forever. SCRAM logins receive their
// token at the end of the exchange instead.
Status RequireMtls(const SecurityContext& context) {
  if (context.auth_method() == AuthMethod::kMtls) return OkStatus();
  return Error(ErrorKind::kPermissionDenied, "token_issue_requires_mtls",
               std::string("tokens are issued here to mTLS callers, not ") +
                   AuthMethodName(context.auth_method()));
}

// {"access_token":...,"token_type":"Bearer","expires_in":...}, as RFC 6749 §5.1 shapes it.
// Assembled by hand so the token is copied once, into a body the server wipes after sending;
// it is base64url and dots, so it needs no JSON escaping.
Response TokenResponse(const auth::IssuedToken& issued) {
  Response response;
  response.body = R"({"access_token":")";
  response.body.append(issued.access_token.expose_chars());
  response.body += R"(","token_type":"Bearer","expires_in":)" +
                   std::to_string(issued.exp - issued.iat) + R"(,"jti":")" + issued.jti + "\"}";
  response.wipe_after_send = true;
  response.headers = {{"Cache-Control", "no-store"}, {"Pragma", "no-cache"}};
  return response;
}

Result<Response> IssueToken(auth::TokenService& tokens, const Authorizer& authorize,
                            const Request& request, const SecurityContext& context) {
  WK_RETURN_IF_ERROR(RequireMtls(context));
  WK_RETURN_IF_ERROR(authorize(context, kTokenIssueAction, kTokenIssueResource));
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"audience", "lifetime_s"}));
  WK_ASSIGN_OR_RETURN(auto audience, OptionalString(body, "audience", "/audience"));
  WK_ASSIGN_OR_RETURN(auto lifetime, OptionalInteger(body, "lifetime_s", "/lifetime_s", 1, 86400));

  WK_ASSIGN_OR_RETURN(
      auth::IssuedToken issued,
      tokens.Issue(context.principal(), audience.value_or(""),
                   lifetime.value_or(tokens.policy().max_lifetime_s), AuthMethod::kMtls));
  log::Info("token_issued", {{"request_id", context.request_id()},
                             {"principal", context.principal()},
                             {"jti", issued.jti},
                             {"kid", issued.kid},
                             {"expires_at", FormatRfc3339(issued.exp)}});
  return TokenResponse(issued);
}

Result<Response> RevokeToken(auth::TokenService& tokens, const Authorizer& authorize,
                             const Request& request, const SecurityContext& context) {
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"jti"}));
  WK_ASSIGN_OR_RETURN(std::string jti, RequiredString(body, "jti", "/jti"));
  // Checked before it becomes part of a resource name or a log line.
  WK_RETURN_IF_ERROR(auth::ValidateJti(jti));
  WK_RETURN_IF_ERROR(authorize(context, kTokenRevokeAction, "token/" + jti));

  WK_RETURN_IF_ERROR(tokens.Revoke(jti, context.principal()));
  log::Info(
      "token_revoked",
      {{"request_id", context.request_id()}, {"principal", context.principal()}, {"jti", jti}});
  return JsonResponse(200, {{"jti", jti}, {"revoked", true}});
}

nlohmann::json KeyJson(const auth::SigningKeyRecord& key) {
  auto time_or_null = [](const std::optional<std::int64_t>& time) {
    return time ? nlohmann::json(FormatRfc3339(*time)) : nlohmann::json(nullptr);
  };
  return {{"kid", key.kid},
          {"state", auth::SigningKeyStateName(key.state)},
          {"created_at", FormatRfc3339(key.created_at)},
          {"retire_after", time_or_null(key.retire_after)},
          {"retired_at", time_or_null(key.retired_at)},
          {"hsm_label", key.hsm_label}};
}

Result<Response> RotateSigningKey(auth::TokenService& tokens, const Authorizer& authorize,
                                  const Request& request, const SecurityContext& context) {
  WK_RETURN_IF_ERROR(authorize(context, kSigningKeyRotateAction, kSigningKeyRotateResource));
  WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_ASSIGN_OR_RETURN(auth::SigningKeyRecord active, tokens.RotateSigningKey());
  log::Info("jwt_signing_key_rotated", {{"request_id", context.request_id()},
                                        {"principal", context.principal()},
                                        {"kid", active.kid}});

  WK_ASSIGN_OR_RETURN(std::vector<auth::SigningKeyRecord> keys, tokens.keys().ListKeys());
  nlohmann::json listed = nlohmann::json::array();
  for (const auth::SigningKeyRecord& key : keys) listed.push_back(KeyJson(key));
  return JsonResponse(200, {{"active_kid", active.kid}, {"keys", listed}});
}

using TokenHandler = Result<Response> (*)(auth::TokenService&, const Authorizer&, const Request&,
                                          const SecurityContext&);

struct TokenRoute {
  const char* method;
  const char* pattern;
  TokenHandler handler;
  bool is_login = false;  // rate-limited as an authentication attempt
};

// Each of these calls the HSM or writes the store, so they run on workers.
constexpr TokenRoute kWorkerRoutes[] = {
    {"POST", "/v1/auth/tokens", IssueToken, /*is_login=*/true},
    {"POST", "/v1/auth/tokens/revoke", RevokeToken},
    {"POST", "/v1/auth/signing-keys/rotate", RotateSigningKey},
};

}  // namespace

void RegisterTokenRoutes(server::Router& router, auth::TokenService& tokens, Authorizer authorize) {
  auth::TokenService* service = &tokens;
  if (!authorize) {
    // Deny by default: a missing decision maker must not mean "allow".
    authorize = [](const SecurityContext&, std::string_view, std::string_view) -> Status {
      return Error(ErrorKind::kPermissionDenied, "forbidden", "no authorizer configured");
    };
  }

  // Public, as issue 3 allows for public keys. Served from memory, so inline.
  router.Add({"GET", "/.well-known/jwks.json", server::RunOn::kInline, true,
              [service](const Request&, const SecurityContext&) {
                Response response;
                response.body = service->JwkSetJson();
                // Short, so verifiers pick up a rotation soon; they also refetch on an unknown kid.
                response.headers = {{"Cache-Control", "public, max-age=60"}};
                return response;
              }});

  for (const TokenRoute& route : kWorkerRoutes) {
    router.Add({route.method, route.pattern, server::RunOn::kWorker, false,
                [service, authorize, handler = route.handler](const Request& request,
                                                              const SecurityContext& context) {
                  return Respond(context,
                                 [&] { return handler(*service, authorize, request, context); });
                },
                route.is_login});
  }
}

}  // namespace weftkit::api
