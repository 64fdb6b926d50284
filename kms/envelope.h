// The wrapped-DEK envelope, wire format v1, and the additional authenticated data bound to it.
//
// An envelope names the master key version that wrapped the DEK, so unwrap needs no other state
// and rotating a master key never touches existing envelopes. docs/envelope.md has the layout with
// a worked example; in short (integers big-endian):
//
//   offset   size  field
//   0        2     magic 0x57 0x4B ("WK")
//   2        1     format version, 0x01
//   3        1     algorithm: 0x01 = AES-256-GCM inside the HSM (12-byte IV, 16-byte tag)
//   4        4     key version, uint32, >= 1
//   8        1     N = key name length, 1..64
//   9        N     key name: ASCII [A-Za-z0-9._-], first character a letter or digit
//   9+N      12    IV
//   21+N     2     L = ciphertext length, 16..64
//   23+N     L     ciphertext (the wrapped DEK)
//   23+N+L   16    GCM tag
//   total 39 + N + L bytes, at most 167
//
// The crypto core: these functions return errors and never log. Thread-safe (pure functions).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "kms/encryption_context.h"

namespace weftkit::kms {

enum class Algorithm : std::uint8_t {
  kAes256Gcm = 0x01,  // AES-256-GCM computed inside the HSM, 12-byte IV, 16-byte tag
};

inline constexpr std::uint8_t kEnvelopeFormatV1 = 0x01;
inline constexpr std::size_t kIvSize = 12;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kMaxKeyNameSize = 64;
inline constexpr std::size_t kMinCiphertextSize = 16;
inline constexpr std::size_t kMaxCiphertextSize = 64;
inline constexpr std::size_t kMaxEnvelopeSize = 39 + kMaxKeyNameSize + kMaxCiphertextSize;

// The fields of an envelope. Plain data: ValidateEnvelope says whether they fit the format.
struct Envelope {
  std::uint8_t format_version = kEnvelopeFormatV1;
  Algorithm algorithm = Algorithm::kAes256Gcm;
  std::string key_name;
  std::uint32_t key_version = 0;
  std::array<std::uint8_t, kIvSize> iv{};
  std::vector<std::uint8_t> ciphertext;
  std::array<std::uint8_t, kTagSize> tag{};

  bool operator==(const Envelope& other) const = default;
};

// OK if `envelope` can be encoded: known format version and algorithm, key version >= 1, a valid
// key name and 16..64 bytes of ciphertext. Otherwise fails with the code DecodeEnvelope would
// report for the same field (kInvalidArgument "envelope_*").
Status ValidateEnvelope(const Envelope& envelope);

// The v1 bytes of `envelope`. Precondition: ValidateEnvelope(envelope) is OK; if it is not, the
// result is empty, which every decoder rejects, rather than a misleading encoding.
std::vector<std::uint8_t> EncodeEnvelope(const Envelope& envelope);

// Parses exactly one v1 envelope; nothing may precede or follow it. Fails with kInvalidArgument
// and one of these codes, checking fields in wire order so that any prefix of a valid envelope
// reports "envelope_truncated":
//   envelope_oversized          more than 167 bytes, or bytes after the declared layout
//   envelope_truncated          fewer bytes than the layout declares (including none)
//   envelope_bad_magic          the first two bytes are not "WK"
//   envelope_unknown_version    format version is not 0x01
//   envelope_unknown_algorithm  algorithm is not 0x01
//   envelope_bad_key_version    key version is 0
//   envelope_bad_key_name       name length is 0 or over 64, or a character is not allowed
//   envelope_bad_length         L is outside 16..64
// Success means well-formed, not authentic: only the GCM tag check at unwrap proves that.
Result<Envelope> DecodeEnvelope(std::span<const std::uint8_t> bytes);

// The additional authenticated data for wrapping or unwrapping under `header_fields`:
//
//   "weftkit-kms/dek/v1" || envelope bytes from offset 0 through the IV || context.Encode()
//
// It binds the magic, format version, algorithm, key version, key name and IV, plus the caller's
// context, so changing any of them makes the tag check fail. Never empty (SoftHSM 2.6 crashes on
// empty GCM AAD). Uses only the header fields of `header_fields`; ciphertext and tag are ignored.
std::vector<std::uint8_t> BuildAad(const Envelope& header_fields, const EncryptionContext& context);

// Checks a master key name: 1..64 ASCII characters from [A-Za-z0-9._-], the first a letter or
// digit. Returns the name, or kInvalidArgument "invalid_key_name".
Result<std::string> ValidateKeyName(std::string_view name);

}  // namespace weftkit::kms
