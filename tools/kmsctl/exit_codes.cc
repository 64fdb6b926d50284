#include "tools/kmsctl/exit_codes.h"

#include <map>
#include <string>

#include "client/client_error.h"

namespace weftkit::kmsctl {

ExitCode ExitCodeFor(const Error& error) {
  using client::ServerError;
  const std::string& code = error.code();
  if (code == "usage" || code == client::kInvalidOption || code == "policy_state_invalid") {
    return kExitUsage;
  }
  if (code == client::kPinMismatch || code == client::kScramServerSignature ||
      code == "client_scram" || code == "auth_throttled" || code == "account_locked") {
    return kExitAuth;
  }
  if (client::ServerErrorOf(error) == ServerError::kEnvelopeAuthenticationFailed ||
      code.ends_with("verification_failed") || code.starts_with("bundle_") ||
      code == "jwk_set_invalid") {
    return kExitVerification;
  }
  static const std::map<ErrorKind, ExitCode> by_kind = {
      {ErrorKind::kInvalidArgument, kExitRejected},
      {ErrorKind::kUnauthenticated, kExitAuth},
      {ErrorKind::kPermissionDenied, kExitForbidden},
      {ErrorKind::kNotFound, kExitNotFound},
      {ErrorKind::kAlreadyExists, kExitConflict},
      {ErrorKind::kConflict, kExitConflict},
      {ErrorKind::kFailedPrecondition, kExitRejected},
      {ErrorKind::kPayloadTooLarge, kExitRejected},
      {ErrorKind::kResourceExhausted, kExitUnavailable},
      {ErrorKind::kUnavailable, kExitUnavailable},
      {ErrorKind::kDeadlineExceeded, kExitUnavailable},
      {ErrorKind::kDataLoss, kExitVerification},
      {ErrorKind::kInternal, kExitUnavailable},
  };
  auto it = by_kind.find(error.kind());
  return it == by_kind.end() ? kExitUnavailable : it->second;
}

}  // namespace weftkit::kmsctl
