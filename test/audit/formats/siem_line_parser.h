// Strict parsers of the CEF and LEEF lines our encoders write, for tests: they accept only the
// escapes each format defines, so a test that parses a line back and gets every field checks
// both the escaping and that nothing leaked across field boundaries.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weftkit::audit::testing {

struct SiemLine {
  std::vector<std::string> header;  // the header fields after "CEF:0" / "LEEF:2.0", unescaped
  std::map<std::string, std::string> fields;  // extension / attributes, unescaped
};

// Splits off `count` '|'-terminated header fields, unescaping "\\" and "\|" (the only escapes
// a header may hold). Returns the rest in `rest`. nullopt if malformed.
inline std::optional<std::vector<std::string>> ParseHeader(std::string_view line, std::size_t count,
                                                           std::string_view& rest) {
  std::vector<std::string> fields;
  std::string current;
  std::size_t i = 0;
  while (fields.size() < count) {
    if (i >= line.size()) return std::nullopt;
    char c = line[i++];
    if (c == '\r' || c == '\n') return std::nullopt;
    if (c == '|') {
      fields.push_back(std::move(current));
      current.clear();
    } else if (c == '\\') {
      if (i >= line.size() || (line[i] != '\\' && line[i] != '|')) return std::nullopt;
      current.push_back(line[i++]);
    } else {
      current.push_back(c);
    }
  }
  rest = line.substr(i);
  return fields;
}

// Unescapes a value, accepting exactly the escapes in `escapes` (escaped char -> raw char).
inline std::optional<std::string> Unescape(std::string_view text,
                                           const std::map<char, char>& escapes) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') return std::nullopt;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= text.size()) return std::nullopt;
    auto found = escapes.find(text[i]);
    if (found == escapes.end()) return std::nullopt;
    out.push_back(found->second);
  }
  return out;
}

inline bool IsKeyCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Parses "CEF:0|v|p|ver|sig|name|sev|ext". In the extension every unescaped '=' ends a key; the
// key is the run of key characters before it, preceded by a space or the start.
inline std::optional<SiemLine> ParseCef(std::string_view line) {
  constexpr std::string_view kPrefix = "CEF:0|";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest;
  auto header = ParseHeader(line.substr(kPrefix.size()), 6, rest);
  if (!header) return std::nullopt;

  std::vector<std::size_t> equals;  // positions of unescaped '='
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      ++i;
    } else if (rest[i] == '=') {
      equals.push_back(i);
    }
  }
  SiemLine parsed{*header, {}};
  std::vector<std::pair<std::size_t, std::size_t>> keys;  // (key start, '=' position)
  for (std::size_t position : equals) {
    std::size_t start = position;
    while (start > 0 && IsKeyCharacter(rest[start - 1])) --start;
    if (start == position || (start > 0 && rest[start - 1] != ' ')) return std::nullopt;
    keys.emplace_back(start, position);
  }
  if (!rest.empty() && (keys.empty() || keys.front().first != 0)) return std::nullopt;
  const std::map<char, char> escapes{{'\\', '\\'}, {'=', '='}, {'n', '\n'}, {'r', '\r'}};
  for (std::size_t k = 0; k < keys.size(); ++k) {
    std::size_t value_start = keys[k].second + 1;
    std::size_t value_end = k + 1 < keys.size() ? keys[k + 1].first - 1 : rest.size();
    std::string key(rest.substr(keys[k].first, keys[k].second - keys[k].first));
    auto value = Unescape(rest.substr(value_start, value_end - value_start), escapes);
    if (!value || parsed.fields.contains(key)) return std::nullopt;
    parsed.fields[key] = *value;
  }
  return parsed;
}

// Parses "LEEF:2.0|v|p|ver|event|delim|attrs" with the delimiter declared as "x09" or "^".
inline std::optional<SiemLine> ParseLeef(std::string_view line) {
  constexpr std::string_view kPrefix = "LEEF:2.0|";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest;
  auto header = ParseHeader(line.substr(kPrefix.size()), 5, rest);
  if (!header) return std::nullopt;
  char delimiter = 0;
  if ((*header)[4] == "x09") delimiter = '\t';
  if ((*header)[4] == "^") delimiter = '^';
  if (delimiter == 0) return std::nullopt;

  std::map<char, char> escapes{{'\\', '\\'}, {'=', '='}, {'n', '\n'}, {'r', '\r'}};
  escapes[delimiter == '\t' ? 't' : '^'] = delimiter;
  SiemLine parsed{*header, {}};
  std::size_t start = 0;
  while (start < rest.size()) {
    std::size_t end = start;
    while (end < rest.size() && rest[end] != delimiter) end += rest[end] == '\\' ? 2 : 1;
    std::string_view attribute = rest.substr(start, std::min(end, rest.size()) - start);
    std::size_t equal = attribute.find('=');
    if (equal == std::string_view::npos || equal == 0) return std::nullopt;
    std::string key(attribute.substr(0, equal));
    for (char c : key) {
      if (!IsKeyCharacter(c)) return std::nullopt;
    }
    auto value = Unescape(attribute.substr(equal + 1), escapes);
    if (!value || parsed.fields.contains(key)) return std::nullopt;
    parsed.fields[key] = *value;
    start = end + 1;
  }
  return parsed;
}

}  // namespace weftkit::audit::testing
