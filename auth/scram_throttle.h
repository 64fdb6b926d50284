// Failure throttling for SCRAM logins: consecutive failures for one user name first delay the
// next attempt, then lock the name for a while.
//
// After the k-th consecutive failure (k < max_failures) the name is refused until
// base_delay * 2^(k-1) (at most max_delay) after that failure; after max_failures failures it is
// locked for lock_period. A success resets the count, and so does a quiet failure_window since
// the end of the last refusal (delay or lock). Refusals are answered at once with a Retry-After
// hint, never by sleeping on a worker thread.
//
// The state is kept per name whether or not a user of that name exists, so throttling behaves
// the same for unknown names and cannot be used to enumerate users.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/error.h"

namespace weftkit::auth {

struct ThrottlePolicy {
  int max_failures = 5;
  std::chrono::milliseconds lock_period = std::chrono::minutes(15);
  std::chrono::milliseconds base_delay = std::chrono::seconds(1);
  std::chrono::milliseconds max_delay = std::chrono::seconds(30);
  std::chrono::milliseconds failure_window = std::chrono::minutes(15);
};

// One name's failure record. Times are Unix milliseconds; all zero means "no failures".
struct FailureState {
  int failures = 0;
  std::int64_t last_failure_ms = 0;
  std::int64_t refused_until_ms = 0;
};

// True when `policy` is usable: max_failures >= 1 and every duration positive.
bool IsValidThrottlePolicy(const ThrottlePolicy& policy);

// The state after one more failure at `now_ms`.
FailureState AfterFailure(const FailureState& state, std::int64_t now_ms,
                          const ThrottlePolicy& policy);

// True when `state` no longer matters at `now_ms`: failure_window has passed since its refusal
// ended, so the next failure would start a fresh count and its record may be deleted.
bool IsStale(const FailureState& state, std::int64_t now_ms, const ThrottlePolicy& policy);

// OkStatus() when an attempt at `now_ms` may proceed. Otherwise kResourceExhausted
// "account_locked" (max_failures reached) or "auth_throttled" (a delay is running), and
// *out_retry_after_seconds (if not null) is set to the whole seconds until the refusal ends,
// at least 1.
Status CheckThrottle(const FailureState& state, std::int64_t now_ms, const ThrottlePolicy& policy,
                     std::int64_t* out_retry_after_seconds);

}  // namespace weftkit::auth
