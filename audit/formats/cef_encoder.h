// CEF (ArcSight Common Event Format, version 0) encoding of audit entries.
//
// One entry becomes one line, without a line terminator:
//
//   CEF:0|<vendor>|<product>|<version>|<action>|<event name>|<severity>|<extension>
//
// Escaping follows the CEF specification exactly:
//   header fields      '\' -> "\\", '|' -> "\|"
//   extension values   '\' -> "\\", '=' -> "\=", LF -> "\n", CR -> "\r"
// The specification allows line breaks only inside extension values, so a header field has
// none; and it defines no escape for other control characters. Those (C0 other than CR and LF,
// DEL, C1) and bytes that are not well-formed UTF-8 become U+FFFD in both places, so a line
// never carries a raw control character and always is valid UTF-8. The JSON lines format keeps
// every value exactly; docs/siem.md has the field mapping.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_entry.h"
#include "audit/formats/siem_product.h"

namespace weftkit::audit::formats {

// `text` escaped for a CEF header field.
std::string EscapeCefHeader(std::string_view text);

// `text` escaped for a CEF extension value.
std::string EscapeCefExtensionValue(std::string_view text);

// The CEF line of `entry`. Optional fields that are empty or absent are left out rather than
// sent as "key=".
std::string EncodeCef(const AuditEntry& entry, const SiemProduct& product);

}  // namespace weftkit::audit::formats
