// RbacPolicy is the decision every request passes through: these tests pin down validation
// (cycles, undefined roles, unknown actions), deny-over-allow across the role graph, the
// built-in roles' reach and separation of duty.
#include "auth/rbac_policy.h"

#include <gtest/gtest.h>

#include "auth/builtin_roles.h"

namespace weftkit::auth {
namespace {

constexpr const char* kOrdersEngine = "spiffe://weftkit.dev/engine/orders";
constexpr const char* kAlice = "alice";

Role MakeRole(std::string name, std::vector<std::string> inherits,
              std::vector<Permission> permissions) {
  return {std::move(name), "", std::move(inherits), std::move(permissions), false};
}

Permission Allow(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {Effect::kAllow, std::move(actions), std::move(resources)};
}

Permission Deny(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {Effect::kDeny, std::move(actions), std::move(resources)};
}

RbacPolicy BuiltinPolicy(std::vector<Role> extra = {}) {
  std::vector<Role> roles = BuiltinRoles();
  roles.insert(roles.end(), extra.begin(), extra.end());
  Result<RbacPolicy> policy = RbacPolicy::Create(roles, BuiltinSeparationOfDuty());
  EXPECT_TRUE(policy.ok()) << policy.error().ToString();
  return std::move(policy).value();
}

TEST(RbacPolicyTest, Create_FailsWithRoleCycle_NamingThePath) {
  Result<RbacPolicy> policy = RbacPolicy::Create({
      MakeRole("a", {"b"}, {}),
      MakeRole("b", {"c"}, {}),
      MakeRole("c", {"a"}, {}),
  });
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "role_cycle");
  EXPECT_NE(policy.error().detail().find("a -> b -> c -> a"), std::string::npos)
      << policy.error().detail();
}

TEST(RbacPolicyTest, Create_FailsWithRoleCycle_WhenRoleInheritsItself) {
  Result<RbacPolicy> policy = RbacPolicy::Create({MakeRole("loop", {"loop"}, {})});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "role_cycle");
  EXPECT_NE(policy.error().detail().find("loop -> loop"), std::string::npos);
}

TEST(RbacPolicyTest, Create_Succeeds_ForDiamondInheritance) {
  // A diamond shares an ancestor without being a cycle.
  Result<RbacPolicy> policy = RbacPolicy::Create({
      MakeRole("top", {"left", "right"}, {}),
      MakeRole("left", {"base"}, {}),
      MakeRole("right", {"base"}, {}),
      MakeRole("base", {}, {Allow({"key.read"}, {"key/*"})}),
  });
  ASSERT_TRUE(policy.ok()) << policy.error().ToString();
  EXPECT_EQ(policy->EffectiveRoles({"top"}),
            (std::vector<std::string>{"top", "left", "right", "base"}));
}

TEST(RbacPolicyTest, Create_FailsWithUndefinedRole_PointingAtInherits) {
  Result<RbacPolicy> policy =
      RbacPolicy::Create({MakeRole("a", {}, {}), MakeRole("b", {"a", "ghost"}, {})});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "undefined_role");
  EXPECT_NE(policy.error().detail().find("role 'b' /inherits/1"), std::string::npos)
      << policy.error().detail();
}

TEST(RbacPolicyTest, Create_FailsWithUnknownAction_PointingAtIt) {
  Result<RbacPolicy> policy = RbacPolicy::Create({MakeRole(
      "a", {}, {Allow({"key.read"}, {"key/*"}), Allow({"key.read", "key.steal"}, {"key/*"})})});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "unknown_action");
  EXPECT_NE(policy.error().detail().find("/permissions/1/actions/1"), std::string::npos)
      << policy.error().detail();
}

TEST(RbacPolicyTest, Create_FailsWithInvalidPattern_PointingAtResource) {
  Result<RbacPolicy> policy =
      RbacPolicy::Create({MakeRole("a", {}, {Allow({"key.read"}, {"key/*", "key/*x"})})});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "invalid_pattern");
  EXPECT_NE(policy.error().detail().find("/permissions/0/resources/1"), std::string::npos);
}

TEST(RbacPolicyTest, Create_FailsWithDuplicateName) {
  Result<RbacPolicy> policy = RbacPolicy::Create({MakeRole("a", {}, {}), MakeRole("a", {}, {})});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "duplicate_name");
}

