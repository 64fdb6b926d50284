// Reads the fields the server passes on about a verified client certificate.
//
// Kept apart from the connection code so that it compiles without Beast and can be tested on
// certificates from the test PKI. Thread-safe: pure functions.
#pragma once

#include <openssl/types.h>

#include "common/error.h"
#include "server/http_types.h"

namespace weftkit::server {

// Describes `cert` (borrowed, not owned): subject in RFC 2253 form, URI and DNS subject
// alternative names, and the lower-case hex SHA-256 of its DER SubjectPublicKeyInfo.
// `cert` == nullptr gives an empty PeerCertificate with present == false.
// Fails with kInternal if OpenSSL cannot encode the subject or the public key.
Result<PeerCertificate> DescribePeerCertificate(X509* cert);

}  // namespace weftkit::server
