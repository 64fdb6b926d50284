// Routes for passwords of people: the SCRAM-SHA-256(-PLUS) login over HTTP (RFC 7804) and
// setting a password. docs/scram.md walks through the exchange.
//
//   POST /v1/auth/scram                 public: the login itself (it is the authentication, so
//                                       it runs with an anonymous SecurityContext)
//   PUT  /v1/principals/{name}/password "principal.manage" on "principal/user:<name>", or the
//                                       user themself (principal "user:<name>")
//
// The login, step 1: the client sends
//   Authorization: SCRAM-SHA-256-PLUS data=<base64(client-first-message)>
// and the server answers 401 with
//   WWW-Authenticate: SCRAM-SHA-256-PLUS sid=<sid>, data=<base64(server-first-message)>
// Step 2: the client sends, on the same TLS connection for -PLUS,
//   Authorization: SCRAM-SHA-256-PLUS sid=<sid>, data=<base64(client-final-message)>
// and on success the server answers 200 with
//   Authentication-Info: sid=<sid>, data=<base64(server-final-message "v=...")>
//   {"access_token":"...","token_type":"Bearer","expires_in":N,"must_change_password":false}
// On failure it answers with a problem+json body (stable code) and, where RFC 5802 defines one,
// WWW-Authenticate: <mechanism> sid=<sid>, data=<base64("e=<server-error-value>")>.
// Throttled attempts get 429 with Retry-After. A request without a SCRAM Authorization gets 401
// with one WWW-Authenticate challenge per offered mechanism (-PLUS only over TLS).
//
// Thread safety: handlers are thread-safe given thread-safe dependencies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auth/scram_password_store.h"
#include "auth/scram_server.h"
#include "common/error.h"
#include "common/security_context.h"
#include "server/router.h"

namespace weftkit::api {

// Issues the access token for a principal that just logged in, e.g. a short-lived JWT. Must be
// thread-safe: it runs on worker threads.
// `password_change_only` is set for a user whose password must be changed: the token must then
// be good for nothing but changing it (auth::TokenScope::kPasswordChange).
using ScramTokenIssuer =
    std::function<Result<std::string>(const std::string& principal, bool password_change_only)>;
// OkStatus() if `context` may perform `action` on `resource`, else the refusal to return.
using ScramAuthorizer = std::function<Status(const SecurityContext& context,
                                             std::string_view action, std::string_view resource)>;

inline constexpr std::string_view kPasswordManageAction = "principal.manage";

struct ScramRouteDependencies {
  auth::ScramServer& scram;
  auth::PasswordStore& passwords;
  ScramTokenIssuer issue_token;
  // The lifetime of what issue_token returns, reported as "expires_in".
  std::int64_t token_lifetime_seconds = 300;
  ScramAuthorizer authorize;
  // Iterations for a password set without "iterations" in the body.
  std::uint32_t default_iterations = auth::kDefaultScramIterations;
};

// "user:<name>": the principal of SCRAM user `name`.
std::string ScramPrincipal(std::string_view user);

// A parsed RFC 7804 Authorization header value for SCRAM.
struct ScramAuthorization {
  auth::ScramMechanism mechanism = auth::ScramMechanism::kSha256;
  std::optional<std::string> sid;  // absent in step 1
  std::string message;             // the decoded data= attribute: a SCRAM message
};

// Parses `<mechanism> [sid=<sid>, ]data=<base64>`: auth-params in any order, separated by ','
// and optional whitespace, values bare or in double quotes (without escapes); "realm" is
// ignored. Returns nullopt when the scheme is not a SCRAM mechanism. Fails with
// kInvalidArgument "scram_bad_authorization" for anything else malformed: a missing or
// duplicated data, an unknown or duplicated parameter, a sid not of 1 to 64 base64url
// characters, data that is not canonical base64, or a value longer than the message limit.
Result<std::optional<ScramAuthorization>> ParseScramAuthorization(std::string_view value);

// Adds the routes above to `router`, both on the worker pool. The referenced dependencies must
// outlive the router.
void RegisterScramRoutes(server::Router& router, const ScramRouteDependencies& deps);

}  // namespace weftkit::api
