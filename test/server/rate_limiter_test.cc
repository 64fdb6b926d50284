// The rate limits' arithmetic, with a clock the test moves by hand: how many requests a bucket
// admits, when it admits again, what Retry-After says, and that the table of buckets stays
// bounded however many clients appear.
#include "server/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

#include "server/metrics.h"
#include "server/rate_limits.h"

namespace weftkit::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RateLimiterTest : public ::testing::Test {
 protected:
  TokenBucketLimiter::Clock clock() {
    return [this] { return now_; };
  }
  TokenBucketLimiter Limiter(double rate, double burst, std::size_t max_keys = 100) {
    return TokenBucketLimiter({.rate_per_second = rate, .burst = burst, .max_keys = max_keys},
                              clock());
  }

  std::chrono::steady_clock::time_point now_{seconds(1000)};
};

TEST_F(RateLimiterTest, Take_AdmitsBurst_ThenRefusesWithRetryAfter) {
  auto limiter = Limiter(2, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("a", 1), 0) << i;
  // Empty: one token arrives after 0.5 s, rounded up to whole seconds.
  EXPECT_EQ(limiter.Take("a", 1), 1);
}

TEST_F(RateLimiterTest, Take_AdmitsAgain_AfterRefill) {
  auto limiter = Limiter(2, 5);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(limiter.Take("a", 1), 0);
  now_ += milliseconds(499);
  EXPECT_GT(limiter.Take("a", 1), 0);
  now_ += milliseconds(2);
  EXPECT_EQ(limiter.Take("a", 1), 0);
  EXPECT_GT(limiter.Take("a", 1), 0);
}

TEST_F(RateLimiterTest, Take_NeverRefillsAboveBurst) {
  auto limiter = Limiter(10, 3);
  ASSERT_EQ(limiter.Take("a", 1), 0);
  now_ += seconds(3600);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a", 1), 0) << i;
  EXPECT_GT(limiter.Take("a", 1), 0);
}

TEST_F(RateLimiterTest, Take_KeepsKeysApart) {
  auto limiter = Limiter(1, 1);
  EXPECT_EQ(limiter.Take("a", 1), 0);
  EXPECT_GT(limiter.Take("a", 1), 0);
  EXPECT_EQ(limiter.Take("b", 1), 0);
}

TEST_F(RateLimiterTest, Take_RetryAfterCoversTheWholeCost) {
  auto limiter = Limiter(10, 100);
  ASSERT_EQ(limiter.Take("a", 100), 0);
  // 55 tokens at 10 per second: 5.5 s, rounded up.
  EXPECT_EQ(limiter.Take("a", 55), 6);
  now_ += seconds(6);
  EXPECT_EQ(limiter.Take("a", 55), 0);
}

TEST_F(RateLimiterTest, Take_CostAboveBurst_AdmittedFromFullBucketAndLeavesDebt) {
  auto limiter = Limiter(10, 100);
  EXPECT_EQ(limiter.Take("a", 250), 0);
  // 100 - 250 = -150; one token needs 151 / 10 s.
  EXPECT_EQ(limiter.Take("a", 1), 16);
  now_ += seconds(16);
  EXPECT_EQ(limiter.Take("a", 1), 0);
}

TEST_F(RateLimiterTest, Take_RefusedRequest_DeductsNothing) {
  auto limiter = Limiter(1, 10);
  ASSERT_EQ(limiter.Take("a", 8), 0);
  EXPECT_GT(limiter.Take("a", 5), 0);
  EXPECT_EQ(limiter.Take("a", 2), 0);
}

