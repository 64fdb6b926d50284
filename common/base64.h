// Strict base64 (RFC 4648 §4) and base64url (§5) codecs.
//
// Decoding is strict: it rejects characters outside the alphabet, whitespace, wrong padding and
// non-zero trailing bits, so every byte string has exactly one accepted encoding. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit {

// Standard alphabet, with '=' padding.
std::string Base64Encode(std::span<const std::uint8_t> bytes);
// Fails with code "invalid_base64" on any deviation from the canonical padded encoding.
Result<std::vector<std::uint8_t>> Base64Decode(std::string_view text);
// The same, decoding straight into secure memory, for DEKs supplied by callers.
Result<SecretBytes> Base64DecodeSecret(std::string_view text);

// URL-safe alphabet without padding, as JOSE uses it.
std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text);

inline std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace weftkit
