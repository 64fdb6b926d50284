// Request ids: 16 random bytes from OpenSSL's DRBG as 32 lower-case hex characters.
//
// Every request gets one before anything else happens; it appears in the X-Request-Id header of
// every response, in the problem body, in the access log and in audit entries, so an operator
// can follow one call across all of them. Thread-safe.
#pragma once

#include <string>

#include "common/error.h"

namespace weftkit::server {

// A fresh request id, or kUnavailable when the random generator fails.
Result<std::string> NewRequestId();

}  // namespace weftkit::server
