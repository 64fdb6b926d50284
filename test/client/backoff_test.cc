// Exponential backoff with full jitter, and Retry-After parsing.
#include "client/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace weftkit::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffTest, DelayBefore_StaysUnderExponentialCap) {
  Backoff backoff(RetryPolicy{10, milliseconds(100), milliseconds(1000), milliseconds(60000)});
  for (int round = 0; round < 200; ++round) {
    EXPECT_LE(backoff.DelayBefore(1, std::nullopt), milliseconds(100));
    EXPECT_LE(backoff.DelayBefore(3, std::nullopt), milliseconds(400));
    EXPECT_LE(backoff.DelayBefore(20, std::nullopt), milliseconds(1000));
  }
}

TEST(BackoffTest, DelayBefore_IsJittered) {
  Backoff backoff(RetryPolicy{10, milliseconds(1000), milliseconds(1000), milliseconds(60000)});
  std::set<long long> seen;
  for (int round = 0; round < 50; ++round) seen.insert(backoff.DelayBefore(1, {}).count());
  EXPECT_GT(seen.size(), 10u);
}

TEST(BackoffTest, DelayBefore_HonoursRetryAfter) {
  Backoff backoff(RetryPolicy{10, milliseconds(10), milliseconds(20), milliseconds(60000)});
  EXPECT_GE(backoff.DelayBefore(1, seconds(2)), milliseconds(2000));
}

TEST(BackoffTest, ParseRetryAfter_AcceptsSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("1"), seconds(1));
  EXPECT_EQ(ParseRetryAfter("99999"), seconds(3600));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace weftkit::client
