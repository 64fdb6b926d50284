#include "policy_store/policy_scope.h"

#include <gtest/gtest.h>

#include <string>

namespace weftkit::policy_store {
namespace {

TEST(PolicyScopeTest, ValidateScope_Accepts_EveryKindWithPlainNames) {
  for (const char* scope : {"cluster/prod", "pool/eu-1", "engine/relational", "pool/a.b_c-9"}) {
    EXPECT_TRUE(ValidateScope(scope).ok()) << scope;
  }
}

TEST(PolicyScopeTest, ValidateScope_Refuses_MalformedScopes) {
  const std::string too_long = "cluster/" + std::string(65, 'a');
  for (const std::string& scope :
       {std::string(""), std::string("prod"), std::string("tenant/prod"), std::string("cluster/"),
        std::string("cluster/Prod"), std::string("cluster/-prod"), std::string("cluster/a/b"),
        std::string("cluster/a b"), std::string("cluster/%2e"), too_long}) {
    Status status = ValidateScope(scope);
    ASSERT_FALSE(status.ok()) << scope;
    EXPECT_EQ(status.error().code(), "invalid_scope");
  }
}

TEST(PolicyScopeTest, ScopeFromParts_JoinsKindAndName) {
  Result<std::string> scope = ScopeFromParts("pool", "eu-1");
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(*scope, "pool/eu-1");
  EXPECT_EQ(ScopeResource(*scope), "policy/pool/eu-1");
  EXPECT_FALSE(ScopeFromParts("pools", "eu-1").ok());
}

}  // namespace
}  // namespace weftkit::policy_store
