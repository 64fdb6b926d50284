#include "client/client_error.h"

#include <map>
#include <string>

namespace weftkit::client {
namespace {

// Exact codes; families by prefix are handled in ServerErrorOf.
const std::map<std::string, ServerError, std::less<>>& ExactCodes() {
  static const auto* codes = new std::map<std::string, ServerError, std::less<>>{
      {"credentials_required", ServerError::kCredentialsRequired},
      {"certificate_identity", ServerError::kCredentialsRequired},
      {"forbidden", ServerError::kForbidden},
      {"key_not_found", ServerError::kKeyNotFound},
      {"key_exists", ServerError::kKeyExists},
      {"key_version_not_found", ServerError::kKeyVersionNotFound},
      {"envelope_authentication_failed", ServerError::kEnvelopeAuthenticationFailed},
      {"envelope_wrong_key", ServerError::kEnvelopeMalformed},
      {"key_version_disabled", ServerError::kKeyVersionUnusable},
      {"key_version_scheduled_for_destruction", ServerError::kKeyVersionUnusable},
      {"key_version_below_minimum", ServerError::kKeyVersionUnusable},
      {"key_version_destroyed", ServerError::kKeyVersionDestroyed},
      {"malformed_json", ServerError::kInvalidRequest},
      {"unknown_field", ServerError::kInvalidRequest},
      {"invalid_field", ServerError::kInvalidRequest},
      {"invalid_context", ServerError::kInvalidRequest},
      {"invalid_dek_length", ServerError::kInvalidRequest},
      {"batch_too_large", ServerError::kInvalidRequest},
      {"payload_too_large", ServerError::kInvalidRequest},
      {"auth_throttled", ServerError::kThrottled},
      {"account_locked", ServerError::kThrottled},
  };
  return *codes;
}

struct PrefixRule {
  std::string_view prefix;
  ServerError error;
};

constexpr PrefixRule kPrefixes[] = {
    {"envelope_", ServerError::kEnvelopeMalformed},
    {"token_", ServerError::kTokenRejected},
    {"scram_", ServerError::kScramFailed},
    {"client_", ServerError::kNone},
};

}  // namespace

ServerError ServerErrorOf(const Error& error) {
  const std::string& code = error.code();
  auto exact = ExactCodes().find(code);
  if (exact != ExactCodes().end()) return exact->second;
  for (const PrefixRule& rule : kPrefixes) {
    if (code.starts_with(rule.prefix)) return rule.error;
  }
  switch (error.kind()) {
    case ErrorKind::kUnavailable:
      return ServerError::kUnavailable;
    case ErrorKind::kResourceExhausted:
      return ServerError::kThrottled;
    case ErrorKind::kInternal:
      return ServerError::kInternal;
    default:
      return ServerError::kOther;
  }
}

ErrorKind KindForStatus(int status) {
  static const std::map<int, ErrorKind> kinds = {
      {400, ErrorKind::kInvalidArgument},   {401, ErrorKind::kUnauthenticated},
      {403, ErrorKind::kPermissionDenied},  {404, ErrorKind::kNotFound},
      {405, ErrorKind::kInvalidArgument},   {409, ErrorKind::kAlreadyExists},
      {413, ErrorKind::kPayloadTooLarge},   {422, ErrorKind::kFailedPrecondition},
      {429, ErrorKind::kResourceExhausted}, {431, ErrorKind::kPayloadTooLarge},
      {503, ErrorKind::kUnavailable},       {504, ErrorKind::kDeadlineExceeded},
  };
  auto it = kinds.find(status);
  if (it != kinds.end()) return it->second;
  return status >= 500 ? ErrorKind::kInternal : ErrorKind::kInvalidArgument;
}

bool IsTransient(const Error& error) {
  const std::string& code = error.code();
  if (code == kConnectFailed || code == kConnectionLost || code == kTimeout) return true;
  return error.kind() == ErrorKind::kUnavailable && !code.starts_with("client_");
}

}  // namespace weftkit::client