TEST(RbacPolicyTest, Create_FailsForConstraintWithUnknownAction) {
  Result<RbacPolicy> policy =
      RbacPolicy::Create({}, {{"x", {"key.destroy"}, {"dek.unwrapp"}, false}});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "unknown_action");
  EXPECT_NE(policy.error().detail().find("/second_actions/0"), std::string::npos);
}

TEST(RbacPolicyTest, Decide_DefaultDeny_WhenNothingMatches) {
  RbacPolicy policy = BuiltinPolicy();
  Decision decision = policy.Decide({kAuditorRole}, kAlice, "key.create", "key/orders");
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default deny");
  EXPECT_TRUE(decision.role_path.empty());
}

TEST(RbacPolicyTest, Decide_DefaultDeny_ForNoRolesAndUnknownRoles) {
  RbacPolicy policy = BuiltinPolicy();
  EXPECT_FALSE(policy.Decide({}, kAlice, "key.read", "key/orders").allowed);
  EXPECT_FALSE(policy.Decide({"no-such-role"}, kAlice, "key.read", "key/orders").allowed);
}

TEST(RbacPolicyTest, Decide_Allows_ThroughInheritance_WithRolePath) {
  RbacPolicy policy = BuiltinPolicy();
  Decision decision = policy.Decide({kAdminRole}, kAlice, "key.rotate", "key/orders");
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule.rfind("allow role=key-officer permission#", 0), 0u) << decision.rule;
  EXPECT_EQ(decision.role_path, (std::vector<std::string>{"admin", "key-officer"}));
}

TEST(RbacPolicyTest, Decide_ExplicitDenyBeatsAllowInheritedFromAnotherRole) {
  RbacPolicy policy = BuiltinPolicy({
      MakeRole("no-prod-destroy", {}, {Deny({"key.destroy"}, {"key/prod.*"})}),
  });
  const std::vector<std::string> roles = {kAdminRole, "no-prod-destroy"};

  Decision denied = policy.Decide(roles, kAlice, "key.destroy", "key/prod.orders");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.rule, "deny role=no-prod-destroy permission#0");
  EXPECT_EQ(denied.role_path, (std::vector<std::string>{"no-prod-destroy"}));

  // Outside the denied resources the inherited allow still holds.
  EXPECT_TRUE(policy.Decide(roles, kAlice, "key.destroy", "key/test.orders").allowed);
}

TEST(RbacPolicyTest, Decide_InheritedDenyBeatsDirectAllow) {
  RbacPolicy policy = BuiltinPolicy({
      MakeRole("guard", {}, {Deny({"*"}, {"key/secret"})}),
      MakeRole("reader", {"guard"}, {Allow({"key.read"}, {"key/*"})}),
  });
  Decision decision = policy.Decide({"reader"}, kAlice, "key.read", "key/secret");
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "deny role=guard permission#0");
  EXPECT_EQ(decision.role_path, (std::vector<std::string>{"reader", "guard"}));
  EXPECT_TRUE(policy.Decide({"reader"}, kAlice, "key.read", "key/public").allowed);
}

TEST(RbacPolicyTest, Decide_EngineRole_CoversOwnKeysOnly) {
  RbacPolicy policy = BuiltinPolicy();
  const std::vector<std::string> engine = {kEngineRole};
  EXPECT_TRUE(policy.Decide(engine, kOrdersEngine, "dek.unwrap", "key/orders").allowed);
  EXPECT_TRUE(policy.Decide(engine, kOrdersEngine, "dek.generate", "key/orders.v2").allowed);
  EXPECT_TRUE(policy.Decide(engine, kOrdersEngine, "key.read", "key/orders").allowed);
  EXPECT_FALSE(policy.Decide(engine, kOrdersEngine, "dek.unwrap", "key/payments").allowed);
  EXPECT_FALSE(policy.Decide(engine, kOrdersEngine, "dek.unwrap", "key/ordersx").allowed);
  EXPECT_FALSE(policy.Decide(engine, kOrdersEngine, "key.rotate", "key/orders").allowed);
  // The same role held by something that is not an engine grants nothing.
  EXPECT_FALSE(
      policy.Decide(engine, "spiffe://weftkit.dev/service/orders", "dek.unwrap", "key/orders")
          .allowed);
}

