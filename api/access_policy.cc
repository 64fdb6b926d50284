#include "api/access_policy.h"

#include <array>
#include <string_view>

namespace weftkit::api {
namespace {

struct Grant {
  std::string_view role;
  Action action;
  bool own_keys_only;  // only keys named after the caller's engine
};

constexpr std::array kGrants = {
    Grant{"admin", Action::kKeyRead, false},
    Grant{"admin", Action::kKeyCreate, false},
    Grant{"admin", Action::kKeyRotate, false},
    Grant{"admin", Action::kKeyManageVersions, false},
    Grant{"admin", Action::kMetricsRead, false},
    Grant{"key-officer", Action::kKeyRead, false},
    Grant{"key-officer", Action::kKeyCreate, false},
    Grant{"key-officer", Action::kKeyRotate, false},
    Grant{"key-officer", Action::kKeyManageVersions, false},
    Grant{"key-officer", Action::kMetricsRead, false},
    Grant{"auditor", Action::kKeyRead, false},
    Grant{"auditor", Action::kMetricsRead, false},
    Grant{"engine", Action::kKeyRead, true},
    Grant{"engine", Action::kDekGenerate, true},
    Grant{"engine", Action::kDekWrap, true},
    Grant{"engine", Action::kDekUnwrap, true},
    Grant{"engine", Action::kDekRewrap, true},
};

struct RolePath {
  std::string_view segment;
  std::string_view role;
};

constexpr std::array kRolePaths = {
    RolePath{"/admin/", "admin"},
    RolePath{"/officer/", "key-officer"},
    RolePath{"/auditor/", "auditor"},
    RolePath{"/engine/", "engine"},
};

// The path of a "spiffe://trust-domain/path" principal, including its leading '/'.
std::string_view SpiffePath(std::string_view principal) {
  constexpr std::string_view kScheme = "spiffe://";
  if (principal.substr(0, kScheme.size()) != kScheme) return {};
  std::size_t slash = principal.find('/', kScheme.size());
  return slash == std::string_view::npos ? std::string_view() : principal.substr(slash);
}

bool OwnsKey(const std::string& engine, const std::string& key_name) {
  if (engine.empty()) return false;
  return key_name == engine ||
         (key_name.size() > engine.size() + 1 && key_name.compare(0, engine.size(), engine) == 0 &&
          key_name[engine.size()] == '.');
}

}  // namespace

const char* ActionName(Action action) {
  switch (action) {
    case Action::kKeyRead: return "key.read";
    case Action::kKeyCreate: return "key.create";
    case Action::kKeyRotate: return "key.rotate";
    case Action::kKeyManageVersions: return "key.manage_versions";
    case Action::kDekGenerate: return "dek.generate";
    case Action::kDekWrap: return "dek.wrap";
    case Action::kDekUnwrap: return "dek.unwrap";
    case Action::kDekRewrap: return "dek.rewrap";
    case Action::kMetricsRead: return "metrics.read";
  }
  return "unknown";
}

std::vector<std::string> BuiltInRolesFor(const std::string& principal) {
  std::string_view path = SpiffePath(principal);
  std::vector<std::string> roles;
  for (const RolePath& entry : kRolePaths) {
    // The role segment must be the first path segment and be followed by a non-empty name.
    if (path.substr(0, entry.segment.size()) == entry.segment &&
        path.size() > entry.segment.size()) {
      roles.emplace_back(entry.role);
    }
  }
  return roles;
}

std::string EngineName(const std::string& principal) {
  std::string_view path = SpiffePath(principal);
  constexpr std::string_view kEngine = "/engine/";
  if (path.substr(0, kEngine.size()) != kEngine) return "";
  std::string_view name = path.substr(kEngine.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return "";
  return std::string(name);
}

Status Authorize(const SecurityContext& context, Action action, const std::string& key_name) {
  if (context.authenticated()) {
    std::string engine = EngineName(context.principal());
    for (const Grant& grant : kGrants) {
      if (grant.action != action || !context.HasRole(std::string(grant.role))) continue;
      if (grant.own_keys_only && !OwnsKey(engine, key_name)) continue;
      return OkStatus();
    }
  }
  return Error(ErrorKind::kPermissionDenied, "forbidden",
               "principal '" + context.principal() + "' may not " + ActionName(action) +
                   (key_name.empty() ? "" : " on key '" + key_name + "'"));
}

}  // namespace weftkit::api
