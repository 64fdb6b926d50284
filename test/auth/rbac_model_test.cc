// The pattern language of permissions is where a single wrong character grants too much, so
// each form is tested at its edges: what it must match and what it must not.
#include "auth/rbac_model.h"

#include <gtest/gtest.h>

namespace weftkit::auth {
namespace {

constexpr const char* kOrdersEngine = "spiffe://weftkit.dev/engine/orders";

TEST(RbacModelTest, ValidateActionPattern_Accepts_ExactFamilyAndStar) {
  for (const char* pattern : {"key.read", "key.destroy", "dek.*", "token.*", "*"}) {
    EXPECT_TRUE(ValidateActionPattern(pattern).ok()) << pattern;
  }
}

TEST(RbacModelTest, ValidateActionPattern_FailsWithUnknownAction_OutsideCatalogue) {
  for (const char* pattern : {"key.fly", "keys.*", "dek", "", "Key.read"}) {
    Status status = ValidateActionPattern(pattern);
    ASSERT_FALSE(status.ok()) << pattern;
    EXPECT_EQ(status.error().code(), "unknown_action") << pattern;
  }
}

TEST(RbacModelTest, ValidateActionPattern_FailsWithInvalidPattern_WhenStarMisplaced) {
  for (const char* pattern : {"key*", "*.read", "key.*.*", "k*y.read", "**"}) {
    Status status = ValidateActionPattern(pattern);
    ASSERT_FALSE(status.ok()) << pattern;
    EXPECT_EQ(status.error().code(), "invalid_pattern") << pattern;
  }
}

TEST(RbacModelTest, ValidateResourcePattern_Accepts_EveryDocumentedForm) {
  for (const char* pattern : {"*", "audit", "metrics", "key/orders", "key/orders.*", "key/*",
                              "policy/engines", "principal/spiffe://weftkit.dev/engine/orders",
                              "role/*", "sod/*", "token/abc", "key/${engine}", "key/${engine}.*"}) {
    EXPECT_TRUE(ValidateResourcePattern(pattern).ok()) << pattern;
  }
}

TEST(RbacModelTest, ValidateResourcePattern_FailsWithInvalidPattern_WhenMalformed) {
  for (const char* pattern : {"", "k*", "key/*x", "key/a*b", "key/$x", "key/${user}", "key/",
                              "bogus/x", "audits", "${engine}", "key/a b", "key/\t"}) {
    Status status = ValidateResourcePattern(pattern);
    ASSERT_FALSE(status.ok()) << pattern;
    EXPECT_EQ(status.error().code(), "invalid_pattern") << pattern;
  }
}

TEST(RbacModelTest, ActionMatches_FamilyCoversItsMembersOnly) {
  EXPECT_TRUE(ActionMatches("dek.*", "dek.unwrap"));
  EXPECT_FALSE(ActionMatches("dek.*", "key.read"));
  EXPECT_FALSE(ActionMatches("dek.*", "dekx.unwrap"));
  EXPECT_TRUE(ActionMatches("*", "audit.read"));
  EXPECT_TRUE(ActionMatches("key.read", "key.read"));
  EXPECT_FALSE(ActionMatches("key.read", "key.rotate"));
}

TEST(RbacModelTest, ResourceMatches_PrefixAndExact) {
  EXPECT_TRUE(ResourceMatches("key/orders.*", "key/orders.x", ""));
  EXPECT_FALSE(ResourceMatches("key/orders.*", "key/orders", ""));
  EXPECT_FALSE(ResourceMatches("key/orders.*", "key/ordersx", ""));
  EXPECT_TRUE(ResourceMatches("key/*", "key/anything", ""));
  EXPECT_FALSE(ResourceMatches("key/*", "policy/x", ""));
  EXPECT_TRUE(ResourceMatches("key/orders", "key/orders", ""));
  EXPECT_FALSE(ResourceMatches("key/orders", "key/orders.x", ""));
  EXPECT_TRUE(ResourceMatches("*", "audit", ""));
}

TEST(RbacModelTest, ResourceMatches_EngineVariable_ExpandsToCallersEngineOnly) {
  EXPECT_TRUE(ResourceMatches("key/${engine}", "key/orders", "orders"));
  EXPECT_TRUE(ResourceMatches("key/${engine}.*", "key/orders.v2", "orders"));
  EXPECT_FALSE(ResourceMatches("key/${engine}", "key/payments", "orders"));
  EXPECT_FALSE(ResourceMatches("key/${engine}.*", "key/ordersx", "orders"));
  // A non-engine caller matches nothing through the variable, not even an empty name.
  EXPECT_FALSE(ResourceMatches("key/${engine}", "key/", ""));
  EXPECT_FALSE(ResourceMatches("key/${engine}.*", "key/.x", ""));
}

TEST(RbacModelTest, ResourceMatches_EngineVariable_IsLiteralText) {
  // An engine named "a*" must not turn its exact pattern into a prefix match.
  EXPECT_TRUE(ResourceMatches("key/${engine}", "key/a*", "a*"));
  EXPECT_FALSE(ResourceMatches("key/${engine}", "key/ab", "a*"));
}

TEST(RbacModelTest, EngineOf_ReadsOnlyEnginePaths) {
  EXPECT_EQ(EngineOf(kOrdersEngine), "orders");
  EXPECT_EQ(EngineOf("spiffe://weftkit.dev/engine/orders/extra"), "");
  EXPECT_EQ(EngineOf("spiffe://weftkit.dev/admin/alice"), "");
  EXPECT_EQ(EngineOf("spiffe://weftkit.dev/engine/"), "");
  EXPECT_EQ(EngineOf("spiffe:///engine/orders"), "");
  EXPECT_EQ(EngineOf("orders"), "");
  EXPECT_EQ(EngineOf("https://weftkit.dev/engine/orders"), "");
}

TEST(RbacModelTest, ValidateRoleName_RefusesOddCharacters) {
  EXPECT_TRUE(ValidateRoleName("key-officer", "/name").ok());
  EXPECT_TRUE(ValidateRoleName("team.a_1", "/name").ok());
  for (const char* name : {"", "-x", ".x", "a b", "a/b", "a*"}) {
    EXPECT_FALSE(ValidateRoleName(name, "/name").ok()) << name;
  }
  EXPECT_FALSE(ValidateRoleName(std::string(65, 'a'), "/name").ok());
}

TEST(RbacModelTest, PermissionsFromJson_RoundTrips) {
  std::vector<Permission> permissions = {
      {Effect::kAllow, {"key.read", "dek.*"}, {"key/${engine}"}},
      {Effect::kDeny, {"key.destroy"}, {"key/prod.*"}},
  };
  nlohmann::json array = nlohmann::json::array();
  for (const Permission& permission : permissions) array.push_back(PermissionToJson(permission));

  Result<std::vector<Permission>> parsed = PermissionsFromJson(array, "/permissions");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].effect, Effect::kDeny);
  EXPECT_EQ((*parsed)[0].actions, permissions[0].actions);
  EXPECT_EQ((*parsed)[1].resources, permissions[1].resources);
}

