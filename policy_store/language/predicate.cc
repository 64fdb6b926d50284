#include "policy_store/language/predicate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>

namespace weftkit::policy {
namespace {

enum class TokenKind { kWord, kString, kNumber, kOperator, kOpen, kClose, kComma, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // words as written; strings unescaped; operators as written
  std::size_t offset = 0;
};

// What a subexpression is known to produce. Columns are kUnknown: their types live in the
// engine's schema, not in the policy.
enum class ValueType { kUnknown, kText, kNumber, kBoolean, kNull };

struct Typed {
  Predicate node;
  ValueType type = ValueType::kUnknown;
  std::size_t offset = 0;
};

Error SyntaxError(std::string code, std::size_t offset, const std::string& what) {
  return Error(ErrorKind::kInvalidArgument, std::move(code),
               "at offset " + std::to_string(offset) + ": " + what);
}

Predicate MakeNode(PredicateKind kind, std::string text, std::vector<Predicate> children = {},
                   bool negated = false) {
  auto node = std::make_shared<PredicateNode>();
  node->kind = kind;
  node->text = std::move(text);
  node->negated = negated;
  for (const Predicate& child : children) node->depth = std::max(node->depth, child->depth + 1);
  node->children = std::move(children);
  return node;
}

// An AND or OR of `operands`, taking in the operands of any operand of the same kind.
Predicate MakeChain(PredicateKind kind, const std::vector<Predicate>& operands) {
  std::vector<Predicate> children;
  for (const Predicate& operand : operands) {
    if (operand->kind == kind) {
      children.insert(children.end(), operand->children.begin(), operand->children.end());
    } else {
      children.push_back(operand);
    }
  }
  return MakeNode(kind, "", std::move(children));
}

std::string Upper(std::string_view word) {
  std::string out(word);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

constexpr std::array<std::string_view, 9> kReservedWords = {"AND",  "OR",   "NOT",   "IN",  "IS",
                                                            "NULL", "TRUE", "FALSE", "LIKE"};

bool IsReserved(std::string_view word) {
  const std::string upper = Upper(word);
  return std::find(kReservedWords.begin(), kReservedWords.end(), upper) != kReservedWords.end();
}

// Splits the text into tokens. Whitespace is space, tab, CR and LF.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      if (at_ == text_.size()) break;
      WK_ASSIGN_OR_RETURN(Token token, Next());
      if (token.text.size() > kMaxPredicateTokenLength) {
        return SyntaxError("predicate_too_long", token.offset, "token longer than 256 bytes");
      }
      tokens.push_back(std::move(token));
    }
    tokens.push_back(Token{TokenKind::kEnd, "", text_.size()});
    return tokens;
  }

