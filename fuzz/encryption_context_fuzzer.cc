// Fuzzes EncryptionContext::Create and Encode (kms/encryption_context.h), and IsValidUtf8.
//
// The input is a list of pairs, one per line ('\n'), the key and value split at the first tab;
// a line without a tab is a key with an empty value. Later duplicates of a key are ignored, as a
// std::map::emplace would. Properties checked:
//   - Create accepts exactly the maps within the documented limits (at most 64 pairs, keys
//     1..256 bytes, values up to 1024 bytes, all well-formed UTF-8), and refuses the others with
//     kInvalidArgument "invalid_context";
//   - an accepted context encodes as documented, which a reference decoder here reads back to
//     the same pairs in the same (bytewise) order, with no bytes left over;
//   - IsValidUtf8 agrees with an independent reference validator on the raw input.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "kms/encryption_context.h"

namespace weftkit::kms {
namespace {

// RFC 3629 §4 well-formed UTF-8, written as the table of valid byte ranges, independent of the
// code under test.
bool ReferenceUtf8(std::string_view text) {
  std::size_t i = 0;
  auto in = [&](std::size_t at, unsigned lo, unsigned hi) {
    if (at >= text.size()) return false;
    const unsigned byte = static_cast<unsigned char>(text[at]);
    return byte >= lo && byte <= hi;
  };
  while (i < text.size()) {
    const unsigned lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    bool ok = false;
    if (lead <= 0x7F) {
      length = 1, ok = true;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2, ok = in(i + 1, 0x80, 0xBF);
    } else if (lead == 0xE0) {
      length = 3, ok = in(i + 1, 0xA0, 0xBF) && in(i + 2, 0x80, 0xBF);
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      length = 3, ok = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF);
    } else if (lead == 0xED) {
      length = 3, ok = in(i + 1, 0x80, 0x9F) && in(i + 2, 0x80, 0xBF);
    } else if (lead == 0xF0) {
      length = 4, ok = in(i + 1, 0x90, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF);
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      length = 4, ok = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF);
    } else if (lead == 0xF4) {
      length = 4, ok = in(i + 1, 0x80, 0x8F) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF);
    }
    if (!ok) return false;
    i += length;
  }
  return true;
}

bool WithinLimits(const std::map<std::string, std::string>& entries) {
  if (entries.size() > EncryptionContext::kMaxEntries) return false;
  for (const auto& [key, value] : entries) {
    if (key.empty() || key.size() > EncryptionContext::kMaxKeyBytes) return false;
    if (value.size() > EncryptionContext::kMaxValueBytes) return false;
    if (!ReferenceUtf8(key) || !ReferenceUtf8(value)) return false;
  }
  return true;
}

// Reads the documented encoding back; nullopt if it does not follow the layout exactly.
std::optional<std::vector<std::pair<std::string, std::string>>> ReferenceDecode(
    const std::vector<std::uint8_t>& bytes) {
  std::size_t at = 0;
  auto u16 = [&]() -> std::optional<std::size_t> {
    if (bytes.size() - at < 2) return std::nullopt;
    const std::size_t value = (std::size_t{bytes[at]} << 8) | bytes[at + 1];
    at += 2;
    return value;
  };
  auto text = [&]() -> std::optional<std::string> {
    std::optional<std::size_t> length = u16();
    if (!length.has_value() || bytes.size() - at < *length) return std::nullopt;
    std::string value(bytes.begin() + at, bytes.begin() + at + *length);
    at += *length;
    return value;
  };
  std::optional<std::size_t> count = u16();
  if (!count.has_value()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < *count; ++i) {
    std::optional<std::string> key = text();
    std::optional<std::string> value = key.has_value() ? text() : std::nullopt;
    if (!value.has_value()) return std::nullopt;
    pairs.emplace_back(std::move(*key), std::move(*value));
  }
  if (at != bytes.size()) return std::nullopt;
  return pairs;
}

std::map<std::string, std::string> PairsOf(std::string_view input) {
  std::map<std::string, std::string> entries;
  while (!input.empty()) {
    auto [line, rest] = fuzz::SplitOnce(input, '\n');
    auto [key, value] = fuzz::SplitOnce(line, '\t');
    entries.emplace(std::string(key), std::string(value));
    input = rest;
  }
  return entries;
}

void CheckContext(const std::map<std::string, std::string>& entries) {
  Result<EncryptionContext> context = EncryptionContext::Create(entries);
  FUZZ_CHECK(context.ok() == WithinLimits(entries));
  if (!context.ok()) {
    FUZZ_CHECK(context.error().kind() == ErrorKind::kInvalidArgument);
    FUZZ_CHECK(context.error().code() == "invalid_context");
    return;
  }
  FUZZ_CHECK(context->entries() == entries);
  auto decoded = ReferenceDecode(context->Encode());
  FUZZ_CHECK(decoded.has_value());
  FUZZ_CHECK(std::vector<std::pair<std::string, std::string>>(entries.begin(), entries.end()) ==
             *decoded);
}

}  // namespace
}  // namespace weftkit::kms

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = weftkit::fuzz::AsText(data, size);
  FUZZ_CHECK(weftkit::kms::IsValidUtf8(input) == weftkit::kms::ReferenceUtf8(input));
  weftkit::kms::CheckContext(weftkit::kms::PairsOf(input));
  return 0;
}
