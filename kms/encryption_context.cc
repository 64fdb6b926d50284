#include "kms/encryption_context.h"

#include <utility>

namespace weftkit::kms {
namespace {

Error InvalidContext(const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, "invalid_context", why);
}

// The length of the UTF-8 sequence that starts with `lead`, or 0 if `lead` cannot start one,
// together with the range its second byte must lie in (which rules out overlong forms,
// surrogates and code points past U+10FFFF).
struct SequenceRule {
  std::size_t length;
  std::uint8_t second_min;
  std::uint8_t second_max;
};

SequenceRule RuleFor(std::uint8_t lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

bool IsContinuation(std::uint8_t byte) { return (byte & 0xC0) == 0x80; }

void AppendU16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

void AppendField(std::vector<std::uint8_t>& out, const std::string& field) {
  AppendU16(out, field.size());
  out.insert(out.end(), field.begin(), field.end());
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    const SequenceRule rule = RuleFor(lead);
    if (rule.length == 0 || text.size() - i < rule.length) return false;
    if (rule.length > 1) {
      const auto second = static_cast<std::uint8_t>(text[i + 1]);
      if (second < rule.second_min || second > rule.second_max) return false;
      for (std::size_t k = 2; k < rule.length; ++k) {
        if (!IsContinuation(static_cast<std::uint8_t>(text[i + k]))) return false;
      }
    }
    i += rule.length;
  }
  return true;
}

Result<EncryptionContext> EncryptionContext::Create(std::map<std::string, std::string> entries) {
  if (entries.size() > kMaxEntries) {
    return InvalidContext("more than " + std::to_string(kMaxEntries) + " entries");
  }
  for (const auto& [key, value] : entries) {
    if (key.empty() || key.size() > kMaxKeyBytes) {
      return InvalidContext("a key is empty or longer than " + std::to_string(kMaxKeyBytes) +
                            " bytes");
    }
    if (value.size() > kMaxValueBytes) {
      return InvalidContext("a value is longer than " + std::to_string(kMaxValueBytes) + " bytes");
    }
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      return InvalidContext("a key or value is not valid UTF-8");
    }
  }
  return EncryptionContext(std::move(entries));
}

std::vector<std::uint8_t> EncryptionContext::Encode() const {
  std::vector<std::uint8_t> out;
  AppendU16(out, entries_.size());
  for (const auto& [key, value] : entries_) {
    AppendField(out, key);
    AppendField(out, value);
  }
  return out;
}

}  // namespace weftkit::kms
