#include "auth/scram_throttle.h"

#include <algorithm>

namespace weftkit::auth {
namespace {

std::int64_t Millis(std::chrono::milliseconds duration) { return duration.count(); }

// base_delay * 2^(failures - 1), capped at max_delay without overflowing.
std::int64_t DelayAfter(int failures, const ThrottlePolicy& policy) {
  std::int64_t delay = Millis(policy.base_delay);
  for (int i = 1; i < failures && delay < Millis(policy.max_delay); ++i) delay *= 2;
  return std::min(delay, Millis(policy.max_delay));
}

// The moment after which a record's failures no longer count: a quiet failure_window after the
// refusal it caused ended (refused_until_ms is never before last_failure_ms).
std::int64_t ForgetAfter(const FailureState& state, const ThrottlePolicy& policy) {
  return state.refused_until_ms + Millis(policy.failure_window);
}

}  // namespace

bool IsValidThrottlePolicy(const ThrottlePolicy& policy) {
  return policy.max_failures >= 1 && policy.lock_period.count() > 0 &&
         policy.base_delay.count() > 0 && policy.max_delay.count() > 0 &&
         policy.failure_window.count() > 0;
}

FailureState AfterFailure(const FailureState& state, std::int64_t now_ms,
                          const ThrottlePolicy& policy) {
  // A lock that has run out starts a fresh count, as does a long quiet spell.
  const bool lock_over = state.failures >= policy.max_failures && now_ms >= state.refused_until_ms;
  const bool forgotten = now_ms >= ForgetAfter(state, policy);
  FailureState next;
  next.failures = (lock_over || forgotten ? 0 : state.failures) + 1;
  next.last_failure_ms = now_ms;
  next.refused_until_ms = next.failures >= policy.max_failures
                              ? now_ms + Millis(policy.lock_period)
                              : now_ms + DelayAfter(next.failures, policy);
  return next;
}

bool IsStale(const FailureState& state, std::int64_t now_ms, const ThrottlePolicy& policy) {
  return now_ms >= ForgetAfter(state, policy);
}

Status CheckThrottle(const FailureState& state, std::int64_t now_ms, const ThrottlePolicy& policy,
                     std::int64_t* out_retry_after_seconds) {
  if (now_ms >= state.refused_until_ms) return OkStatus();
  if (out_retry_after_seconds != nullptr) {
    *out_retry_after_seconds =
        std::max<std::int64_t>(1, (state.refused_until_ms - now_ms + 999) / 1000);
  }
  if (state.failures >= policy.max_failures) {
    return Error(ErrorKind::kResourceExhausted, "account_locked",
                 "too many failed logins; locked for a while");
  }
  return Error(ErrorKind::kResourceExhausted, "auth_throttled",
               "recent failed login; retry after the delay");
}

}  // namespace weftkit::auth