 private:
  void SkipSpace() {
    while (at_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[at_]) != std::string_view::npos) {
      ++at_;
    }
  }

  Result<Token> Next() {
    const std::size_t start = at_;
    const char c = text_[at_];
    if (IsWordStart(c)) return Word(start);
    if (IsDigit(c) || (c == '-' && at_ + 1 < text_.size() && IsDigit(text_[at_ + 1]))) {
      return Number(start);
    }
    if (c == '\'') return String(start);
    if (c == '(' || c == ')' || c == ',') {
      ++at_;
      const TokenKind kind =
          c == '(' ? TokenKind::kOpen : (c == ')' ? TokenKind::kClose : TokenKind::kComma);
      return Token{kind, std::string(1, c), start};
    }
    return Operator(start);
  }

  Result<Token> Word(std::size_t start) {
    while (at_ < text_.size() && IsWordChar(text_[at_])) ++at_;
    return Token{TokenKind::kWord, std::string(text_.substr(start, at_ - start)), start};
  }

  Result<Token> Number(std::size_t start) {
    if (text_[at_] == '-') ++at_;
    while (at_ < text_.size() && IsDigit(text_[at_])) ++at_;
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      if (at_ == text_.size() || !IsDigit(text_[at_])) {
        return SyntaxError("predicate_syntax", at_, "expected a digit after the decimal point");
      }
      while (at_ < text_.size() && IsDigit(text_[at_])) ++at_;
    }
    if (at_ < text_.size() && (IsWordChar(text_[at_]) || text_[at_] == '.')) {
      return SyntaxError("predicate_syntax", at_, "unexpected character after a number");
    }
    return Token{TokenKind::kNumber, std::string(text_.substr(start, at_ - start)), start};
  }

  Result<Token> String(std::size_t start) {
    std::string value;
    ++at_;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return SyntaxError("predicate_syntax", at_, "control character in a string literal");
      }
      ++at_;
      if (c != '\'') {
        value.push_back(c);
      } else if (at_ < text_.size() && text_[at_] == '\'') {
        value.push_back('\'');  // '' is one quote, as in SQL
        ++at_;
      } else {
        return Token{TokenKind::kString, std::move(value), start};
      }
    }
    return SyntaxError("predicate_syntax", start, "unterminated string literal");
  }

  Result<Token> Operator(std::size_t start) {
    static constexpr std::array<std::string_view, 6> kOperators = {"<=", ">=", "<>", "=", "<", ">"};
    for (std::string_view op : kOperators) {
      if (text_.substr(at_, op.size()) == op) {
        at_ += op.size();
        return Token{TokenKind::kOperator, std::string(op), start};
      }
    }
    if (text_.substr(at_, 2) == "!=") {
      return SyntaxError("predicate_syntax", start, "unknown operator '!=', use '<>'");
    }
    return SyntaxError("predicate_syntax", start, "unexpected character");
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

bool IsLiteral(const PredicateNode& node) {
  return node.kind == PredicateKind::kString || node.kind == PredicateKind::kNumber ||
         node.kind == PredicateKind::kBoolean || node.kind == PredicateKind::kNull;
}

const char* TypeName(ValueType type) {
  switch (type) {
    case ValueType::kText:
      return "text";
    case ValueType::kNumber:
      return "number";
    case ValueType::kBoolean:
      return "boolean";
    case ValueType::kNull:
      return "NULL";
    case ValueType::kUnknown:
      break;
  }
  return "column";
}

bool Compatible(ValueType a, ValueType b) {
  return a == ValueType::kUnknown || b == ValueType::kUnknown || a == b;
}

// Recursive descent over the token list; one function per grammar rule (see the EBNF in
// docs/policy-language.md). `depth_` bounds the recursion.
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<Predicate> Run() {
    WK_ASSIGN_OR_RETURN(Typed result, ParseOr());
    if (Peek().kind != TokenKind::kEnd) {
      return SyntaxError("predicate_syntax", Peek().offset, "expected AND, OR or the end");
    }
    WK_RETURN_IF_ERROR(RequireBoolean(result, "a predicate"));
    return result.node;
  }

 private:
  const Token& Peek(std::size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() { return tokens_[std::min(next_++, tokens_.size() - 1)]; }

  bool PeekKeyword(std::string_view keyword, std::size_t ahead = 0) const {
    const Token& token = Peek(ahead);
    return token.kind == TokenKind::kWord && Upper(token.text) == keyword;
  }

  Status Enter(std::size_t offset) {
    if (++depth_ > kMaxPredicateNesting) {
      return SyntaxError("predicate_too_deep", offset, "parentheses and NOT nested over 128 deep");
    }
    return OkStatus();
  }

  // Every operator node goes through here, so no tree is deeper than the documented limit.
  static Result<Typed> Built(Predicate node, std::size_t offset) {
    if (node->depth > kMaxPredicateDepth) {
      return SyntaxError("predicate_too_deep", offset, "operators nested over 64 deep");
    }
    return Typed{std::move(node), ValueType::kBoolean, offset};
  }

  static Status RequireBoolean(const Typed& operand, std::string_view role) {
    if (operand.type == ValueType::kBoolean || operand.type == ValueType::kUnknown) {
      return OkStatus();
    }
    return SyntaxError("predicate_type", operand.offset,
                       std::string(role) + " must be boolean, not " + TypeName(operand.type));
  }

  // or_expr = and_expr { "OR" and_expr } ; and_expr likewise with AND. Left-associative.
  Result<Typed> ParseOr() { return ParseChain("OR", &Parser::ParseAnd, PredicateKind::kOr); }
  Result<Typed> ParseAnd() { return ParseChain("AND", &Parser::ParseNot, PredicateKind::kAnd); }

  Result<Typed> ParseChain(std::string_view keyword, Result<Typed> (Parser::*operand)(),
                           PredicateKind kind) {
    WK_ASSIGN_OR_RETURN(Typed first, (this->*operand)());
    if (!PeekKeyword(keyword)) return first;
    const std::string role = "an operand of " + std::string(keyword);
    WK_RETURN_IF_ERROR(RequireBoolean(first, role));
    std::vector<Predicate> operands = {first.node};
    while (PeekKeyword(keyword)) {
      Take();
      WK_ASSIGN_OR_RETURN(Typed next, (this->*operand)());
      WK_RETURN_IF_ERROR(RequireBoolean(next, role));
      operands.push_back(next.node);
    }
    return Built(MakeChain(kind, operands), first.offset);
  }

  // not_expr = "NOT" not_expr | test
  Result<Typed> ParseNot() {
    if (!PeekKeyword("NOT")) return ParseTest();
    const std::size_t offset = Take().offset;
    WK_RETURN_IF_ERROR(Enter(offset));
    WK_ASSIGN_OR_RETURN(Typed operand, ParseNot());
    --depth_;
    WK_RETURN_IF_ERROR(RequireBoolean(operand, "the operand of NOT"));
    return Built(MakeNode(PredicateKind::kNot, "", {operand.node}), offset);
  }

  // test = operand [ comp_op operand | ["NOT"] "IN" "(" list ")" | "IS" ["NOT"] "NULL" ]
  Result<Typed> ParseTest() {
    WK_ASSIGN_OR_RETURN(Typed left, ParseOperand());
    if (Peek().kind == TokenKind::kOperator) return ParseComparison(std::move(left));
    if (PeekKeyword("IN") || (PeekKeyword("NOT") && PeekKeyword("IN", 1))) {
      return ParseIn(std::move(left));
    }
    if (PeekKeyword("IS")) return ParseIsNull(std::move(left));
    return left;
  }

  Result<Typed> ParseComparison(Typed left) {
    const Token op = Take();
    WK_ASSIGN_OR_RETURN(Typed right, ParseOperand());
    WK_RETURN_IF_ERROR(CheckComparison(left, right, op));
    return Built(MakeNode(PredicateKind::kCompare, op.text, {left.node, right.node}), left.offset);
  }

  static Status CheckComparison(const Typed& left, const Typed& right, const Token& op) {
    if (left.type == ValueType::kNull || right.type == ValueType::kNull) {
      return SyntaxError("predicate_type", op.offset,
                         "a comparison with NULL is never true; use IS NULL or IS NOT NULL");
    }
    if (!Compatible(left.type, right.type)) {
      return SyntaxError(
          "predicate_type", op.offset,
          std::string("compares ") + TypeName(left.type) + " with " + TypeName(right.type));
    }
    if (IsLiteral(*left.node) && IsLiteral(*right.node)) {
      return SyntaxError("predicate_type", op.offset, "compares two literals");
    }
    const bool ordering = op.text != "=" && op.text != "<>";
    if (ordering && (left.type == ValueType::kBoolean || right.type == ValueType::kBoolean)) {
      return SyntaxError("predicate_type", op.offset, "booleans have no order; use = or <>");
    }
    return OkStatus();
  }

  Result<Typed> ParseIn(Typed left) {
    const bool negated = PeekKeyword("NOT");
    if (negated) Take();
    const std::size_t in_offset = Take().offset;
    if (left.type == ValueType::kNull) {
      return SyntaxError("predicate_type", in_offset, "NULL IN (...) is never true");
    }
    if (Peek().kind != TokenKind::kOpen) {
      return SyntaxError("predicate_syntax", Peek().offset, "expected '(' after IN");
    }
    Take();
    std::vector<Predicate> children = {left.node};
    while (true) {
      if (children.size() > kMaxInListSize) {
        return SyntaxError("predicate_too_long", Peek().offset, "more than 256 values after IN");
      }
      WK_ASSIGN_OR_RETURN(Typed item, ParseOperand());
      WK_RETURN_IF_ERROR(CheckInItem(left, item));
      children.push_back(item.node);
      const Token& separator = Take();
      if (separator.kind == TokenKind::kClose) break;
      if (separator.kind != TokenKind::kComma) {
        return SyntaxError("predicate_syntax", separator.offset, "expected ',' or ')' in IN list");
      }
    }
    return Built(MakeNode(PredicateKind::kIn, "", std::move(children), negated), left.offset);
  }

  static Status CheckInItem(const Typed& left, const Typed& item) {
    if (item.type == ValueType::kNull) {
      return SyntaxError("predicate_type", item.offset, "NULL in an IN list never matches");
    }
    if (!Compatible(left.type, item.type)) {
      return SyntaxError("predicate_type", item.offset,
                         std::string("IN list value is ") + TypeName(item.type) + ", expected " +
                             TypeName(left.type));
    }
    return OkStatus();
  }

  Result<Typed> ParseIsNull(Typed left) {
    Take();  // IS
    const bool negated = PeekKeyword("NOT");
    if (negated) Take();
    if (!PeekKeyword("NULL")) {
      return SyntaxError("predicate_syntax", Peek().offset, "expected NULL after IS");
    }
    Take();
    return Built(MakeNode(PredicateKind::kIsNull, "", {left.node}, negated), left.offset);
  }

  // operand = literal | function | column | "(" or_expr ")"
  Result<Typed> ParseOperand() {
    const Token token = Take();
    switch (token.kind) {
      case TokenKind::kString:
        return Typed{MakeNode(PredicateKind::kString, token.text), ValueType::kText, token.offset};
      case TokenKind::kNumber:
        return Typed{MakeNode(PredicateKind::kNumber, token.text), ValueType::kNumber,
                     token.offset};
      case TokenKind::kWord:
        return ParseWord(token);
      case TokenKind::kOpen:
        return ParseParenthesised(token);
      case TokenKind::kEnd:
        return SyntaxError("predicate_syntax", token.offset, "unexpected end, expected a value");
      default:
        break;
    }
    return SyntaxError("predicate_syntax", token.offset,
                       "expected a value, found '" + token.text + "'");
  }

  Result<Typed> ParseParenthesised(const Token& open) {
    WK_RETURN_IF_ERROR(Enter(open.offset));
    WK_ASSIGN_OR_RETURN(Typed inner, ParseOr());
    --depth_;
    if (Peek().kind != TokenKind::kClose) {
      return SyntaxError("predicate_syntax", Peek().offset, "expected ')'");
    }
    Take();
    inner.offset = open.offset;
    return inner;
  }

  Result<Typed> ParseWord(const Token& token) {
    const std::string upper = Upper(token.text);
    if (upper == "TRUE" || upper == "FALSE") {
      return Typed{MakeNode(PredicateKind::kBoolean, upper), ValueType::kBoolean, token.offset};
    }
    if (upper == "NULL")
      return Typed{MakeNode(PredicateKind::kNull, ""), ValueType::kNull, token.offset};
    if (Peek().kind == TokenKind::kOpen) return ParseFunction(token);
    if (IsReserved(token.text)) {
      return SyntaxError("predicate_syntax", token.offset,
                         "expected a value, found the keyword " + upper);
    }
    return Typed{MakeNode(PredicateKind::kColumn, token.text), ValueType::kUnknown, token.offset};
  }

  Result<Typed> ParseFunction(const Token& name) {
    const std::string upper = Upper(name.text);
    Take();  // (
    if (upper == "CURRENT_PRINCIPAL") {
      WK_RETURN_IF_ERROR(Expect(TokenKind::kClose, "expected ')' after current_principal("));
      return Typed{MakeNode(PredicateKind::kCurrentPrincipal, ""), ValueType::kText, name.offset};
    }
    if (upper == "SESSION") {
      const Token attribute = Take();
      if (attribute.kind != TokenKind::kString || !ValidAttributeName(attribute.text)) {
        return SyntaxError("predicate_syntax", attribute.offset,
                           "session() takes one quoted attribute name of 1..64 characters "
                           "[A-Za-z0-9_.-]");
      }
      WK_RETURN_IF_ERROR(Expect(TokenKind::kClose, "expected ')' after the session attribute"));
      return Typed{MakeNode(PredicateKind::kSession, attribute.text), ValueType::kText,
                   name.offset};
    }
    return SyntaxError("predicate_syntax", name.offset,
                       "unknown function; known: current_principal(), session('<name>')");
  }

  static bool ValidAttributeName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
  }

  Status Expect(TokenKind kind, const std::string& what) {
    const Token& token = Take();
    if (token.kind != kind) return SyntaxError("predicate_syntax", token.offset, what);
    return OkStatus();
  }

  std::vector<Token> tokens_;
  std::size_t next_ = 0;
  std::size_t depth_ = 0;
};

