// The predicate grammar of row-security clauses: what parses, its canonical text, what is refused
// and where, and that printing then parsing gives the same tree.
#include "policy_store/language/predicate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weftkit::policy {
namespace {

struct Canonical {
  std::string input;
  std::string printed;
};

class PredicateCanonicalTest : public ::testing::TestWithParam<Canonical> {};

TEST_P(PredicateCanonicalTest, ParsePredicate_PrintsCanonicalText_ForValidInput) {
  const Result<Predicate> parsed = ParsePredicate(GetParam().input);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const std::string printed = PrintPredicate(**parsed);
  EXPECT_EQ(printed, GetParam().printed);

  // The canonical text is a fixed point and gives the same tree back.
  const Result<Predicate> again = ParsePredicate(printed);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(SamePredicate(**parsed, **again));
  EXPECT_EQ(PrintPredicate(**again), printed);
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, PredicateCanonicalTest,
    ::testing::Values(
        Canonical{"owner = current_principal()", "(owner = current_principal())"},
        Canonical{"tenant_id=session('tenant')", "(tenant_id = session('tenant'))"},
        Canonical{"a <> 1 and b < 2 OR c <= 3", "(((a <> 1) AND (b < 2)) OR (c <= 3))"},
        Canonical{"a > -1.5 AND b >= 0", "((a > -1.5) AND (b >= 0))"},
        Canonical{"a OR b AND c", "(a OR (b AND c))"},
        Canonical{"(a OR b) AND c", "((a OR b) AND c)"},
        Canonical{"a AND b AND c", "((a AND b) AND c)"}, Canonical{"NOT a = 1", "(NOT (a = 1))"},
        Canonical{"not not archived", "(NOT (NOT archived))"},
        Canonical{"region IN ('eu', 'us')", "(region IN ('eu', 'us'))"},
        Canonical{"level not in (1,2,3)", "(level NOT IN (1, 2, 3))"},
        Canonical{"deleted_at IS NULL", "(deleted_at IS NULL)"},
        Canonical{"deleted_at is not null", "(deleted_at IS NOT NULL)"},
        Canonical{"published = true", "(published = TRUE)"}, Canonical{"published", "published"},
        Canonical{"TRUE", "TRUE"}, Canonical{"name = 'O''Brien'", "(name = 'O''Brien')"},
        Canonical{"name = ''", "(name = '')"},
        Canonical{"Current_Principal() = SESSION('user.id')",
                  "(current_principal() = session('user.id'))"},
        Canonical{"(((a)))", "a"}, Canonical{"(a = 1) = (b = 2)", "((a = 1) = (b = 2))"},
        Canonical{" \t\na\r\n=\t1 ", "(a = 1)"},
        Canonical{"owner IN (current_principal(), session('delegate'))",
                  "(owner IN (current_principal(), session('delegate')))"}));

struct Refusal {
  std::string input;
  std::string code;
  std::size_t offset;
};

class PredicateRefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(PredicateRefusalTest, ParsePredicate_FailsWithCodeAndOffset_ForBadInput) {
  const Result<Predicate> parsed = ParsePredicate(GetParam().input);
  ASSERT_FALSE(parsed.ok()) << GetParam().input;
  EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(parsed.error().code(), GetParam().code) << parsed.error().detail();
  EXPECT_EQ(
      parsed.error().detail().rfind("at offset " + std::to_string(GetParam().offset) + ": ", 0), 0u)
      << parsed.error().detail();
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, PredicateRefusalTest,
    ::testing::Values(
        Refusal{"", "predicate_syntax", 0}, Refusal{"   ", "predicate_syntax", 0},
        Refusal{"a =", "predicate_syntax", 3}, Refusal{"a = 1 b", "predicate_syntax", 6},
        Refusal{"(a = 1", "predicate_syntax", 6}, Refusal{"a = 1)", "predicate_syntax", 5},
        Refusal{"a != 1", "predicate_syntax", 2}, Refusal{"a = 'open", "predicate_syntax", 4},
        Refusal{"a = 1.", "predicate_syntax", 6}, Refusal{"a = 12x", "predicate_syntax", 6},
        Refusal{"a = - 1", "predicate_syntax", 4}, Refusal{"a = 1 = 2", "predicate_syntax", 6},
        Refusal{"a IN ()", "predicate_syntax", 6}, Refusal{"a IN 1", "predicate_syntax", 5},
        Refusal{"a IN (1 2)", "predicate_syntax", 8}, Refusal{"a IS 1", "predicate_syntax", 5},
        Refusal{"AND = 1", "predicate_syntax", 0}, Refusal{"now() > a", "predicate_syntax", 0},
        Refusal{"session(tenant) = a", "predicate_syntax", 8},
        Refusal{"session('') = a", "predicate_syntax", 8},
        Refusal{"current_principal(1) = a", "predicate_syntax", 18},
        Refusal{"a = 'x\ny'", "predicate_syntax", 6}, Refusal{"a # 1", "predicate_syntax", 2},
        Refusal{"a = NULL", "predicate_type", 2}, Refusal{"NULL <> a", "predicate_type", 5},
        Refusal{"1 = 'one'", "predicate_type", 2}, Refusal{"1 = 1", "predicate_type", 2},
        Refusal{"a = 1 AND 2", "predicate_type", 10}, Refusal{"NOT 'x'", "predicate_type", 4},
        Refusal{"current_principal()", "predicate_type", 0},
        Refusal{"flag < TRUE", "predicate_type", 5},
        Refusal{"(a = 1) > (b = 2)", "predicate_type", 8},
        Refusal{"a IN (1, NULL)", "predicate_type", 9},
        Refusal{"current_principal() IN ('a', 2)", "predicate_type", 29},
        Refusal{"NULL IN (a)", "predicate_type", 5}, Refusal{"42", "predicate_type", 0}));

TEST(PredicateLimitsTest, ParsePredicate_FailsTooDeep_ForDeepNot) {
  std::string text;
  for (std::size_t i = 0; i < kMaxPredicateDepth; ++i) text += "NOT ";
  EXPECT_TRUE(ParsePredicate(text + "a").ok());
  const Result<Predicate> deeper = ParsePredicate("NOT " + text + "a");
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(deeper.error().code(), "predicate_too_deep");
}

TEST(PredicateLimitsTest, ParsePredicate_FailsTooDeep_ForDeepParentheses) {
  const std::string ok =
      std::string(kMaxPredicateDepth, '(') + "a" + std::string(kMaxPredicateDepth, ')');
  EXPECT_TRUE(ParsePredicate(ok).ok());
  const Result<Predicate> deeper = ParsePredicate("(" + ok + ")");
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(deeper.error().code(), "predicate_too_deep");
}

TEST(PredicateLimitsTest, ParsePredicate_FailsTooLong_OverTheLengthLimit) {
  std::string text = "a = 1";
  while (text.size() < kMaxPredicateLength - 9) text += " AND a = 1";
  text.resize(kMaxPredicateLength, ' ');
  EXPECT_TRUE(ParsePredicate(text).ok());
  const Result<Predicate> longer = ParsePredicate(text + " ");
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.error().code(), "predicate_too_long");
}

