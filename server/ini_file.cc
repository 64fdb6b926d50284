#include "server/ini_file.h"

#include <utility>

namespace weftkit::server {
namespace {

constexpr std::string_view kBlanks = " \t";

std::string_view Trim(std::string_view text) {
  std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  std::size_t last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

bool IsName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!allowed) return false;
  }
  return true;
}

bool IsCommentStart(char c) { return c == '#' || c == ';'; }

// What remains after a closing quote or bracket must be nothing or a comment.
bool IsBlankOrComment(std::string_view rest) {
  rest = Trim(rest);
  return rest.empty() || IsCommentStart(rest.front());
}

// Reports a problem on one line; the position makes the message actionable.
class LineErrors {
 public:
  LineErrors(std::string_view source, int line) : source_(source), line_(line) {}

  Error Syntax(std::string_view message) const { return Make("config_syntax", message); }
  Error Duplicate(std::string_view message) const {
    return Make("config_duplicate_setting", message);
  }

 private:
  Error Make(const char* code, std::string_view message) const {
    return Error(ErrorKind::kInvalidArgument, code,
                 std::string(source_) + ":" + std::to_string(line_) + ": " + std::string(message));
  }

  std::string_view source_;
  int line_;
};

// Parses a value that starts with '"': the text up to the matching quote, with the two escapes
// (backslash-quote, backslash-backslash) applied; only blanks or a comment may follow.
Result<std::string> ParseQuoted(std::string_view raw, const LineErrors& errors) {
  std::string value;
  for (std::size_t i = 1; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '"') {
      if (!IsBlankOrComment(raw.substr(i + 1))) {
        return errors.Syntax("unexpected text after the closing quote");
      }
      return value;
    }
    if (c == '\\') {
      char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
      if (next != '"' && next != '\\') {
        return errors.Syntax("unknown escape in a quoted value; only \\\" and \\\\ are escapes");
      }
      c = next;
      ++i;
    }
    value.push_back(c);
  }
  return errors.Syntax("the quoted value has no closing quote");
}

// Parses an unquoted value: everything up to an inline comment (whitespace then '#' or ';'),
// trimmed. Quotes inside a bare value are refused: they are almost always a mistake.
Result<std::string> ParseBare(std::string_view raw, const LineErrors& errors) {
  std::size_t end = raw.size();
  for (std::size_t i = 1; i < raw.size(); ++i) {
    bool blank_before = raw[i - 1] == ' ' || raw[i - 1] == '\t';
    if (blank_before && IsCommentStart(raw[i])) {
      end = i;
      break;
    }
  }
  std::string_view value = Trim(raw.substr(0, end));
  if (value.find('"') != std::string_view::npos) {
    return errors.Syntax("a quote inside an unquoted value; quote the whole value instead");
  }
  return std::string(value);
}

Result<std::string> ParseValue(std::string_view raw, const LineErrors& errors) {
  raw = Trim(raw);
  if (raw.empty() || IsCommentStart(raw.front())) {
    return errors.Syntax("the setting has no value; delete the line to use the default");
  }
  if (raw.front() == '"') return ParseQuoted(raw, errors);
  return ParseBare(raw, errors);
}

// The state of a parse in progress: the document so far and the current section.
class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Status ParseLine(std::string_view line, int number);
  IniDocument TakeDocument() { return std::move(document_); }

 private:
  Status ParseSection(std::string_view line, const LineErrors& errors, int number);
  Status ParseSetting(std::string_view line, const LineErrors& errors, int number);

  std::string_view source_;
  IniDocument document_;
  IniSection* current_ = nullptr;
  std::string current_name_;
};

Status Parser::ParseLine(std::string_view line, int number) {
  LineErrors errors(source_, number);
  for (char c : line) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      return errors.Syntax("the line contains a control character");
    }
  }
  line = Trim(line);
  if (line.empty() || IsCommentStart(line.front())) return OkStatus();
  if (line.front() == '[') return ParseSection(line, errors, number);
  return ParseSetting(line, errors, number);
}

Status Parser::ParseSection(std::string_view line, const LineErrors& errors, int number) {
  std::size_t close = line.find(']');
  if (close == std::string_view::npos || !IsBlankOrComment(line.substr(close + 1))) {
    return errors.Syntax("expected a section header such as [server]");
  }
  std::string name(Trim(line.substr(1, close - 1)));
  if (!IsName(name)) {
    return errors.Syntax("section names use lower-case letters, digits and '_'");
  }
  auto [it, inserted] = document_.sections.try_emplace(name, IniSection{number, {}});
  if (!inserted) {
    return errors.Duplicate("section [" + name + "] appears twice (first on line " +
                            std::to_string(it->second.line) + "); merge them");
  }
  current_ = &it->second;
  current_name_ = name;
  return OkStatus();
}

Status Parser::ParseSetting(std::string_view line, const LineErrors& errors, int number) {
  std::size_t equals = line.find('=');
  if (equals == std::string_view::npos) {
    return errors.Syntax("expected `key = value`, a [section] header or a comment");
  }
  std::string key(Trim(line.substr(0, equals)));
  if (!IsName(key)) {
    return errors.Syntax("setting names use lower-case letters, digits and '_'");
  }
  if (current_ == nullptr) {
    return errors.Syntax("setting '" + key + "' appears before any [section] header");
  }
  WK_ASSIGN_OR_RETURN(std::string value, ParseValue(line.substr(equals + 1), errors));
  auto [it, inserted] = current_->entries.try_emplace(key, IniEntry{std::move(value), number});
  if (!inserted) {
    return errors.Duplicate(current_name_ + "." + key + " is set twice (first on line " +
                            std::to_string(it->second.line) + ")");
  }
  return OkStatus();
}

}  // namespace

Result<IniDocument> ParseIni(std::string_view text, std::string_view source_name) {
  Parser parser(source_name);
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    // Files edited on Windows end lines with "\r\n"; the '\r' is not part of the value.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    WK_RETURN_IF_ERROR(parser.ParseLine(line, ++number));
    start = end + 1;
  }
  return parser.TakeDocument();
}

}  // namespace weftkit::server
