// RequestAuthenticator: builds every request's SecurityContext from its credentials.
//
// A request authenticates with exactly one of:
//   - "Authorization: Bearer <jwt>": a token this server issued (TokenService verifies it);
//     the principal is its "sub" and the method kJwt;
//   - a client certificate the TLS layer verified: the principal is taken from the certificate
//     as configured (its single SPIFFE URI SAN, its single DNS SAN, or its subject), and the
//     certificate's public key must be pinned when pins are configured; the method kMtls.
// A bearer token takes precedence over the certificate of the same connection, so a service may
// act as the principal of a token it obtained. The principal's roles are resolved from the RBAC
// store at that moment, so a binding removed a second ago no longer applies. A token issued with
// scope "password_change" (to a user logging in with a one-time password) gets no roles at all,
// for its whole life: the only thing it can do is change that user's own password.
//
// Thread-safe: const, and the services it reads are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "auth/rbac_service.h"
#include "auth/token_service.h"
#include "common/error.h"
#include "common/security_context.h"
#include "server/http_types.h"

namespace weftkit::api {

// Which part of a client certificate names its principal.
enum class CertificateIdentity { kSpiffeUri, kDnsSan, kSubject };

struct AuthenticatorOptions {
  CertificateIdentity certificate_identity = CertificateIdentity::kSpiffeUri;
  // SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex. Empty: no pinning.
  std::vector<std::string> pinned_spki_sha256;
};

class RequestAuthenticator {
 public:
  // `rbac` and `tokens` must outlive the authenticator.
  RequestAuthenticator(const auth::RbacService& rbac, const auth::TokenService& tokens,
                       AuthenticatorOptions options);

  // The request's SecurityContext, or kUnauthenticated with one of: credentials_required,
  // bearer_malformed, the token's own refusal code (token_expired, ...), certificate_identity,
  // certificate_not_pinned.
  Result<SecurityContext> Authenticate(const server::Request& request) const;

 private:
  Result<std::string> CertificatePrincipal(const server::PeerCertificate& certificate) const;
  SecurityContext Build(const server::Request& request, std::string principal, AuthMethod method,
                        bool with_roles) const;

  const auth::RbacService& rbac_;
  const auth::TokenService& tokens_;
  const AuthenticatorOptions options_;
};

}  // namespace weftkit::api
