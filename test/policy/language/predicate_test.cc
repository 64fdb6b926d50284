// The predicate grammar of row-security clauses: what parses, its canonical text, what is refused
// and where, and that printing then parsing gives the same tree.
#include "policy_store/language/predicate.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace weftkit::policy {
namespace {

struct Canonical {
  std::string input;
  std::string printed;
};

// Test names and failure messages show the predicate text, not the struct's bytes.
void PrintTo(const Canonical& c, std::ostream* out) { *out << ::testing::PrintToString(c.input); }

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
        Canonical{"a AND b AND c", "(a AND b AND c)"},
        Canonical{"(a AND b) AND c", "(a AND b AND c)"},
        Canonical{"a or (b or (c or d))", "(a OR b OR c OR d)"},
        Canonical{"a AND (b OR c) AND d", "(a AND (b OR c) AND d)"},
        Canonical{"NOT a = 1", "(NOT (a = 1))"},
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

void PrintTo(const Refusal& r, std::ostream* out) {
  *out << r.code << " at " << r.offset << ": " << ::testing::PrintToString(r.input);
}

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
      std::string(kMaxPredicateNesting, '(') + "a" + std::string(kMaxPredicateNesting, ')');
  EXPECT_TRUE(ParsePredicate(ok).ok());
  const Result<Predicate> deeper = ParsePredicate("(" + ok + ")");
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(deeper.error().code(), "predicate_too_deep");
}

TEST(PredicateLimitsTest, ParsePredicate_FailsTooDeep_ForDeepAlternatingOperators) {
  // Each round adds an OR and the AND around it: two levels.
  std::string text = "a";
  for (std::size_t i = 0; i < kMaxPredicateDepth / 2; ++i) text = "b AND (c OR " + text + ")";
  const Result<Predicate> ok = ParsePredicate(text);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ((*ok)->depth, kMaxPredicateDepth);
  const Result<Predicate> deeper = ParsePredicate("NOT (" + text + ")");
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(deeper.error().code(), "predicate_too_deep");
}

TEST(PredicateLimitsTest, PrintPredicate_ParsesBack_AtTheDepthLimit) {
  std::string text;
  for (std::size_t i = 0; i < kMaxPredicateDepth - 1; ++i) text += "NOT ";
  const Result<Predicate> parsed = ParsePredicate(text + "a = 1");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const Result<Predicate> reparsed = ParsePredicate(PrintPredicate(**parsed));
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().ToString();
  EXPECT_TRUE(SamePredicate(**parsed, **reparsed));
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

TEST(PredicateLimitsTest, ParsePredicate_AcceptsLongerText_WithRaisedLimit) {
  std::string text = "a = 1";
  while (text.size() <= kMaxPredicateLength) text += " OR a = 2";
  EXPECT_EQ(ParsePredicate(text).error().code(), "predicate_too_long");
  EXPECT_TRUE(ParsePredicate(text, text.size()).ok());
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
            "(((a = 1) OR (b = 2) OR (c = 3)) AND TRUE)");
  EXPECT_EQ(PrintPredicate(*MakeBoolean(false)), "FALSE");
}

TEST(PredicateCombinatorTest, SamePredicate_DistinguishesTrees) {
  EXPECT_TRUE(SamePredicate(**ParsePredicate("a = 1"), **ParsePredicate("(a=1)")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a = 1"), **ParsePredicate("a = 2")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a IS NULL"), **ParsePredicate("a IS NOT NULL")));
  EXPECT_TRUE(SamePredicate(**ParsePredicate("(a OR b) OR c"), **ParsePredicate("a OR (b OR c)")));
  EXPECT_FALSE(
      SamePredicate(**ParsePredicate("(a OR b) AND c"), **ParsePredicate("a OR (b AND c)")));
  EXPECT_FALSE(SamePredicate(**ParsePredicate("a = 'x'"), **ParsePredicate("a = x")));
}

// Writes random, well-typed predicates in varied spellings (case, spacing, redundant
// parentheses), for the round-trip property below.
class RandomPredicateWriter {
 public:
  explicit RandomPredicateWriter(unsigned seed) : random_(seed) {}

  std::string Boolean(int depth) {
    switch (depth <= 0 ? Pick(3) : Pick(7)) {
      case 0:
        return Comparison();
      case 1:
        return Value() + " " + Spaces() + Word(Pick(2) ? "NOT IN" : "IN") + " (" + List() + ")";
      case 2:
        return Column() + " " + Spaces() + Word(Pick(2) ? "IS NOT NULL" : "IS NULL");
      case 3:
        return Boolean(depth - 1) + " " + Word("AND") + " " + Boolean(depth - 1);
      case 4:
        return Boolean(depth - 1) + " " + Word("OR") + " " + Boolean(depth - 1);
      case 5:
        return Word("NOT") + " (" + Boolean(depth - 1) + ")";
      default:
        return "(" + Spaces() + Boolean(depth - 1) + Spaces() + ")";
    }
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

  std::string Spaces() { return std::string(Pick(3), ' '); }

  std::string Word(std::string word) {
    if (Pick(2)) {
      for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return word;
  }

  std::string Column() {
    static const char* kColumns[] = {"tenant_id", "owner", "Region", "_x1", "level"};
    return kColumns[Pick(5)];
  }

  // A text-typed or column value; literals are strings so that any two compare.
  std::string Value() {
    switch (Pick(4)) {
      case 0:
        return Column();
      case 1:
        return Word("CURRENT_PRINCIPAL") + "()";
      case 2:
        return Word("SESSION") + "('tenant')";
      default:
        return Pick(2) ? "'it''s'" : "'eu'";
    }
  }

  std::string Comparison() {
    static const char* kOperators[] = {"=", "<>", "<", "<=", ">", ">="};
    return Column() + Spaces() + kOperators[Pick(6)] + Spaces() + Value();
  }

  std::string List() {
    std::string out = Value();
    for (int i = Pick(3); i > 0; --i) out += "," + Spaces() + Value();
    return out;
  }

  std::mt19937 random_;
};

TEST(PredicateRoundTripTest, ParsePrintParse_GivesSameTree_ForRandomPredicates) {
  RandomPredicateWriter writer(20261203);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = writer.Boolean(5);
    const Result<Predicate> parsed = ParsePredicate(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().ToString();
    const std::string printed = PrintPredicate(**parsed);
    const Result<Predicate> reparsed = ParsePredicate(printed);
    ASSERT_TRUE(reparsed.ok()) << printed << ": " << reparsed.error().ToString();
    EXPECT_TRUE(SamePredicate(**parsed, **reparsed)) << text << " printed as " << printed;
    EXPECT_EQ(PrintPredicate(**reparsed), printed);
  }
}

}  // namespace
}  // namespace weftkit::policy
