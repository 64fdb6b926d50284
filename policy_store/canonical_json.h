// The canonical text of a policy document, and its content hash.
//
// Canonical text: the JSON serialisation with object members sorted by the bytes of their
// UTF-8 names, no whitespace, strings as UTF-8 with only '"', '\\' and control characters
// escaped (controls as \b \f \n \r \t or \u00xx), integers in decimal and numbers with a
// fraction in their shortest round-trip form. For documents of strings, integers, booleans,
// arrays and objects with ASCII member names (every valid policy document), this is the same
// text as RFC 8785 (JCS) and as Python's
//   json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
// so an engine in any language can recompute it.
//
// Content hash: SHA-256 of the canonical text, as 64 lower-case hex digits. It is the bundle's
// ETag and is covered by the bundle signature (docs/policy-bundles.md).
//
// Thread-safe: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::policy_store {

// The canonical text of `document`; kInvalidArgument "policy_not_utf8" if a string in it is not
// valid UTF-8.
Result<std::string> CanonicalJson(const nlohmann::json& document);

// SHA-256 of `bytes` as lower-case hex; kInternal "openssl_error" only if OpenSSL fails.
Result<std::string> Sha256Hex(std::string_view bytes);

// Sha256Hex(CanonicalJson(document)).
Result<std::string> ContentHash(const nlohmann::json& document);

}  // namespace weftkit::policy_store
