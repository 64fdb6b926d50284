// kmsctl's exit codes (documented in docs/kmsctl.md), and the one mapping from an Error to them.
#pragma once

#include "common/error.h"

namespace weftkit::kmsctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,         // bad command line, profile or option; nothing was sent
  kExitAuth = 2,          // not authenticated: bad certificate, password, token, pin
  kExitForbidden = 3,     // authenticated, but RBAC said no
  kExitNotFound = 4,      // the key, version, principal or role does not exist
  kExitConflict = 5,      // already exists, or a concurrent change won
  kExitUnavailable = 6,   // cannot connect, timed out, 5xx: retry later
  kExitVerification = 7,  // an integrity check failed (envelope_authentication_failed, ...)
  kExitRejected = 8,      // the server refused the request as invalid (400, 413, 422)
  kExitPartial = 9,       // a bulk operation finished, but some items failed
};

// The exit code for a failed command.
ExitCode ExitCodeFor(const Error& error);

}  // namespace weftkit::kmsctl