TEST(RbacModelTest, PermissionsFromJson_FailsWithPointer_WhenEffectMissing) {
  nlohmann::json array = nlohmann::json::parse(
      R"([{"effect":"allow","actions":["key.read"],"resources":["key/*"]},
          {"actions":["key.read"],"resources":["key/*"]}])");
  Result<std::vector<Permission>> parsed = PermissionsFromJson(array, "/permissions");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), "invalid_field");
  EXPECT_NE(parsed.error().detail().find("/permissions/1/effect"), std::string::npos);
}

TEST(RbacModelTest, PermissionsFromJson_FailsWithUnknownField_WithoutEchoingIt) {
  nlohmann::json array = nlohmann::json::parse(
      R"([{"effect":"allow","actions":["key.read"],"resources":["key/*"],"sneaky_name":1}])");
  Result<std::vector<Permission>> parsed = PermissionsFromJson(array, "/permissions");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), "unknown_field");
  EXPECT_EQ(parsed.error().detail().find("sneaky_name"), std::string::npos);
}

TEST(RbacModelTest, PermissionsFromJson_FailsWhenArrayOfStringsHoldsNumber) {
  nlohmann::json array = nlohmann::json::parse(
      R"([{"effect":"deny","actions":["key.read", 7],"resources":["key/*"]}])");
  Result<std::vector<Permission>> parsed = PermissionsFromJson(array, "/permissions");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().detail().find("/permissions/0/actions/1"), std::string::npos);
}

}  // namespace
}  // namespace weftkit::auth
