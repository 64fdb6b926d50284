#include "client/backoff.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace weftkit::client {

Backoff::Backoff(const RetryPolicy& policy) : policy_(policy), random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::DelayBefore(int attempt,
                                               std::optional<std::chrono::seconds> retry_after) {
  using std::chrono::milliseconds;
  int doublings = std::clamp(attempt - 1, 0, 30);
  long long cap = std::min<long long>(policy_.max_backoff.count(), policy_.initial_backoff.count()
                                                                       << doublings);
  std::uniform_int_distribution<long long> jitter(0, std::max<long long>(cap, 0));
  milliseconds delay(jitter(random_));
  if (retry_after.has_value()) {
    delay = std::max<milliseconds>(delay, std::chrono::duration_cast<milliseconds>(*retry_after));
  }
  return delay;
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value) {
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::min<long long>(seconds, 3600));
}

}  // namespace weftkit::client
