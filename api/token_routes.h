// Routes for API tokens (see docs/tokens.md):
//   GET  /.well-known/jwks.json          public: the JWK set of the token-signing keys
//   POST /v1/auth/tokens                 an mTLS caller obtains a token for itself
//   POST /v1/auth/tokens/revoke          revokes a token by its jti
//   POST /v1/auth/signing-keys/rotate    rotates the token-signing key
//
// Authorization is decided by the `authorize` callback (kmsd wires it to the RBAC service) with
// the action and resource named below; anything it refuses is refused.
#pragma once

#include <functional>
#include <string_view>

#include "auth/token_service.h"
#include "common/error.h"
#include "common/security_context.h"
#include "server/router.h"

namespace weftkit::api {

// OkStatus() if `context` may perform `action` on `resource`, else the refusal to return
// (kPermissionDenied "forbidden"). Must be thread-safe: it runs on worker threads.
using TokenAuthorizer = std::function<Status(const SecurityContext& context,
                                             std::string_view action, std::string_view resource)>;

// What each route asks the authorizer.
inline constexpr std::string_view kTokenIssueAction = "token.issue";
inline constexpr std::string_view kTokenIssueResource = "token/self";
inline constexpr std::string_view kTokenRevokeAction = "token.revoke";  // on "token/<jti>"
inline constexpr std::string_view kSigningKeyRotateAction = "principal.manage";
inline constexpr std::string_view kSigningKeyRotateResource = "principal/jwt-signing-keys";

// Adds the routes above. `tokens` must outlive the router.
void RegisterTokenRoutes(server::Router& router, auth::TokenService& tokens,
                         TokenAuthorizer authorize);

}  // namespace weftkit::api
