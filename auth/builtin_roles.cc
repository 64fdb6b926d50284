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
      Allow({"policy.read"}, {"policy/*"}),
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

// Taking a checkpoint changes no data: it signs what the log already holds, so that an auditor
// can pin the log's state at the start of a review.
Permission TakeAuditCheckpoints() { return Allow({"audit.checkpoint"}, {"audit"}); }

Role AuditorRole() {
  Role role{kAuditorRole,
            "Read-only access to keys, policies, audit, metrics and access grants; takes audit "
            "checkpoints.",
            {},
            ReadEverything(),
            true};
  role.permissions.push_back(TakeAuditCheckpoints());
  return role;
}

Role AdminRole() {
  return {kAdminRole,
          "Manages principals, roles and tokens, and holds everything a key officer holds.",
          {kKeyOfficerRole},
          {
              Allow({"principal.manage"}, {"principal/*"}),
              Allow({"role.manage"}, {"role/*", "sod/*"}),
              Allow({"token.revoke"}, {"token/*"}),
              TakeAuditCheckpoints(),
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
