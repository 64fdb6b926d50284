// Policy scopes: where a bundle applies, written "<kind>/<name>", e.g. "cluster/prod",
// "pool/eu-1" or "engine/relational".
//
// The kind is one of cluster, pool or engine. The name is 1 to 64 characters of lower-case
// letters, digits, '.', '_' and '-', starting with a letter or digit. The rules keep a scope
// usable unchanged as two URL path segments, an RBAC resource ("policy/<scope>") and a log value.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::policy_store {

// OkStatus() if `scope` is a valid scope, else kInvalidArgument "invalid_scope" naming the rule
// it breaks (never echoing the input).
Status ValidateScope(std::string_view scope);

// "<kind>/<name>" after checking that the result is a valid scope.
Result<std::string> ScopeFromParts(std::string_view kind, std::string_view name);

// The RBAC resource of a scope: "policy/<scope>".
inline std::string ScopeResource(std::string_view scope) { return "policy/" + std::string(scope); }

}  // namespace weftkit::policy_store
