#include "audit/formats/cef_encoder.h"

#include <array>
#include <utility>

#include "audit/formats/siem_text.h"

namespace weftkit::audit::formats {
namespace {

// Appends the escaped form of one character: `table` maps the characters that have an escape;
// other controls become U+FFFD; everything else is copied.
template <std::size_t N>
void AppendEscaped(std::string_view character, std::string& out,
                   const std::array<std::pair<char, std::string_view>, N>& table) {
  if (character.size() == 1) {
    for (const auto& [raw, escaped] : table) {
      if (character[0] == raw) {
        out.append(escaped);
        return;
      }
    }
  }
  if (IsControlCharacter(character)) {
    out.append(kReplacementCharacter);
    return;
  }
  out.append(character);
}

constexpr std::array<std::pair<char, std::string_view>, 2> kHeaderEscapes{{
    {'\\', "\\\\"},
    {'|', "\\|"},
}};

constexpr std::array<std::pair<char, std::string_view>, 4> kExtensionEscapes{{
    {'\\', "\\\\"},
    {'=', "\\="},
    {'\n', "\\n"},
    {'\r', "\\r"},
}};

// Builds the extension: "key=value" pairs separated by one space.
class Extension {
 public:
  void Add(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (!text_.empty()) text_.push_back(' ');
    text_.append(key);
    text_.push_back('=');
    text_.append(EscapeCefExtensionValue(value));
  }
  // A custom string or number field: its label first, then its value, both only when set.
  void AddLabelled(std::string_view key, std::string_view label, std::string_view value) {
    if (value.empty()) return;
    Add(std::string(key) + "Label", label);
    Add(key, value);
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string OptionalNumber(const auto& value) {
  return value.has_value() ? std::to_string(*value) : std::string();
}

}  // namespace

std::string EscapeCefHeader(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendUtf8Escaped(text, out, [](std::string_view character, std::string& sink) {
    AppendEscaped(character, sink, kHeaderEscapes);
  });
  return out;
}

std::string EscapeCefExtensionValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendUtf8Escaped(text, out, [](std::string_view character, std::string& sink) {
    AppendEscaped(character, sink, kExtensionEscapes);
  });
  return out;
}

std::string EncodeCef(const AuditEntry& entry, const SiemProduct& product) {
  const std::string name = EventNameOf(entry);
  std::string line = "CEF:0|";
  for (const std::string* field :
       {&product.vendor, &product.product, &product.version, &entry.action, &name}) {
    line.append(EscapeCefHeader(*field));
    line.push_back('|');
  }
  line.append(std::to_string(SeverityOf(entry)));
  line.push_back('|');

  PeerAddress peer = ParsePeer(entry.peer);
  Extension extension;
  extension.Add("rt", std::to_string(entry.time_ms));
  extension.Add("cat", CategoryOf(entry));
  extension.Add("act", entry.action);
  extension.Add("outcome", entry.outcome);
  extension.Add("suser", entry.principal);
  extension.Add("src", peer.ipv4);
  extension.AddLabelled("c6a2", "sourceIPv6Address", peer.ipv6);
  extension.Add("spt", OptionalNumber(peer.port));
  extension.Add("externalId", entry.request_id);
  extension.Add("reason", entry.error_code);
  extension.AddLabelled("cn1", "auditIndex", std::to_string(entry.index));
  extension.AddLabelled("cn2", "keyVersion", OptionalNumber(entry.key_version));
  extension.AddLabelled("cn3", "policyVersion", OptionalNumber(entry.policy_version));
  extension.AddLabelled("cs1", "resource", entry.resource);
  extension.AddLabelled("cs2", "keyName", entry.key_name);
  extension.AddLabelled("cs3", "decision", entry.decision);
  extension.AddLabelled("cs4", "rule", entry.rule);
  extension.AddLabelled("cs5", "authMethod", entry.auth_method);
  extension.AddLabelled("cs6", "httpStatus", entry.status == 0 ? "" : std::to_string(entry.status));
  line.append(extension.Take());
  return line;
}

}  // namespace weftkit::audit::formats
