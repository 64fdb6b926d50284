// Backoff: the delays between attempts of a retried request, exponential with full jitter
// (each delay drawn uniformly from zero to the exponential cap), never shorter than the
// server's Retry-After. Full jitter spreads the retries of many engines that all saw the same
// restart, instead of having them return in synchronized waves.
//
// Thread safety: one per request; not shared.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "client/client_options.h"

namespace weftkit::client {

class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy);

  // The delay before attempt number `attempt` (1 = the first retry). `retry_after` is the
  // server's Retry-After, when it sent one.
  std::chrono::milliseconds DelayBefore(int attempt,
                                        std::optional<std::chrono::seconds> retry_after);

 private:
  RetryPolicy policy_;
  std::mt19937_64 random_;  // jitter only; no secret depends on it
};

// Parses a Retry-After header given in delta-seconds ("1"); an HTTP date or garbage gives
// nullopt. Values are capped at one hour.
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value);

}  // namespace weftkit::client
