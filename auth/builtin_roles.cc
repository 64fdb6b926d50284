#include "auth/builtin_roles.h"

namespace weftkit::auth {
namespace {

Permission Allow(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {Effect::kAllow, std::move(actions), std::move(resources)};
}

// What every reviewer of access may read; shared by key-officer and auditor.
std::vector<Permission> ReadEverything() {
  return {
      Allow({"key.read"}, {"key/*"}),
      Allow({"policy.read", "policy.fetch", "policy.check", "policy.fleet.read"}, {"policy/*"}),
      Allow({"audit.read"}, {"audit"}),
      Allow({"metrics.read"}, {"metrics"}),
      Allow({"role.read"}, {"role/*", "sod/*"}),
      Allow({"principal.read"}, {"principal/*"}),
      Allow({"token.issue"}, {"token/self"}),
  };
}

Role EngineRole() {
  return {kEngineRole,
          "A database engine: reads and uses the master keys named after it.",
          {},
          {Allow({"key.read", "dek.*"}, {"key/${engine}", "key/${engine}.*"}),
           // Every scope: an engine enforces its cluster's, its pool's and its type's bundles.
           Allow({"policy.fetch", "policy.report", "policy.check"}, {"policy/*"}),
           Allow({"token.issue"}, {"token/self"})},
          true};
}

Role KeyOfficerRole() {
  Role role{kKeyOfficerRole,
            "Key lifecycle (including destruction), policy publishing and audit reading.",
            {},
            ReadEverything(),
            true};
  role.permissions.push_back(Allow({"key.*"}, {"key/*"}));
  role.permissions.push_back(Allow({"policy.publish"}, {"policy/*"}));
  return role;
}

Role AuditorRole() {
  return {kAuditorRole,
          "Read-only access to keys, policies, audit, metrics and access grants.",
          {},
          ReadEverything(),
          true};
}

Role AdminRole() {
  return {kAdminRole,
          "Manages principals, roles and tokens, and holds everything a key officer holds.",
          {kKeyOfficerRole},
          {
              Allow({"principal.manage"}, {"principal/*"}),
              Allow({"role.manage"}, {"role/*", "sod/*"}),
              Allow({"token.revoke"}, {"token/*"}),
          },
          true};
}

}  // namespace

std::vector<Role> BuiltinRoles() {
  return {EngineRole(), KeyOfficerRole(), AuditorRole(), AdminRole()};
}

std::vector<SeparationOfDuty> BuiltinSeparationOfDuty() {
  return {{"destroy-vs-unwrap", {"key.destroy"}, {"dek.unwrap"}, true}};
}

}  // namespace weftkit::auth
