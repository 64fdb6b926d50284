#include "audit/formats/leef_encoder.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "audit/formats/siem_text.h"

namespace weftkit::audit::formats {
namespace {

struct DelimiterSpec {
  LeefDelimiter delimiter;
  char character;
  std::string_view declaration;  // as written in the header
  std::string_view escaped;      // as written inside a value
};

constexpr std::array<DelimiterSpec, 2> kDelimiters{{
    {LeefDelimiter::kTab, '\t', "x09", "\\t"},
    {LeefDelimiter::kCaret, '^', "^", "\\^"},
}};

const DelimiterSpec& SpecOf(LeefDelimiter delimiter) {
  for (const DelimiterSpec& spec : kDelimiters) {
    if (spec.delimiter == delimiter) return spec;
  }
  return kDelimiters[0];
}

// Escapes of characters that appear in values, apart from the delimiter.
constexpr std::array<std::pair<char, std::string_view>, 4> kValueEscapes{{
    {'\\', "\\\\"},
    {'=', "\\="},
    {'\n', "\\n"},
    {'\r', "\\r"},
}};

void AppendValueCharacter(std::string_view character, const DelimiterSpec& spec, std::string& out) {
  if (character.size() == 1) {
    if (character[0] == spec.character) {
      out.append(spec.escaped);
      return;
    }
    for (const auto& [raw, escaped] : kValueEscapes) {
      if (character[0] == raw) {
        out.append(escaped);
        return;
      }
    }
  }
  out.append(IsControlCharacter(character) ? kReplacementCharacter : character);
}

void AppendHeaderCharacter(std::string_view character, std::string& out) {
  if (character == "\\" || character == "|") out.push_back('\\');
  out.append(IsControlCharacter(character) ? kReplacementCharacter : character);
}

// Builds the attribute list: "key=value" pairs separated by the delimiter.
class Attributes {
 public:
  explicit Attributes(LeefDelimiter delimiter) : delimiter_(delimiter) {}

  void Add(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (!text_.empty()) text_.push_back(LeefDelimiterCharacter(delimiter_));
    text_.append(key);
    text_.push_back('=');
    text_.append(EscapeLeefValue(value, delimiter_));
  }
  std::string Take() { return std::move(text_); }

 private:
  LeefDelimiter delimiter_;
  std::string text_;
};

std::string OptionalNumber(const auto& value) {
  return value.has_value() ? std::to_string(*value) : std::string();
}

std::string ResultOf(const AuditEntry& entry) {
  if (entry.decision == "deny") return "denied";
  return entry.outcome == "failure" ? "failed" : "succeeded";
}

}  // namespace

char LeefDelimiterCharacter(LeefDelimiter delimiter) { return SpecOf(delimiter).character; }

std::string_view LeefDelimiterDeclaration(LeefDelimiter delimiter) {
  return SpecOf(delimiter).declaration;
}

std::string EscapeLeefHeader(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendUtf8Escaped(text, out, AppendHeaderCharacter);
  return out;
}

std::string EscapeLeefValue(std::string_view text, LeefDelimiter delimiter) {
  const DelimiterSpec& spec = SpecOf(delimiter);
  std::string out;
  out.reserve(text.size());
  AppendUtf8Escaped(text, out, [&spec](std::string_view character, std::string& sink) {
    AppendValueCharacter(character, spec, sink);
  });
  return out;
}

std::string FormatLeefDevTime(std::int64_t unix_ms) {
  // Floor division, so that times before 1970 still print a millisecond field in 0..999.
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(millis));
  return text.data();
}

std::string EncodeLeef(const AuditEntry& entry, const SiemProduct& product,
                       const LeefOptions& options) {
  std::string line = "LEEF:2.0|";
  for (const std::string* field :
       {&product.vendor, &product.product, &product.version, &entry.action}) {
    line.append(EscapeLeefHeader(*field));
    line.push_back('|');
  }
  line.append(LeefDelimiterDeclaration(options.delimiter));
  line.push_back('|');

  PeerAddress peer = ParsePeer(entry.peer);
  Attributes attributes(options.delimiter);
  attributes.Add("devTime", FormatLeefDevTime(entry.time_ms));
  attributes.Add("devTimeFormat", kLeefDevTimeFormat);
  attributes.Add("cat", ResultOf(entry));
  attributes.Add("sev", std::to_string(SeverityOf(entry)));
  attributes.Add("usrName", entry.principal);
  attributes.Add("src", peer.ipv4.empty() ? peer.ipv6 : peer.ipv4);
  attributes.Add("srcPort", OptionalNumber(peer.port));
  attributes.Add("resource", entry.resource);
  attributes.Add("auditIndex", std::to_string(entry.index));
  attributes.Add("requestId", entry.request_id);
  attributes.Add("authMethod", entry.auth_method);
  attributes.Add("outcome", entry.outcome);
  attributes.Add("decision", entry.decision);
  attributes.Add("rule", entry.rule);
  attributes.Add("keyName", entry.key_name);
  attributes.Add("keyVersion", OptionalNumber(entry.key_version));
  attributes.Add("policyVersion", OptionalNumber(entry.policy_version));
  attributes.Add("httpStatus", entry.status == 0 ? "" : std::to_string(entry.status));
  attributes.Add("errorCode", entry.error_code);
  line.append(attributes.Take());
  return line;
}

}  // namespace weftkit::audit::formats
