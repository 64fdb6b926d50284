// Turns a verified client certificate into a SecurityContext.
//
// The TLS layer has already verified the chain against the configured trust bundles. The
// principal is the certificate's single SPIFFE URI SAN; a certificate with none or several is
// refused, because an identity must be unambiguous.
//
// TODO(#3): DNS-SAN and subject mappings, public-key pinning, JWT bearer tokens and SCRAM.
//
// Thread-safe: stateless.
#pragma once

#include "common/error.h"
#include "common/security_context.h"
#include "server/http_types.h"

namespace weftkit::api {

Result<SecurityContext> AuthenticateRequest(const server::Request& request);

// The context of an unauthenticated request, for health, readiness and public keys.
SecurityContext AnonymousContext(const server::Request& request);

}  // namespace weftkit::api
