#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace weftkit::server {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// Buckets looked at from the old end per call: enough to keep pace with new keys, since each
// call adds at most one.
constexpr int kIdleDropsPerCall = 2;

}  // namespace

TokenBucketLimiter::TokenBucketLimiter(TokenBucketSettings settings, Clock clock)
    : settings_(settings),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void TokenBucketLimiter::Refill(Bucket& bucket, TimePoint now) const {
  double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(settings_.burst, bucket.tokens + elapsed * settings_.rate_per_second);
    bucket.updated = now;
  }
}

void TokenBucketLimiter::DropIdle(TimePoint now) {
  for (int i = 0; i < kIdleDropsPerCall && !lru_.empty(); ++i) {
    Bucket& oldest = lru_.back();
    Refill(oldest, now);
    if (oldest.tokens < settings_.burst) return;
    index_.erase(oldest.key);
    lru_.pop_back();
  }
}

TokenBucketLimiter::Bucket& TokenBucketLimiter::Touch(std::string_view key, TimePoint now) {
  DropIdle(now);
  if (auto found = index_.find(key); found != index_.end()) {
    lru_.splice(lru_.begin(), lru_, found->second);
    Refill(lru_.front(), now);
    return lru_.front();
  }
  if (index_.size() >= std::max<std::size_t>(settings_.max_keys, 1)) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(Bucket{std::string(key), settings_.burst, now});
  index_.emplace(lru_.front().key, lru_.begin());
  return lru_.front();
}

std::int64_t TokenBucketLimiter::SecondsUntil(double tokens_needed) const {
  double seconds = std::ceil(tokens_needed / settings_.rate_per_second);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds));
}

std::int64_t TokenBucketLimiter::Take(std::string_view key, double cost) {
  if (!enabled()) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  Bucket& bucket = Touch(key, clock_());
  double needed = std::min(cost, settings_.burst);
  if (bucket.tokens < needed) return SecondsUntil(needed - bucket.tokens);
  bucket.tokens -= cost;
  return 0;
}

std::int64_t TokenBucketLimiter::WaitFor(std::string_view key) {
  if (!enabled()) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  TimePoint now = clock_();
  DropIdle(now);
  auto found = index_.find(key);
  if (found == index_.end()) return 0;  // absent means full
  Bucket& bucket = *found->second;
  Refill(bucket, now);
  return bucket.tokens >= 1 ? 0 : SecondsUntil(1 - bucket.tokens);
}

void TokenBucketLimiter::Charge(std::string_view key, double cost) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Bucket& bucket = Touch(key, clock_());
  bucket.tokens = std::max(-settings_.burst, bucket.tokens - cost);
}

void TokenBucketLimiter::Refund(std::string_view key, double cost) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Bucket& bucket = Touch(key, clock_());
  bucket.tokens = std::min(settings_.burst, bucket.tokens + cost);
}

std::size_t TokenBucketLimiter::tracked_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index_.size();
}

}  // namespace weftkit::server