TEST(PredicateLimitsTest, ParsePredicate_FailsTooLong_ForLongTokenOrList) {
  const Result<Predicate> token = ParsePredicate("a = '" + std::string(300, 'x') + "'");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code(), "predicate_too_long");

  std::string list = "a IN (1";
  for (std::size_t i = 0; i < kMaxInListSize; ++i) list += ",1";
  const Result<Predicate> in = ParsePredicate(list + ")");
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code(), "predicate_too_long");
}

TEST(PredicateCombinatorTest, MakeAndOr_PrintFullyParenthesised) {
  const Predicate a = *ParsePredicate("a = 1");
  const Predicate b = *ParsePredicate("b = 2 OR c = 3");
  EXPECT_EQ(PrintPredicate(*MakeAnd(MakeOr(a, b), MakeBoolean(true))),
            "(((a = 1) OR ((b = 2) OR (c = 3))) AND TRUE)");
  EXPECT_EQ(PrintPredicate(*MakeBoolean(false)), "FALSE");
}

TEST(PredicateCombinatorTest, SamePredicate_DistinguishesTrees) {
  EXPECT_TRUE(SamePredicate(**ParsePredicate("a = 1"), **ParsePredicate("(a=1)")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a = 1"), **ParsePredicate("a = 2")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a IS NULL"), **ParsePredicate("a IS NOT NULL")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("(a OR b) OR c"), **ParsePredicate("a OR (b OR c)")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a = 'x'"), **ParsePredicate("a = x")));
}

}  // namespace
}  // namespace weftkit::policy