TEST_F(RateLimiterTest, Take_AdmitsEverything_WhenRateIsZero) {
  auto limiter = Limiter(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Take("a", 1000), 0);
  EXPECT_EQ(limiter.WaitFor("a"), 0);
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST_F(RateLimiterTest, Charge_GoesNegative_ButNotBelowMinusBurst) {
  auto limiter = Limiter(1, 3);
  for (int i = 0; i < 100; ++i) limiter.Charge("a", 1);
  // At -3: four tokens to one, four seconds, however many failures there were.
  EXPECT_EQ(limiter.WaitFor("a"), 4);
  now_ += seconds(4);
  EXPECT_EQ(limiter.WaitFor("a"), 0);
}

TEST_F(RateLimiterTest, WaitFor_DeductsNothing_AndTracksNoNewKey) {
  auto limiter = Limiter(1, 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.WaitFor("a"), 0);
  EXPECT_EQ(limiter.tracked_keys(), 0u);
  EXPECT_EQ(limiter.Take("a", 1), 0);
}

TEST_F(RateLimiterTest, Refund_RestoresTokens_UpToBurst) {
  auto limiter = Limiter(1, 2);
  ASSERT_EQ(limiter.Take("a", 2), 0);
  limiter.Refund("a", 5);
  EXPECT_EQ(limiter.Take("a", 2), 0);
  EXPECT_GT(limiter.Take("a", 1), 0);
}

TEST_F(RateLimiterTest, Table_StaysBounded_UnderManyKeys) {
  auto limiter = Limiter(1, 10, /*max_keys=*/50);
  for (int i = 0; i < 10000; ++i) limiter.Take("client-" + std::to_string(i), 1);
  EXPECT_LE(limiter.tracked_keys(), 50u);
}

TEST_F(RateLimiterTest, Table_DropsBucketsThatRefilled) {
  auto limiter = Limiter(10, 10);
  for (int i = 0; i < 20; ++i) limiter.Take("client-" + std::to_string(i), 1);
  EXPECT_EQ(limiter.tracked_keys(), 20u);
  now_ += seconds(1);  // every bucket is full again
  for (int i = 0; i < 20; ++i) limiter.Take("other", 1);
  EXPECT_LE(limiter.tracked_keys(), 2u);
}

TEST_F(RateLimiterTest, Table_KeepsRecentlyUsedKeys_WhenEvicting) {
  auto limiter = Limiter(1, 1, /*max_keys=*/3);
  ASSERT_EQ(limiter.Take("busy", 1), 0);
  for (int i = 0; i < 10; ++i) {
    limiter.Take("new-" + std::to_string(i), 1);
    // Touching "busy" keeps it at the recent end, so its empty bucket is never evicted.
    EXPECT_GT(limiter.Take("busy", 1), 0) << i;
  }
}

class RateLimitsTest : public RateLimiterTest {
 protected:
  std::unique_ptr<RateLimits> Limits(const RateLimitSettings& settings) {
    auto limits = RateLimits::Create(settings, metrics_, clock());
    EXPECT_TRUE(limits.ok());
    return limits.ok() ? std::move(limits).value() : nullptr;
  }
  Metrics metrics_;
};

TEST_F(RateLimitsTest, SourceAddress_DropsThePort) {
  EXPECT_EQ(SourceAddress("127.0.0.1:43210"), "127.0.0.1");
  EXPECT_EQ(SourceAddress("[::1]:443"), "::1");
  EXPECT_EQ(SourceAddress("[2001:db8::7]:1"), "2001:db8::7");
}

TEST_F(RateLimitsTest, SourceKey_IsTheIpv4Address_OrTheIpv6Slash64) {
  EXPECT_EQ(SourceKey("192.0.2.7:43210"), "192.0.2.7");
  EXPECT_EQ(SourceKey("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceKey("[2001:db8:1:2::1]:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceKey("[2001:db8:1:3::1]:443"), "2001:db8:1:3::/64");
  EXPECT_EQ(SourceKey("[::1]:443"), "::/64");
  // Asio writes IPv4 peers of a dual-stack listener IPv4-mapped; they stay apart.
  EXPECT_EQ(SourceKey("[::ffff:192.0.2.7]:1"), "192.0.2.7");
  EXPECT_EQ(SourceKey("[::ffff:192.0.2.8]:1"), "192.0.2.8");
  EXPECT_EQ(SourceKey("[fe80::1%eth0]:1"), "fe80::/64%eth0");
  EXPECT_EQ(SourceKey("[fe80::2%eth1]:1"), "fe80::/64%eth1");
  EXPECT_EQ(SourceKey("unknown"), "unknown");
  EXPECT_EQ(SourceKey("[not-an-address]:1"), "not-an-address");
}

TEST_F(RateLimitsTest, FailedAuthentications_BlockTheWholeIpv6Slash64_NotTheNext) {
  RateLimitSettings settings;
  settings.auth_per_source = {1, 3};
  auto limits = Limits(settings);
  ASSERT_NE(limits, nullptr);
  // Three different addresses of one /64 share one bucket.
  for (int i = 1; i <= 3; ++i) {
    limits->RecordFailedAuthentication("[2001:db8:0:1::" + std::to_string(i) + "]:5000");
  }
  std::optional<RateRefusal> refused = limits->CheckSource("[2001:db8:0:1:ffff::9]:1");
  ASSERT_TRUE(refused);
  EXPECT_STREQ(refused->limit, "auth_source");
  EXPECT_TRUE(limits->AdmitLogin("[2001:db8:0:1::77]:2"));
  EXPECT_FALSE(limits->CheckSource("[2001:db8:0:2::1]:1"));
  EXPECT_FALSE(limits->AdmitLogin("[2001:db8:0:2::1]:1"));
}

TEST_F(RateLimitsTest, AdmitUnwrap_CountsEachDek_AndIsCountedInMetrics) {
  RateLimitSettings settings;
  settings.unwrap_per_principal = {100, 1000};
  auto limits = Limits(settings);
  ASSERT_NE(limits, nullptr);
  EXPECT_FALSE(limits->AdmitUnwrap("10.0.0.1:5", "engine", 600));
  std::optional<RateRefusal> refused = limits->AdmitUnwrap("10.0.0.1:6", "engine", 600);
  ASSERT_TRUE(refused);
  EXPECT_STREQ(refused->limit, "unwrap_principal");
  EXPECT_EQ(refused->retry_after_s, 2);  // 200 missing at 100 per second
  EXPECT_FALSE(limits->AdmitUnwrap("10.0.0.1:6", "other-engine", 600));
  EXPECT_NE(metrics_.Render().find("kms_rate_limited_total{limit=\"unwrap_principal\"} 1"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(RateLimitsTest, AdmitUnwrap_RefusedBySource_ChargesNeitherBucket) {
  RateLimitSettings settings;
  settings.unwrap_per_source = {1, 10};
  settings.unwrap_per_principal = {1, 10};
  auto limits = Limits(settings);
  ASSERT_NE(limits, nullptr);
  ASSERT_FALSE(limits->AdmitUnwrap("10.0.0.1:5", "a", 10));
  // The source is empty; principal "b" must not pay for the refusal.
  ASSERT_TRUE(limits->AdmitUnwrap("10.0.0.1:5", "b", 10));
  EXPECT_FALSE(limits->AdmitUnwrap("10.0.0.2:5", "b", 10));
}

TEST_F(RateLimitsTest, FailedAuthentications_BlockTheSource_NotOthers) {
  RateLimitSettings settings;
  settings.auth_per_source = {1, 3};
  auto limits = Limits(settings);
  ASSERT_NE(limits, nullptr);
  EXPECT_FALSE(limits->CheckSource("10.0.0.1:1"));
  for (int i = 0; i < 3; ++i) limits->RecordFailedAuthentication("10.0.0.1:" + std::to_string(i));
  std::optional<RateRefusal> refused = limits->CheckSource("10.0.0.1:99");
  ASSERT_TRUE(refused);
  EXPECT_STREQ(refused->limit, "auth_source");
  EXPECT_TRUE(limits->AdmitLogin("10.0.0.1:100"));
  EXPECT_FALSE(limits->CheckSource("10.0.0.2:1"));
  now_ += seconds(1);
  EXPECT_FALSE(limits->CheckSource("10.0.0.1:99"));
}

TEST_F(RateLimitsTest, ZeroRates_TurnEveryLimitOff) {
  RateLimitSettings settings;
  settings.auth_per_source = {0, 1};
  settings.auth_per_principal = {0, 1};
  settings.unwrap_per_source = {0, 1};
  settings.unwrap_per_principal = {0, 1};
  auto limits = Limits(settings);
  ASSERT_NE(limits, nullptr);
  for (int i = 0; i < 100; ++i) {
    limits->RecordFailedAuthentication("10.0.0.1:1");
    ASSERT_FALSE(limits->AdmitLogin("10.0.0.1:1"));
    ASSERT_FALSE(limits->AdmitLoginPrincipal("p"));
    ASSERT_FALSE(limits->AdmitUnwrap("10.0.0.1:1", "p", 100000));
  }
  EXPECT_FALSE(limits->CheckSource("10.0.0.1:1"));
}

TEST_F(RateLimitsTest, RateLimitedResponse_Is429WithRetryAfter) {
  Response response = RateLimitedResponse({"auth_source", 7}, "req-1");
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_NE(response.body.find("\"code\":\"rate_limited\""), std::string::npos);
  bool found = false;
  for (const auto& [name, value] : response.headers) {
    if (name == "Retry-After") found = value == "7";
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace weftkit::server
