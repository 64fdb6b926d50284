// Text helpers shared by the SIEM encoders (CEF, LEEF): making any stored string safe to place
// in a one-line event, and reading the parts of an entry that SIEMs want as typed fields.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_entry.h"

namespace weftkit::audit::formats {

// U+FFFD REPLACEMENT CHARACTER in UTF-8: what an encoder writes in place of bytes that are not
// valid UTF-8 and of control characters that its format has no escape for.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Appends `text` to `out`, decoding it as UTF-8 and calling `escape(code_point_text, out)` for
// each well-formed character; ill-formed sequences (overlong forms, surrogates, truncated or
// stray bytes, anything above U+10FFFF) become one U+FFFD each. `escape` receives the bytes of
// one character and appends its encoded form.
template <typename Escape>
void AppendUtf8Escaped(std::string_view text, std::string& out, Escape escape);

// The length in bytes of the well-formed UTF-8 character at the start of `text`, or 0 if it
// does not start with one.
std::size_t Utf8CharacterLength(std::string_view text);

// Whether `character` (one UTF-8 character) is a C0 control, DEL, or a C1 control
// (U+0080..U+009F): characters no SIEM line should carry raw.
bool IsControlCharacter(std::string_view character);

// The client address of an entry's `peer` ("ip:port" or "[ipv6]:port"), split into typed
// parts. IPv4-mapped IPv6 addresses are reported as IPv4. Absent parts stay empty.
struct PeerAddress {
  std::string ipv4;  // dotted quad, when the peer is an IPv4 address
  std::string ipv6;  // canonical text without brackets, when it is an IPv6 address
  std::optional<std::uint16_t> port;
};
PeerAddress ParsePeer(std::string_view peer);

// How serious an entry is on the 0..10 scale that CEF and LEEF share: 7 for a denied request,
// 5 for any other failure, 3 for a success. docs/siem.md lists the table.
int SeverityOf(const AuditEntry& entry);

// A short human-readable event name: "<action> denied|failed|succeeded".
std::string EventNameOf(const AuditEntry& entry);

// The family of the action: its text up to the first '.', e.g. "key" for "key.rotate".
std::string CategoryOf(const AuditEntry& entry);

template <typename Escape>
void AppendUtf8Escaped(std::string_view text, std::string& out, Escape escape) {
  while (!text.empty()) {
    std::size_t length = Utf8CharacterLength(text);
    if (length == 0) {
      out.append(kReplacementCharacter);
      text.remove_prefix(1);
      continue;
    }
    escape(text.substr(0, length), out);
    text.remove_prefix(length);
  }
}

}  // namespace weftkit::audit::formats
