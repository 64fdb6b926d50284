#include "auth/scram_saslprep.h"

#include <unicode/usprep.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

namespace weftkit::auth {
namespace {

struct CodePointRange {
  char32_t first;
  char32_t last;
};

// Characters refused because RFC 4013 prohibits them or would map them (see the header). Sorted
// by `first`; overlaps between the RFC's tables are merged.
constexpr CodePointRange kRefused[] = {
    {0x0000, 0x001F},     // C.2.1 ASCII control
    {0x007F, 0x009F},     // C.2.1 DEL, C.2.2 C1 control
    {0x00A0, 0x00A0},     // C.1.2 no-break space (mapped)
    {0x00AD, 0x00AD},     // B.1 soft hyphen (mapped to nothing)
    {0x0340, 0x0341},     // C.8
    {0x034F, 0x034F},     // B.1
    {0x06DD, 0x06DD},     // C.2.2
    {0x070F, 0x070F},     // C.2.2
    {0x1680, 0x1680},     // C.1.2
    {0x1806, 0x1806},     // B.1
    {0x180B, 0x180E},     // B.1, C.2.2
    {0x2000, 0x200F},     // C.1.2 spaces, B.1 and C.2.2 zero-width, C.8 marks
    {0x2028, 0x202F},     // C.2.2 separators, C.8 embedding controls, C.1.2
    {0x205F, 0x2063},     // C.1.2, C.2.2
    {0x206A, 0x206F},     // C.2.2, C.8
    {0x2FF0, 0x2FFB},     // C.7 ideographic description
    {0x3000, 0x3000},     // C.1.2 ideographic space
    {0xD800, 0xDFFF},     // C.5 surrogates (also refused by the decoder)
    {0xE000, 0xF8FF},     // C.3 private use
    {0xFDD0, 0xFDEF},     // C.4 non-characters
    {0xFE00, 0xFE0F},     // B.1 variation selectors
    {0xFEFF, 0xFEFF},     // B.1, C.2.2 byte order mark
    {0xFFF9, 0xFFFD},     // C.2.2, C.6
    {0x1D173, 0x1D17A},   // C.2.2 musical symbol formatting
    {0xE0001, 0xE0001},   // C.9 language tag
    {0xE0020, 0xE007F},   // C.9 tag characters
    {0xF0000, 0x10FFFF},  // C.3 supplementary private use (and its non-characters)
};

bool IsRefused(char32_t code_point) {
  // C.4: the last two code points of every plane are non-characters.
  if ((code_point & 0xFFFE) == 0xFFFE) return true;
  for (const CodePointRange& range : kRefused) {
    if (code_point >= range.first && code_point <= range.last) return true;
  }
  return false;
}

// Decodes the code point at text[*pos] and advances *pos past it. Refuses overlong forms,
// surrogates and values above U+10FFFF, so every code point has one accepted encoding.
std::optional<char32_t> DecodeUtf8(std::string_view text, std::size_t* pos) {
  const auto lead = static_cast<std::uint8_t>(text[*pos]);
  std::size_t length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x06 ? 2
                       : (lead >> 4) == 0x0E ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
  if (length == 0 || *pos + length > text.size()) return std::nullopt;
  constexpr std::uint8_t kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  char32_t code_point = lead & kLeadMask[length];
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<std::uint8_t>(text[*pos + i]);
    if ((next & 0xC0) != 0x80) return std::nullopt;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < kMinimum[length] || code_point > 0x10FFFF) return std::nullopt;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return std::nullopt;
  *pos += length;
  return code_point;
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Whether ICU's RFC 4013 profile (NFKC, prohibited characters, bidi rule, no unassigned code
// points) maps `text` to itself. False when ICU refuses the text or cannot run.
bool UnchangedByIcuSaslPrep(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  static UStringPrepProfile* const profile = usprep_openByType(USPREP_RFC4013_SASLPREP, &status);
  if (profile == nullptr) return false;

  status = U_ZERO_ERROR;
  int32_t utf16_length = 0;
  u_strFromUTF8(nullptr, 0, &utf16_length, text.data(), static_cast<int32_t>(text.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return false;
  std::vector<UChar> utf16(static_cast<std::size_t>(utf16_length) + 1);
  status = U_ZERO_ERROR;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), nullptr, text.data(),
                static_cast<int32_t>(text.size()), &status);
  if (U_FAILURE(status)) return false;

  // NFKC may lengthen a string; four times is ample for any single mapping step.
  std::vector<UChar> prepared(utf16.size() * 4 + 16);
  status = U_ZERO_ERROR;
  int32_t prepared_length =
      usprep_prepare(profile, utf16.data(), utf16_length, prepared.data(),
                     static_cast<int32_t>(prepared.size()), USPREP_DEFAULT, nullptr, &status);
  if (U_FAILURE(status)) return false;
  return prepared_length == utf16_length &&
         std::equal(utf16.begin(), utf16.begin() + utf16_length, prepared.begin());
}

}  // namespace

bool IsSaslPrepared(std::string_view text) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::optional<char32_t> code_point = DecodeUtf8(text, &pos);
    if (!code_point.has_value() || IsRefused(*code_point)) return false;
  }
  return IsAscii(text) || UnchangedByIcuSaslPrep(text);
}

std::size_t CountCodePoints(std::string_view text) {
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos < text.size()) {
    if (!DecodeUtf8(text, &pos).has_value()) return 0;
    ++count;
  }
  return count;
}

}  // namespace weftkit::auth
