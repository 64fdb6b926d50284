#include "common/security_context.h"

#include <algorithm>

namespace weftkit {

const char* AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kMtls:
      return "mtls";
    case AuthMethod::kJwt:
      return "jwt";
    case AuthMethod::kScram:
      return "scram";
  }
  return "none";
}

bool SecurityContext::HasRole(const std::string& role) const {
  return std::find(fields_.roles.begin(), fields_.roles.end(), role) != fields_.roles.end();
}

}  // namespace weftkit
