// TokenBucketLimiter: one token bucket per key (a source address, a principal), in a table of
// bounded size.
//
// Each bucket holds at most `burst` tokens and refills at `rate_per_second`. Take(key, cost)
// admits a request when the bucket holds min(cost, burst) tokens and then deducts the whole
// cost, so a batch larger than the burst is admitted from a full bucket and leaves it in debt:
// the long-run rate stays `rate_per_second` whatever the batch sizes. Charge(key, cost) deducts
// without asking (a failed authentication), never below -burst, so that a client can dig itself
// at most 2 * burst / rate seconds deep.
//
// Memory is bounded: the table keeps at most `max_keys` buckets in least-recently-used order.
// A bucket that has refilled to full is indistinguishable from a missing one and is dropped as
// it reaches the old end; when the table is full the least recently used bucket goes, forgiving
// its debt. Clients that rotate more than max_keys keys can thereby reset their own buckets;
// size max_keys above the number of clients that are active within burst / rate seconds.
//
// A limiter with rate_per_second 0 is off: it admits everything and tracks nothing.
//
// Thread safety: every method is thread-safe (one mutex per limiter; each call is O(1)).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace weftkit::server {

struct TokenBucketSettings {
  double rate_per_second = 0;  // 0: off
  double burst = 1;            // > 0 when rate_per_second > 0
  std::size_t max_keys = 50000;
};

class TokenBucketLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` defaults to std::chrono::steady_clock::now; tests inject their own.
  explicit TokenBucketLimiter(TokenBucketSettings settings, Clock clock = {});
  TokenBucketLimiter(const TokenBucketLimiter&) = delete;
  TokenBucketLimiter& operator=(const TokenBucketLimiter&) = delete;

  bool enabled() const { return settings_.rate_per_second > 0; }

  // Admits and deducts `cost` (> 0) when the bucket of `key` holds min(cost, burst) tokens and
  // returns 0; otherwise deducts nothing and returns the whole seconds (at least 1) after which
  // the same call would be admitted.
  std::int64_t Take(std::string_view key, double cost);

  // 0 when the bucket of `key` holds at least one token, else the whole seconds until it does.
  // Deducts nothing.
  std::int64_t WaitFor(std::string_view key);

  // Deducts `cost` unconditionally, down to at most -burst.
  void Charge(std::string_view key, double cost);

  // Gives back `cost` tokens that Take deducted for a request that was refused elsewhere, up to
  // the burst.
  void Refund(std::string_view key, double cost);

  // Buckets currently tracked (for tests and metrics).
  std::size_t tracked_keys() const;

 private:
  struct Bucket {
    std::string key;
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  using Lru = std::list<Bucket>;

  // The bucket of `key`, refilled to now and moved to the recent end; created full if absent.
  Bucket& Touch(std::string_view key, std::chrono::steady_clock::time_point now);
  void Refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;
  void DropIdle(std::chrono::steady_clock::time_point now);
  std::int64_t SecondsUntil(double tokens_needed) const;

  const TokenBucketSettings settings_;
  const Clock clock_;
  mutable std::mutex mutex_;
  Lru lru_;                                                    // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> index_;  // views into lru_'s keys
};

}  // namespace weftkit::server
