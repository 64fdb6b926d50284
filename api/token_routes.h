// Routes for API tokens (see docs/tokens.md):
//   GET  /.well-known/jwks.json          public: the JWK set of the token-signing keys
//   POST /v1/auth/tokens                 an mTLS caller obtains a token for itself
//   POST /v1/auth/tokens/revoke          revokes a token by its jti
//   POST /v1/auth/signing-keys/rotate    rotates the token-signing key
//
// Authorization is decided by the `authorize` callback (kmsd wires it to the RBAC service) with
// the action and resource named below; anything it refuses is refused.
#pragma once

#include <string_view>

#include "api/authorizer.h"
#include "auth/token_service.h"
#include "server/router.h"

namespace weftkit::api {

// What each route asks the authorizer.
inline constexpr std::string_view kTokenIssueAction = "token.issue";
inline constexpr std::string_view kTokenIssueResource = "token/self";
inline constexpr std::string_view kTokenRevokeAction = "token.revoke";  // on "token/<jti>"
inline constexpr std::string_view kSigningKeyRotateAction = "principal.manage";
inline constexpr std::string_view kSigningKeyRotateResource = "principal/jwt-signing-keys";

// Adds the routes above. `tokens` must outlive the router. An empty `authorize` denies every
// protected route.
void RegisterTokenRoutes(server::Router& router, auth::TokenService& tokens, Authorizer authorize);

}  // namespace weftkit::api
