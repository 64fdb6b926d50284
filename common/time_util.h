// Time helpers: Unix seconds and RFC 3339 formatting. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace weftkit {

// Seconds since the Unix epoch, from the system clock.
std::int64_t UnixNow();

// "2026-12-03T16:14:32Z".
std::string FormatRfc3339(std::int64_t unix_seconds);
// "2026-12-03T16:14:32.123Z".
std::string FormatRfc3339Millis(std::chrono::system_clock::time_point time);

}  // namespace weftkit
