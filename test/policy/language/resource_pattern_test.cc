// Resource names and patterns per database type: which names each pattern matches, and which
// patterns and names are refused.
#include "policy_store/language/resource_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace weftkit::policy {
namespace {

struct MatchCase {
  std::string type;
  std::string pattern;
  std::string name;
  bool matches;
};

// Test names and failure messages show the case, not the struct's bytes.
void PrintTo(const MatchCase& c, std::ostream* out) {
  *out << c.type << " " << ::testing::PrintToString(c.pattern)
       << (c.matches ? " matches " : " misses ") << ::testing::PrintToString(c.name);
}

class ResourcePatternMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(ResourcePatternMatchTest, Matches_AgreesWithTheDocumentedRules) {
  const DatabaseTypeInfo type = *FindDatabaseType(GetParam().type);
  const Result<ResourcePattern> pattern = ResourcePattern::Parse(type, GetParam().pattern);
  ASSERT_TRUE(pattern.ok()) << pattern.error().ToString();
  const Result<std::vector<std::string>> name = SplitResourceName(type, GetParam().name);
  ASSERT_TRUE(name.ok()) << name.error().ToString();
  EXPECT_EQ(pattern->Matches(*name), GetParam().matches)
      << GetParam().pattern << " vs " << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Types, ResourcePatternMatchTest,
    ::testing::Values(MatchCase{"relational", "sales.orders", "sales.orders", true},
                      MatchCase{"relational", "sales.orders", "sales.Orders", false},
                      MatchCase{"relational", "sales.*", "sales.orders", true},
                      MatchCase{"relational", "sales.*", "hr.orders", false},
                      MatchCase{"relational", "*.*", "hr.salaries", true},
                      MatchCase{"relational", "sales.order_*", "sales.order_lines", true},
                      MatchCase{"relational", "sales.order_*", "sales.orders", false},
                      MatchCase{"relational", "sales.*_2026", "sales.q1_2026", true},
                      MatchCase{"document", "shop.*", "shop.users", true},
                      MatchCase{"document", "shop.*", "shop.users.archive", false},
                      MatchCase{"document", "users", "users", true},
                      MatchCase{"document", "*", "shop.users", false},
                      MatchCase{"graph", "Person", "Person", true},
                      MatchCase{"graph", "Per*", "Person", true},
                      MatchCase{"graph", "Person", "Company", false},
                      MatchCase{"key_value", "session:*", "session:42", true},
                      MatchCase{"key_value", "session:*", "session:eu:42", false},
                      MatchCase{"key_value", "tenant:*:config", "tenant:acme:config", true},
                      MatchCase{"key_value", "session:*", "session:*", true},
                      MatchCase{"file", "/exports/**", "/exports/2026/q1/a.csv", true},
                      MatchCase{"file", "/exports/**", "/exports", true},
                      MatchCase{"file", "/exports/**", "/exportsx/a", false},
                      MatchCase{"file", "/exports/*", "/exports/2026/a.csv", false},
                      MatchCase{"file", "/exports/*.csv", "/exports/a.csv", true},
                      MatchCase{"file", "/**/secret", "/a/b/secret", true},
                      MatchCase{"file", "/**/secret", "/secret", true},
                      MatchCase{"file", "/**/secret", "/a/secret/b", false},
                      MatchCase{"file", "/**", "/", true},
                      MatchCase{"file", "/**/**/x", "/x", true},
                      MatchCase{"file", "/a/**/b/**/c", "/a/1/b/2/3/c", true},
                      MatchCase{"file", "/a/**/b/**/c", "/a/1/c/2/b", false}));

struct BadPattern {
  std::string type;
  std::string pattern;
};

void PrintTo(const BadPattern& p, std::ostream* out) {
  *out << p.type << " "
       << ::testing::PrintToString(p.pattern.size() > 40 ? p.pattern.substr(0, 40) + "..."
                                                         : p.pattern);
}

class ResourcePatternRefusalTest : public ::testing::TestWithParam<BadPattern> {};

TEST_P(ResourcePatternRefusalTest, Parse_FailsInvalidPattern_ForBrokenRule) {
  const DatabaseTypeInfo type = *FindDatabaseType(GetParam().type);
  const Result<ResourcePattern> pattern = ResourcePattern::Parse(type, GetParam().pattern);
  ASSERT_FALSE(pattern.ok()) << GetParam().pattern;
  EXPECT_EQ(pattern.error().code(), "invalid_pattern");
}

INSTANTIATE_TEST_SUITE_P(
    Types, ResourcePatternRefusalTest,
    ::testing::Values(BadPattern{"relational", ""}, BadPattern{"relational", "orders"},
                      BadPattern{"relational", "a.b.c"}, BadPattern{"relational", "sales."},
                      BadPattern{"relational", "sales.or-ders"},
                      BadPattern{"relational", "sales.**"}, BadPattern{"document", "shop..x"},
                      BadPattern{"graph", "Per.son"}, BadPattern{"key_value", "a::b"},
                      BadPattern{"key_value", "a\tb"}, BadPattern{"file", "exports/a"},
                      BadPattern{"file", "/"}, BadPattern{"file", "/a//b"},
                      BadPattern{"file", "/a/../b"}, BadPattern{"file", "/a/x**"},
                      BadPattern{"file", "/" + std::string(1100, 'a')}));

TEST(ResourceNameTest, SplitResourceName_TreatsStarAsOrdinary_WhereAllowed) {
  const DatabaseTypeInfo kv = *FindDatabaseType("key_value");
  const Result<std::vector<std::string>> split = SplitResourceName(kv, "session:*");
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(*split, (std::vector<std::string>{"session", "*"}));

  const DatabaseTypeInfo relational = *FindDatabaseType("relational");
  const Result<std::vector<std::string>> table = SplitResourceName(relational, "sales.*");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code(), "invalid_resource");
}

TEST(ResourceNameTest, SplitResourceName_GivesNoSegment_ForFileRoot) {
  const Result<std::vector<std::string>> root = SplitResourceName(*FindDatabaseType("file"), "/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->empty());
}

}  // namespace
}  // namespace weftkit::policy
