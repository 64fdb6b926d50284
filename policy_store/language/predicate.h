// Row-level security predicates: the expression grammar of USING and WITH CHECK clauses.
//
// The grammar (EBNF in docs/policy-language.md) is a small, SQL-like boolean language: column
// references, string/number/boolean/NULL literals, current_principal(), session('<attribute>'),
// comparisons (= <> < <= > >=), [NOT] IN (...), IS [NOT] NULL, AND, OR, NOT and parentheses.
// Keywords and function names are case-insensitive; column names are case-sensitive.
//
// Predicates are parsed here, type-checked as far as literals allow, and printed in one
// canonical, fully parenthesised form. Engines evaluate them; this library never does, it only
// combines them (PostgreSQL's permissive OR / restrictive AND) and prints the result.
//
// Thread safety: a parsed tree is immutable and may be shared between threads; every function is
// pure.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::policy {

// Longest predicate text accepted, in bytes.
inline constexpr std::size_t kMaxPredicateLength = 4096;
// Deepest nesting of operators in a parsed tree (a comparison is 1, (a = 1) AND NOT b is 3). The
// canonical text of a tree of depth d nests parentheses and NOTs at most 2d deep, so the parser
// accepts that much source nesting, and canonical text always parses back.
inline constexpr std::size_t kMaxPredicateDepth = 64;
inline constexpr std::size_t kMaxPredicateNesting = 2 * kMaxPredicateDepth;
// Deepest predicate a policy document may hold: combining policies (an OR inside an AND) adds
// two levels, and combined predicates must stay within kMaxPredicateDepth.
inline constexpr std::size_t kMaxPolicyPredicateDepth = kMaxPredicateDepth - 2;
// Most values in one IN list, and longest literal, column or attribute name (bytes).
inline constexpr std::size_t kMaxInListSize = 256;
inline constexpr std::size_t kMaxPredicateTokenLength = 256;

enum class PredicateKind {
  kColumn,            // text: the column name
  kString,            // text: the value, unescaped
  kNumber,            // text: the literal as written (-?digits[.digits])
  kBoolean,           // text: "TRUE" or "FALSE"
  kNull,              // NULL
  kCurrentPrincipal,  // current_principal()
  kSession,           // text: the attribute name of session('<name>')
  kCompare,           // text: the operator; children: left, right
  kIn,                // negated: NOT IN; children: left, then the list values
  kIsNull,            // negated: IS NOT NULL; children: the operand
  kAnd,               // children: two or more operands, none of them an AND (flattened)
  kOr,                // children: two or more operands, none of them an OR (flattened)
  kNot,               // children: the operand
};

struct PredicateNode;
using Predicate = std::shared_ptr<const PredicateNode>;

// One node of a parsed predicate. Built by ParsePredicate and the Make* functions only, so that
// every tree obeys the grammar.
struct PredicateNode {
  PredicateKind kind = PredicateKind::kNull;
  std::string text;
  bool negated = false;
  std::vector<Predicate> children;
  std::size_t depth = 0;  // operator nesting: 0 for a value, 1 + the deepest child otherwise
};

// Parses `text`, refusing texts longer than `max_length` bytes (raise it only to re-parse
// combined predicates, which may be longer than any one policy's). AND and OR chains become one
// node each, so "(a AND b) AND c" and "a AND (b AND c)" give the same tree. On failure,
// kInvalidArgument with code "predicate_syntax" (the text does not follow the grammar),
// "predicate_too_long", "predicate_too_deep" or "predicate_type" (e.g. a number compared with a
// string, an ordering of booleans, `x = NULL`, a literal operand of AND); the detail starts with
// "at offset <byte offset>: " and says what was expected. The detail quotes no part of the text
// beyond single tokens.
Result<Predicate> ParsePredicate(std::string_view text,
                                 std::size_t max_length = kMaxPredicateLength);

// The canonical text of `predicate`: keywords upper case, function names lower case, single
// spaces, every operator application wrapped in parentheses ("((a = 1) AND (b = 2) AND c)"),
// strings single-quoted with '' escapes. ParsePredicate(PrintPredicate(p)) gives a tree
// SamePredicate to p whenever the text is within kMaxPredicateLength.
std::string PrintPredicate(const PredicateNode& predicate);

// Structural equality of two trees.
bool SamePredicate(const PredicateNode& a, const PredicateNode& b);

// Combinators used to build combined row-security predicates: (a AND b), (a OR b), TRUE/FALSE.
// They flatten like the parser, so MakeOr(MakeOr(a, b), c) is the tree of "a OR b OR c".
Predicate MakeAnd(Predicate left, Predicate right);
Predicate MakeOr(Predicate left, Predicate right);
Predicate MakeBoolean(bool value);

}  // namespace weftkit::policy
