#include "common/base64.h"

#include <array>

namespace weftkit {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> MakeReverse(std::string_view alphabet) {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr auto kStandardReverse = MakeReverse(kStandardAlphabet);
constexpr auto kUrlReverse = MakeReverse(kUrlAlphabet);

std::string Encode(std::span<const std::uint8_t> in, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t group = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    out.push_back(alphabet[group & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest == 0) return out;
  std::uint32_t group = in[i] << 16;
  if (rest == 2) group |= in[i + 1] << 8;
  out.push_back(alphabet[(group >> 18) & 63]);
  out.push_back(alphabet[(group >> 12) & 63]);
  if (rest == 2) out.push_back(alphabet[(group >> 6) & 63]);
  if (pad) out.append(rest == 1 ? "==" : "=");
  return out;
}

Error InvalidBase64(const char* why) {
  return Error(ErrorKind::kInvalidArgument, "invalid_base64", why);
}

// Decodes into `out` (pre-sized to the exact decoded length).
Status DecodeInto(std::string_view text, const std::array<std::int8_t, 256>& reverse,
                  std::span<std::uint8_t> out) {
  std::size_t pos = 0;
  std::uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    std::int8_t value = reverse[static_cast<unsigned char>(c)];
    if (value < 0) return InvalidBase64("character outside the alphabet");
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = static_cast<std::uint8_t>(group >> bits);
      group &= (1u << bits) - 1;
    }
  }
  if (group != 0) return InvalidBase64("non-zero trailing bits");
  return OkStatus();
}

// Strips padding (checking it) and returns the unpadded text and its decoded length.
Result<std::pair<std::string_view, std::size_t>> Unpad(std::string_view text, bool padded) {
  if (padded) {
    if (text.size() % 4 != 0) return InvalidBase64("length is not a multiple of 4");
    std::size_t pad = 0;
    while (pad < 2 && !text.empty() && text[text.size() - 1 - pad] == '=') ++pad;
    text.remove_suffix(pad);
  } else if (text.size() % 4 == 1) {
    return InvalidBase64("impossible length");
  }
  std::size_t decoded = text.size() / 4 * 3;
  switch (text.size() % 4) {
    case 2:
      decoded += 1;
      break;
    case 3:
      decoded += 2;
      break;
    default:
      break;
  }
  return std::make_pair(text, decoded);
}

}  // namespace

std::string Base64Encode(std::span<const std::uint8_t> bytes) {
  return Encode(bytes, kStandardAlphabet, true);
}

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  return Encode(bytes, kUrlAlphabet, false);
}

Result<std::vector<std::uint8_t>> Base64Decode(std::string_view text) {
  WK_ASSIGN_OR_RETURN(auto unpadded, Unpad(text, true));
  std::vector<std::uint8_t> out(unpadded.second);
  WK_RETURN_IF_ERROR(DecodeInto(unpadded.first, kStandardReverse, out));
  return out;
}

Result<SecretBytes> Base64DecodeSecret(std::string_view text) {
  WK_ASSIGN_OR_RETURN(auto unpadded, Unpad(text, true));
  SecretBytes out(unpadded.second);
  WK_RETURN_IF_ERROR(DecodeInto(unpadded.first, kStandardReverse, out.expose_mutable()));
  return out;
}

Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text) {
  WK_ASSIGN_OR_RETURN(auto unpadded, Unpad(text, false));
  std::vector<std::uint8_t> out(unpadded.second);
  WK_RETURN_IF_ERROR(DecodeInto(unpadded.first, kUrlReverse, out));
  return out;
}

}  // namespace weftkit
