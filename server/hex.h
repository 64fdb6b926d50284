// Lower-case hex encoding for ids and digests (never for secrets). Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace weftkit::server {

inline std::string LowerHex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0x0f]);
  }
  return hex;
}

}  // namespace weftkit::server
