#include "auth/token_policy.h"

#include <algorithm>

namespace weftkit::auth {
namespace {

Error InvalidPolicy(const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, "invalid_token_policy", why);
}

// Claims values end up in every token and in logs: keep them short printable ASCII.
bool IsPrintableName(const std::string& text) {
  return !text.empty() && text.size() <= 256 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

Status ValidateTokenPolicy(const TokenPolicy& policy) {
  if (!IsPrintableName(policy.issuer)) return InvalidPolicy("issuer must be printable ASCII");
  if (!IsPrintableName(policy.audience)) return InvalidPolicy("audience must be printable ASCII");
  for (const std::string& audience : policy.extra_audiences) {
    if (!IsPrintableName(audience)) return InvalidPolicy("extra audiences must be printable ASCII");
  }
  if (policy.max_lifetime_s < 1 || policy.max_lifetime_s > 24 * 3600) {
    return InvalidPolicy("max_lifetime_s must lie in 1..86400");
  }
  if (policy.leeway_s < 0 || policy.leeway_s > 300) {
    return InvalidPolicy("leeway_s must lie in 0..300");
  }
  if (!policy.now) return InvalidPolicy("a clock is required");
  return OkStatus();
}

}  // namespace weftkit::auth
