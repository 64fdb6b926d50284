#include "policy_store/language/resource_pattern.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace weftkit::policy {
namespace {

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Splits `text` into its segments, without judging them. A rooted "/" has no segment.
Result<std::vector<std::string>> Segments(const DatabaseTypeInfo& type, std::string_view text,
                                          const char* code) {
  if (text.empty()) return Error(ErrorKind::kInvalidArgument, code, "empty");
  if (text.size() > kMaxResourceLength) {
    return Error(ErrorKind::kInvalidArgument, code, "longer than 1024 bytes");
  }
  if (std::any_of(text.begin(), text.end(), IsControl)) {
    return Error(ErrorKind::kInvalidArgument, code, "contains a control character");
  }
  if (type.rooted) {
    if (text.front() != type.separator) {
      return Error(ErrorKind::kInvalidArgument, code,
                   std::string("must start with '") + type.separator + "'");
    }
    text.remove_prefix(1);
    if (text.empty()) return std::vector<std::string>{};
  }
  std::vector<std::string> segments;
  if (type.separator == 0) {
    segments.emplace_back(text);
  } else {
    std::size_t start = 0;
    while (true) {
      const std::size_t end = text.find(type.separator, start);
      segments.emplace_back(text.substr(start, end - start));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
  }
  return segments;
}

// Checks one segment against the rules of its type; `pattern` allows '*'.
Status CheckSegment(const DatabaseTypeInfo& type, const std::string& segment, bool pattern,
                    const char* code) {
  if (segment.empty()) return Error(ErrorKind::kInvalidArgument, code, "has an empty segment");
  if (type.rooted && (segment == "." || segment == "..")) {
    return Error(ErrorKind::kInvalidArgument, code, "has a '.' or '..' segment");
  }
  const bool identifiers =
      type.type == DatabaseType::kRelational || type.type == DatabaseType::kGraph;
  for (char c : segment) {
    if (c == '*' && pattern) continue;
    if (identifiers && !IsIdentifierChar(c)) {
      return Error(ErrorKind::kInvalidArgument, code,
                   "segments of this type are identifiers: letters, digits, '_' and '$'");
    }
  }
  if (pattern && segment.find("**") != std::string::npos &&
      !(segment == "**" && type.multi_segment_wildcard)) {
    return Error(ErrorKind::kInvalidArgument, code,
                 type.multi_segment_wildcard ? "'**' must be a whole segment"
                                             : "'**' is only for file paths");
  }
  return OkStatus();
}

Status CheckSegmentCount(const DatabaseTypeInfo& type, const std::vector<std::string>& segments,
                         const char* code) {
  if (type.segments != 0 && segments.size() != type.segments) {
    return Error(ErrorKind::kInvalidArgument, code,
                 "needs exactly " + std::to_string(type.segments) + " segment(s)");
  }
  return OkStatus();
}

// Glob match of one segment where '*' matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Whether `pattern` matches `name`, segment by segment. Dynamic programming over (pattern
// position, name position) keeps patterns with many "**" linear in their product, where naive
// backtracking would be exponential.
bool MatchSegments(const std::vector<std::string>& pattern, const std::vector<std::string>& name) {
  const std::size_t columns = name.size() + 1;
  // matches[p * columns + n]: pattern[p..] matches name[n..].
  std::vector<bool> matches((pattern.size() + 1) * columns, false);
  matches[pattern.size() * columns + name.size()] = true;
  for (std::size_t p = pattern.size(); p-- > 0;) {
    for (std::size_t n = name.size() + 1; n-- > 0;) {
      bool result = false;
      if (pattern[p] == "**") {
        // Match zero segments, or swallow one and stay on "**".
        result =
            matches[(p + 1) * columns + n] || (n < name.size() && matches[p * columns + n + 1]);
      } else if (n < name.size()) {
        result = GlobMatch(pattern[p], name[n]) && matches[(p + 1) * columns + n + 1];
      }
      matches[p * columns + n] = result;
    }
  }
  return matches[0];
}

}  // namespace

Result<ResourcePattern> ResourcePattern::Parse(const DatabaseTypeInfo& type,
                                               std::string_view pattern) {
  WK_ASSIGN_OR_RETURN(std::vector<std::string> segments,
                      Segments(type, pattern, "invalid_pattern"));
  if (segments.empty()) {
    return Error(ErrorKind::kInvalidArgument, "invalid_pattern", "matches only the root; use /**");
  }
  for (const std::string& segment : segments) {
    WK_RETURN_IF_ERROR(CheckSegment(type, segment, true, "invalid_pattern"));
  }
  WK_RETURN_IF_ERROR(CheckSegmentCount(type, segments, "invalid_pattern"));
  return ResourcePattern(std::string(pattern), std::move(segments));
}

bool ResourcePattern::Matches(const std::vector<std::string>& resource) const {
  return MatchSegments(segments_, resource);
}

Result<std::vector<std::string>> SplitResourceName(const DatabaseTypeInfo& type,
                                                   std::string_view name) {
  WK_ASSIGN_OR_RETURN(std::vector<std::string> segments, Segments(type, name, "invalid_resource"));
  for (const std::string& segment : segments) {
    WK_RETURN_IF_ERROR(CheckSegment(type, segment, false, "invalid_resource"));
  }
  WK_RETURN_IF_ERROR(CheckSegmentCount(type, segments, "invalid_resource"));
  return segments;
}

}  // namespace weftkit::policy
