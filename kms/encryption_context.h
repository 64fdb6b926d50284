// EncryptionContext: the caller's key-value pairs bound into every DEK wrap as authenticated data.
//
// A DEK wrapped under one context unwraps only with exactly the same context, so a database
// engine can tie a DEK to, say, {"engine": "orders", "table": "payments"} and a leaked envelope
// is useless elsewhere. The pairs are kept sorted by key in bytewise order, which makes the
// encoding independent of the order the caller listed them in.
//
// Encoding (all lengths big-endian):
//
//   u16 count
//   count times, in bytewise key order:  u16 key length | key | u16 value length | value
//
// The empty context encodes as 00 00. Limits: at most 64 pairs, keys 1..256 bytes, values
// 0..1024 bytes, all valid UTF-8 (shortest form, no surrogates, at most U+10FFFF).
//
// Thread safety: immutable, so safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::kms {

class EncryptionContext {
 public:
  static constexpr std::size_t kMaxEntries = 64;
  static constexpr std::size_t kMaxKeyBytes = 256;
  static constexpr std::size_t kMaxValueBytes = 1024;

  // The empty context.
  EncryptionContext() = default;

  // Validates `entries` against the limits above. Fails with kInvalidArgument
  // "invalid_context"; the detail says which limit, never the offending text.
  static Result<EncryptionContext> Create(std::map<std::string, std::string> entries);

  const std::map<std::string, std::string>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

  // The canonical encoding described above; equal contexts encode to equal bytes.
  std::vector<std::uint8_t> Encode() const;

  bool operator==(const EncryptionContext& other) const = default;

 private:
  explicit EncryptionContext(std::map<std::string, std::string> entries)
      : entries_(std::move(entries)) {}

  // std::less<std::string> compares through char_traits<char>, which orders bytes as unsigned
  // values: exactly the bytewise order the encoding promises.
  std::map<std::string, std::string> entries_;
};

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace weftkit::kms