TEST(RbacPolicyTest, Decide_BuiltinRoles_HaveTheirDocumentedReach) {
  RbacPolicy policy = BuiltinPolicy();
  struct Case {
    const char* role;
    const char* action;
    const char* resource;
    bool allowed;
  };
  const Case cases[] = {
      {kAdminRole, "dek.unwrap", "key/orders", false},
      {kAdminRole, "principal.manage", "principal/bob", true},
      {kAdminRole, "role.manage", "sod/x", true},
      {kAdminRole, "token.revoke", "token/abc", true},
      {kKeyOfficerRole, "key.destroy", "key/orders", true},
      {kKeyOfficerRole, "policy.publish", "policy/engines", true},
      {kKeyOfficerRole, "principal.manage", "principal/bob", false},
      {kKeyOfficerRole, "dek.unwrap", "key/orders", false},
      {kAuditorRole, "audit.read", "audit", true},
      {kAuditorRole, "key.read", "key/orders", true},
      {kAuditorRole, "key.create", "key/orders", false},
      {kAuditorRole, "policy.publish", "policy/engines", false},
      {kAuditorRole, "metrics.read", "metrics", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(policy.Decide({c.role}, kAlice, c.action, c.resource).allowed, c.allowed)
        << c.role << " " << c.action << " " << c.resource;
  }
}

TEST(RbacPolicyTest, EffectivePermissions_ListEveryPermissionWithItsPath) {
  RbacPolicy policy = BuiltinPolicy();
  std::vector<EffectivePermission> held = policy.EffectivePermissions({kAdminRole});
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(held.front().role, kAdminRole);
  EXPECT_EQ(held.back().role, kKeyOfficerRole);
  EXPECT_EQ(held.back().path, (std::vector<std::string>{"admin", "key-officer"}));
}

TEST(RbacPolicyTest, CheckPrincipal_FailsWithSodViolation_ForDestroyerWhoUnwraps) {
  RbacPolicy policy = BuiltinPolicy();
  Status status = policy.CheckPrincipal(kOrdersEngine, {kEngineRole, kKeyOfficerRole});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), "sod_violation");
  EXPECT_NE(status.error().detail().find("destroy-vs-unwrap"), std::string::npos);
}

TEST(RbacPolicyTest, CheckPrincipal_Succeeds_WhenEngineGrantCannotApply) {
  // "${engine}" grants nothing to a principal that is not an engine, so no conflict arises.
  RbacPolicy policy = BuiltinPolicy();
  EXPECT_TRUE(policy.CheckPrincipal(kAlice, {kEngineRole, kKeyOfficerRole}).ok());
}

TEST(RbacPolicyTest, CheckPrincipal_Succeeds_WhenDenyCoversEveryResource) {
  RbacPolicy policy = BuiltinPolicy({
      MakeRole("dek-user", {}, {Allow({"dek.*"}, {"key/*"}), Deny({"dek.unwrap"}, {"*"})}),
  });
  EXPECT_TRUE(policy.CheckPrincipal(kAlice, {"dek-user", kKeyOfficerRole}).ok());
}

TEST(RbacPolicyTest, CheckPrincipal_FailsWithSodViolation_WhenDenyCoversSomeResources) {
  // A partial deny still leaves unwrap allowed somewhere, so the constraint applies.
  RbacPolicy policy = BuiltinPolicy({
      MakeRole("dek-user", {}, {Allow({"dek.*"}, {"key/*"}), Deny({"dek.unwrap"}, {"key/a"})}),
  });
  Status status = policy.CheckPrincipal(kAlice, {"dek-user", kKeyOfficerRole});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), "sod_violation");
}

TEST(RbacPolicyTest, BuildPolicy_FailsWithPrincipalNotFound_ForDanglingBinding) {
  RbacState state;
  state.roles = BuiltinRoles();
  state.bindings.push_back({kAlice, kAuditorRole});
  Result<RbacPolicy> policy = BuildPolicy(state);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().code(), "principal_not_found");
}

}  // namespace
}  // namespace weftkit::auth
