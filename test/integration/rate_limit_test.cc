// Rate limits through the real kmsd over TLS 1.3: unwraps are counted per DEK, failed
// authentications and login attempts per source address, and a refusal is a 429 problem with
// Retry-After that unwraps nothing. Limits here are set tiny; the defaults never trip the suite.
#include <chrono>
#include <thread>

#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

class RateLimitTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    // One unwrap a second with a burst of five per principal; three authentication attempts.
    options.settings = {{"limits.unwrap_per_principal_per_s", "1"},
                        {"limits.unwrap_per_principal_burst", "5"},
                        {"limits.auth_per_source_per_s", "1"},
                        {"limits.auth_per_source_burst", "3"}};
    return options;
  }

  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
  }

  // `count` wrapped DEKs, made without plaintext (generating is not limited).
  nlohmann::json WrappedDeks(int count) {
    nlohmann::json items = nlohmann::json::array();
    for (int i = 0; i < count; ++i) items.push_back(nlohmann::json::object());
    HttpResponse made =
        Call(*engine_, "POST", "/v1/keys/orders/batch/generate-data-key-without-plaintext",
             {{"items", items}});
    EXPECT_EQ(made.status, 200) << made.body;
    nlohmann::json unwrap_items = nlohmann::json::array();
    nlohmann::json body = Json(made);
    for (const auto& result : body["results"]) {
      unwrap_items.push_back({{"wrapped", result["wrapped"]}});
    }
    EXPECT_EQ(unwrap_items.size(), static_cast<std::size_t>(count));
    return unwrap_items;
  }

  static void ExpectRateLimited(const HttpResponse& response) {
    EXPECT_EQ(response.status, 429) << response.body;
    EXPECT_EQ(Code(response), "rate_limited");
    EXPECT_EQ(response.Header("content-type"), "application/problem+json");
    std::string retry_after = response.Header("retry-after");
    ASSERT_FALSE(retry_after.empty());
    EXPECT_GE(std::stoi(retry_after), 1);
  }
};

TEST_F(RateLimitTest, BatchUnwrap_CountsDeks_AndRefusesBeyondTheBurst) {
  nlohmann::json items = WrappedDeks(6);
  ASSERT_EQ(items.size(), 6u);
  nlohmann::json first_five(items.begin(), items.begin() + 5);
  HttpResponse admitted =
      Call(*engine_, "POST", "/v1/keys/orders/batch/unwrap", {{"items", first_five}});
  ASSERT_EQ(admitted.status, 200) << admitted.body;
  EXPECT_EQ(Json(admitted)["results"].size(), 5u);

  // The bucket is empty after five DEKs in one request: the sixth, even alone, waits.
  HttpResponse refused = Call(*engine_, "POST", "/v1/keys/orders/unwrap", items[5]);
  ExpectRateLimited(refused);
  EXPECT_EQ(refused.body.find("plaintext"), std::string::npos);

  // Other principals have their own bucket; a key officer cannot unwrap anyway (403, not 429).
  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys/orders/unwrap", items[5]).status, 403);

  HttpResponse metrics = Call(*admin_, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("kms_rate_limited_total{limit=\"unwrap_principal\"} 1"),
            std::string::npos);
}

TEST_F(RateLimitTest, Unwrap_AdmittedAgain_AfterRetryAfter) {
  nlohmann::json items = WrappedDeks(7);
  ASSERT_EQ(items.size(), 7u);
  nlohmann::json five(items.begin(), items.begin() + 5);
  ASSERT_EQ(Call(*engine_, "POST", "/v1/keys/orders/batch/unwrap", {{"items", five}}).status, 200);
  HttpResponse refused = Call(*engine_, "POST", "/v1/keys/orders/unwrap", items[5]);
  ExpectRateLimited(refused);
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(refused.Header("retry-after"))));
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/orders/unwrap", items[5]).status, 200);
}

TEST_F(RateLimitTest, FailedTokens_BlockTheSource_EvenForGoodCredentials) {
  for (int i = 0; i < 3; ++i) {
    auto response = engine_->Send("GET", "/v1/keys", "", {{"authorization", "Bearer not.a.jwt"}});
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 401) << i;
  }
  ExpectRateLimited(Call(*engine_, "GET", "/v1/keys"));
  // Public routes stay open, so probes and operators still see the server.
  EXPECT_EQ(Call(*engine_, "GET", "/healthz").status, 200);
}

TEST_F(RateLimitTest, LoginAttempts_AreLimitedPerSource) {
  auto anonymous = kmsd_->Client("");
  ASSERT_NE(anonymous, nullptr);
  for (int i = 0; i < 3; ++i) {
    // Without SCRAM credentials the server only answers with its challenges, but each attempt
    // still counts.
    EXPECT_EQ(Call(*anonymous, "POST", "/v1/auth/scram").status, 401) << i;
  }
  ExpectRateLimited(Call(*anonymous, "POST", "/v1/auth/scram"));
}

TEST_F(RateLimitTest, RejectedClientCertificates_CountAsFailedAuthentications) {
  // Six failures drive the source to -3 tokens: four seconds before it may try again.
  for (int i = 0; i < 6; ++i) {
    // The handshake fails on the server; in TLS 1.3 the client may only notice on first use.
    auto rogue = kmsd_->Client("rogue");
    if (rogue != nullptr) {
      EXPECT_FALSE(rogue->Send("GET", "/healthz").ok());
    }
  }
  // The server counts a failed handshake after it has sent its alert, so the client can be
  // told before the count happens; give the server a moment.
  HttpResponse response;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    response = Call(*engine_, "GET", "/v1/keys");
    if (response.status == 429) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  ExpectRateLimited(response);
}

}  // namespace
}  // namespace weftkit::test
