// Resource names and the patterns that grants, denies and row-security policies match them with.
//
// A resource name is split into segments by its database type's separator (database_types.h):
// "sales.orders" (relational, exactly two segments), "shop.users" or "users" (document),
// "Person" (graph, one segment), "session:eu:42" (key_value), "/exports/2026/a.csv" (file,
// rooted; "/" alone has no segment). Segments are non-empty; relational and graph segments are
// identifiers ([A-Za-z0-9_$]); file segments are never "." or "..". Nothing is case-folded.
//
// In a pattern, `*` inside a segment matches any run of characters within that one segment
// ("sales.*", "sales.order_*", "tenant:*:config"); a segment that is exactly `**` (file patterns
// only) matches any number of segments, zero included ("/exports/**"). Everything else matches
// itself exactly. docs/policy-language.md has examples.
//
// Thread safety: a ResourcePattern is immutable; every function is pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "policy_store/language/database_types.h"

namespace weftkit::policy {

// Longest resource name or pattern accepted, in bytes.
inline constexpr std::size_t kMaxResourceLength = 1024;

class ResourcePattern {
 public:
  // Parses `pattern` for `type`. kInvalidArgument "invalid_pattern" with a detail naming the
  // rule broken (the detail does not quote the pattern).
  static Result<ResourcePattern> Parse(const DatabaseTypeInfo& type, std::string_view pattern);

  // Whether the resource name `resource` (already split by SplitResourceName) matches.
  bool Matches(const std::vector<std::string>& resource) const;

  const std::string& text() const { return text_; }

 private:
  ResourcePattern(std::string text, std::vector<std::string> segments)
      : text_(std::move(text)), segments_(std::move(segments)) {}

  std::string text_;
  std::vector<std::string> segments_;
};

// Splits and checks a concrete resource name (a `*` in it is an ordinary character).
// kInvalidArgument "invalid_resource" when it breaks the rules of its type.
Result<std::vector<std::string>> SplitResourceName(const DatabaseTypeInfo& type,
                                                   std::string_view name);

}  // namespace weftkit::policy
