// ByteReader: reads the big-endian binary forms of the audit log (canonical entries, archive
// files) front to back. Every read checks the bytes left first and returns false, consuming
// nothing, when too few remain; the callers turn that into their format's error.
//
// Thread safety: none; one reader per parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace weftkit::audit {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : rest_(bytes) {}

  // An unsigned big-endian integer of `bytes` bytes (1 to 8).
  bool Uint(int bytes, std::uint64_t& out) {
    if (rest_.size() < static_cast<std::size_t>(bytes)) return false;
    out = 0;
    for (int i = 0; i < bytes; ++i) out = out << 8 | rest_[static_cast<std::size_t>(i)];
    rest_ = rest_.subspan(static_cast<std::size_t>(bytes));
    return true;
  }

  // The next `count` bytes, as a view into the input.
  bool Take(std::size_t count, std::span<const std::uint8_t>& out) {
    if (rest_.size() < count) return false;
    out = rest_.first(count);
    rest_ = rest_.subspan(count);
    return true;
  }

  std::size_t left() const { return rest_.size(); }

 private:
  std::span<const std::uint8_t> rest_;
};

}  // namespace weftkit::audit
