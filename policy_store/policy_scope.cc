#include "policy_store/policy_scope.h"

#include <array>

namespace weftkit::policy_store {
namespace {

constexpr std::array<std::string_view, 3> kKinds = {"cluster", "pool", "engine"};
constexpr std::size_t kMaxNameLength = 64;

Error Invalid(const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, "invalid_scope", why);
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsNameChar(char c) { return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-'; }

}  // namespace

Status ValidateScope(std::string_view scope) {
  std::size_t slash = scope.find('/');
  if (slash == std::string_view::npos) return Invalid("a scope is <kind>/<name>");
  std::string_view kind = scope.substr(0, slash);
  std::string_view name = scope.substr(slash + 1);
  bool known_kind = false;
  for (std::string_view candidate : kKinds) known_kind = known_kind || candidate == kind;
  if (!known_kind) return Invalid("the kind of a scope is cluster, pool or engine");
  if (name.empty() || name.size() > kMaxNameLength) {
    return Invalid("the name of a scope has 1 to 64 characters");
  }
  if (!IsLowerAlnum(name.front())) {
    return Invalid("the name of a scope starts with a lower-case letter or digit");
  }
  for (char c : name) {
    if (!IsNameChar(c)) return Invalid("the name of a scope holds only a-z, 0-9, '.', '_', '-'");
  }
  return OkStatus();
}

Result<std::string> ScopeFromParts(std::string_view kind, std::string_view name) {
  std::string scope = std::string(kind) + "/" + std::string(name);
  WK_RETURN_IF_ERROR(ValidateScope(scope));
  return scope;
}

}  // namespace weftkit::policy_store
