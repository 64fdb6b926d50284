// The HTTPS front end of the real kmsd: TLS 1.3 only, client certificates, limits, health,
// readiness through an HSM outage, metrics, and refusal of insecure configurations.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using TransportTest = KmsdTest;

TEST_F(TransportTest, Handshake_NegotiatesTls13) {
  EXPECT_EQ(engine_->negotiated_version(), "TLSv1.3");
  HttpResponse health = Call(*engine_, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Header("x-request-id").size(), 32u);
}

TEST_F(TransportTest, Handshake_Fails_ForTls12Client) {
  ClientOptions options;
  options.ca_file = kmsd_->pki("ca.pem").string();
  options.cert_file = kmsd_->pki("engine.pem").string();
  options.key_file = kmsd_->pki("engine.key").string();
  options.min_tls = TLS1_2_VERSION;
  options.max_tls = TLS1_2_VERSION;
  EXPECT_FALSE(HttpsClient::Connect("127.0.0.1", kmsd_->port(), options).ok());
}

TEST_F(TransportTest, Handshake_Fails_ForCertificateFromUntrustedCa) {
  auto rogue = kmsd_->Client("rogue");
  // TLS 1.3 clients learn of the refusal on their first read, after the handshake completed.
  if (rogue != nullptr) {
    EXPECT_FALSE(rogue->Send("GET", "/healthz").ok());
  }
}

TEST_F(TransportTest, NoClientCertificate_OnlyPublicRoutesAnswer) {
  auto anonymous = kmsd_->Client("");
  ASSERT_NE(anonymous, nullptr);
  EXPECT_EQ(Call(*anonymous, "GET", "/healthz").status, 200);
  EXPECT_EQ(Call(*anonymous, "GET", "/readyz").status, 200);
  HttpResponse keys = Call(*anonymous, "GET", "/v1/keys");
  EXPECT_EQ(keys.status, 401);
  EXPECT_EQ(Code(keys), "credentials_required");
  EXPECT_EQ(Call(*anonymous, "POST", "/v1/keys/orders/unwrap", {{"wrapped", "AAAA"}}).status, 401);
  EXPECT_EQ(Call(*anonymous, "GET", "/metrics").status, 401);
}

TEST_F(TransportTest, RequestIds_AreUniquePerRequest) {
  std::string first = Call(*engine_, "GET", "/healthz").Header("x-request-id");
  std::string second = Call(*engine_, "GET", "/healthz").Header("x-request-id");
  EXPECT_FALSE(first.empty());
  EXPECT_NE(first, second);
  HttpResponse missing = Call(*engine_, "GET", "/v1/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json(missing)["request_id"], missing.Header("x-request-id"));
}

TEST_F(TransportTest, OversizedBody_Gets413) {
  std::string big(2 * 1024 * 1024, 'a');
  auto response = officer_->Send("POST", "/v1/keys", big, {{"content-type", "application/json"}});
  // The server may answer 413 and close, or close while we are still writing.
  if (response.ok()) {
    EXPECT_EQ(response->status, 413);
  }
  auto fresh = kmsd_->Client("officer");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(Call(*fresh, "GET", "/healthz").status, 200);
}

TEST_F(TransportTest, Metrics_CountRequestsForOperators) {
  CreateKey("orders");
  HttpResponse forbidden = Call(*engine_, "GET", "/metrics");
  EXPECT_EQ(forbidden.status, 403);
  HttpResponse metrics = Call(*officer_, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("http_requests_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("route=\"/v1/keys\""), std::string::npos);
  EXPECT_NE(metrics.body.find("http_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(TransportTest, Sigterm_StopsCleanly) {
  EXPECT_EQ(kmsd_->Stop(), 0);
  EXPECT_NE(kmsd_->Log().find("kmsd_stopped"), std::string::npos);
}

// kmsd pointed at the fault-injecting PKCS#11 proxy in front of SoftHSM, to take the HSM away.
class HsmOutageTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    trigger_ = std::filesystem::temp_directory_path() /
               ("weftkit-hsm-trigger-" + std::to_string(::getpid()));
    std::filesystem::remove(trigger_);
    ::setenv("WEFTKIT_FAULTY_PKCS11_TRIGGER", trigger_.c_str(), 1);
    KmsdOptions options;
    options.module_path = WEFTKIT_FAULTY_MODULE;
    return options;
  }
  void TearDown() override { std::filesystem::remove(trigger_); }

  std::filesystem::path trigger_;
};

TEST_F(HsmOutageTest, HsmAway_FailsFastThenRecoversByItself) {
  CreateKey("orders");
  nlohmann::json item = {{"context", {{"t", "1"}}}};
  ASSERT_EQ(Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", item).status, 200);

  std::ofstream(trigger_).put('x');
  HttpResponse failed = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", item);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(Code(failed), "hsm_unavailable");
  EXPECT_FALSE(failed.Header("retry-after").empty());
  EXPECT_EQ(Call(*engine_, "GET", "/readyz").status, 503);

  std::filesystem::remove(trigger_);
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Call(*engine_, "GET", "/readyz").status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", item).status, 200);
}

// The token chosen by an RFC 7512 URI and the PIN read from an environment variable.
class TokenUriTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    options.token_by_uri = true;
    options.pin_in_environment = true;
    return options;
  }
};

TEST_F(TokenUriTest, TokenByUriAndPinFromEnvironment_Serve) {
  EXPECT_NE(kmsd_->Log().find("pkcs11:token="), std::string::npos);
  CreateKey("orders");
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/orders/generate-data-key").status, 200);
}

TEST(KmsdConfigTest, Start_Fails_NamingAnInsecureSetting) {
  KmsdOptions options;
  options.settings["tls.min_version"] = "1.2";
  try {
    KmsdProcess::Start(options);
    ADD_FAILURE() << "kmsd started with TLS 1.2 allowed";
  } catch (const std::exception& failure) {
    EXPECT_NE(std::string(failure.what()).find("tls.min_version"), std::string::npos)
        << failure.what();
  }
}

}  // namespace
}  // namespace weftkit::test
