#include "policy_store/language/json_pointer.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace weftkit::policy {
namespace {

std::vector<std::string_view> Tokens(std::string_view pointer) {
  std::vector<std::string_view> tokens;
  if (pointer.empty()) return tokens;
  pointer.remove_prefix(1);  // the leading '/'
  while (true) {
    const std::size_t end = pointer.find('/');
    tokens.push_back(pointer.substr(0, end));
    if (end == std::string_view::npos) break;
    pointer.remove_prefix(end + 1);
  }
  return tokens;
}

bool IsIndex(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// Negative, zero or positive as a is before, equal to or after b.
int CompareTokens(std::string_view a, std::string_view b) {
  if (IsIndex(a) && IsIndex(b)) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;  // no leading zeros in ours
  }
  return a.compare(b);
}

}  // namespace

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool PointerLess(std::string_view a, std::string_view b) {
  const std::vector<std::string_view> left = Tokens(a);
  const std::vector<std::string_view> right = Tokens(b);
  const std::size_t common = std::min(left.size(), right.size());
  for (std::size_t i = 0; i < common; ++i) {
    const int order = CompareTokens(left[i], right[i]);
    if (order != 0) return order < 0;
  }
  return left.size() < right.size();
}

}  // namespace weftkit::policy
