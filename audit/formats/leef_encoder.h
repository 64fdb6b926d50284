// LEEF 2.0 (IBM QRadar Log Event Extended Format) encoding of audit entries.
//
// One entry becomes one line, without a line terminator:
//
//   LEEF:2.0|<vendor>|<product>|<version>|<action>|<delimiter>|<key=value><delimiter>...
//
// The delimiter separating attributes is declared in the sixth header field; the default is the
// tab, declared in the hexadecimal form "x09" that LEEF 2.0 allows, because a literal tab in a
// header is easily lost by syslog relays. The caret '^' is the other choice.
//
// LEEF defines no escape sequences of its own; QRadar splits attributes at the delimiter and
// each attribute at its first '='. So that every value survives any of these parsers, values
// are escaped as CEF escapes extension values, plus the delimiter:
//   '\' -> "\\", '=' -> "\=", LF -> "\n", CR -> "\r", tab -> "\t", '^' -> "\^" (when it is the
//   delimiter)
// and header fields as CEF headers: '\' -> "\\", '|' -> "\|". Other control characters and
// bytes that are not well-formed UTF-8 become U+FFFD. A raw delimiter, '|' in a header, CR or
// LF therefore never appears inside a field. docs/siem.md has the field mapping.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_entry.h"
#include "audit/formats/siem_product.h"

namespace weftkit::audit::formats {

enum class LeefDelimiter { kTab, kCaret };

struct LeefOptions {
  LeefDelimiter delimiter = LeefDelimiter::kTab;
};

// The delimiter character and how the header declares it ("x09" or "^").
char LeefDelimiterCharacter(LeefDelimiter delimiter);
std::string_view LeefDelimiterDeclaration(LeefDelimiter delimiter);

// `text` escaped for a LEEF header field.
std::string EscapeLeefHeader(std::string_view text);

// `text` escaped for a LEEF attribute value under `delimiter`.
std::string EscapeLeefValue(std::string_view text, LeefDelimiter delimiter);

// "yyyy-MM-dd'T'HH:mm:ss.SSSZ", the Java SimpleDateFormat pattern sent as devTimeFormat.
inline constexpr std::string_view kLeefDevTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
// `unix_ms` in that pattern, always in UTC: "2026-12-03T18:52:23.123+0000".
std::string FormatLeefDevTime(std::int64_t unix_ms);

// The LEEF line of `entry`. Optional fields that are empty or absent are left out.
std::string EncodeLeef(const AuditEntry& entry, const SiemProduct& product,
                       const LeefOptions& options = {});

}  // namespace weftkit::audit::formats