std::string QuoteString(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    out.push_back(c);
    if (c == '\'') out.push_back('\'');
  }
  out.push_back('\'');
  return out;
}

std::string PrintList(const std::vector<Predicate>& children) {
  std::string out;
  for (std::size_t i = 1; i < children.size(); ++i) {
    if (i > 1) out += ", ";
    out += PrintPredicate(*children[i]);
  }
  return out;
}

// "(a <op> b <op> c ...)": comparisons have two operands, AND and OR two or more.
std::string PrintInfix(const PredicateNode& node, std::string_view op) {
  std::string out = "(";
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    if (i > 0) out += " " + std::string(op) + " ";
    out += PrintPredicate(*node.children[i]);
  }
  return out + ")";
}

}  // namespace

Result<Predicate> ParsePredicate(std::string_view text, std::size_t max_length) {
  if (text.size() > max_length) {
    return SyntaxError("predicate_too_long", max_length,
                       "longer than " + std::to_string(max_length) + " bytes");
  }
  WK_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(text).Run());
  if (tokens.size() == 1) return SyntaxError("predicate_syntax", 0, "empty predicate");
  return Parser(std::move(tokens)).Run();
}

std::string PrintPredicate(const PredicateNode& node) {
  switch (node.kind) {
    case PredicateKind::kColumn:
    case PredicateKind::kNumber:
    case PredicateKind::kBoolean:
      return node.text;
    case PredicateKind::kString:
      return QuoteString(node.text);
    case PredicateKind::kNull:
      return "NULL";
    case PredicateKind::kCurrentPrincipal:
      return "current_principal()";
    case PredicateKind::kSession:
      return "session(" + QuoteString(node.text) + ")";
    case PredicateKind::kCompare:
      return PrintInfix(node, node.text);
    case PredicateKind::kIn:
      return "(" + PrintPredicate(*node.children[0]) + (node.negated ? " NOT IN (" : " IN (") +
             PrintList(node.children) + "))";
    case PredicateKind::kIsNull:
      return "(" + PrintPredicate(*node.children[0]) +
             (node.negated ? " IS NOT NULL)" : " IS NULL)");
    case PredicateKind::kAnd:
      return PrintInfix(node, "AND");
    case PredicateKind::kOr:
      return PrintInfix(node, "OR");
    case PredicateKind::kNot:
      return "(NOT " + PrintPredicate(*node.children[0]) + ")";
  }
  return "";
}

bool SamePredicate(const PredicateNode& a, const PredicateNode& b) {
  if (a.kind != b.kind || a.text != b.text || a.negated != b.negated ||
      a.children.size() != b.children.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    if (!SamePredicate(*a.children[i], *b.children[i])) return false;
  }
  return true;
}

Predicate MakeAnd(Predicate left, Predicate right) {
  return MakeChain(PredicateKind::kAnd, {std::move(left), std::move(right)});
}

Predicate MakeOr(Predicate left, Predicate right) {
  return MakeChain(PredicateKind::kOr, {std::move(left), std::move(right)});
}

Predicate MakeBoolean(bool value) {
  return MakeNode(PredicateKind::kBoolean, value ? "TRUE" : "FALSE");
}

}  // namespace weftkit::policy
