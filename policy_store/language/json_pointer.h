// RFC 6901 JSON Pointer helpers for the problems ValidatePolicy reports.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace weftkit::policy {

// One reference token escaped for a pointer: "~" becomes "~0" and "/" becomes "~1".
std::string EscapePointerToken(std::string_view token);

// Orders pointers the way their targets appear in a document: token by token, array indexes
// numerically ("/roles/2" before "/roles/10"), a pointer before those below it.
bool PointerLess(std::string_view a, std::string_view b);

}  // namespace weftkit::policy
