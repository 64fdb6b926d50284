// KmsdTest: a fixture with a running kmsd and clients for its three kinds of caller, plus
// helpers that send JSON and read JSON back.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "test/integration/kmsd_process.h"

namespace weftkit::test {

class KmsdTest : public ::testing::Test {
 protected:
  // Overridden by fixtures that need other settings.
  virtual KmsdOptions Options() { return {}; }

  void SetUp() override {
    kmsd_ = KmsdProcess::Start(Options());
    admin_ = kmsd_->Client("admin");
    officer_ = kmsd_->Client("officer");
    engine_ = kmsd_->Client("engine");
    ASSERT_NE(admin_, nullptr);
    ASSERT_NE(officer_, nullptr);
    ASSERT_NE(engine_, nullptr);
    // The configured first administrator grants the other two test identities their roles.
    Bind(kOfficer, "key-officer");
    Bind(kEngine, "engine");
  }

  // Registers `principal` (if new) and binds it to `role`, as the administrator.
  void Bind(const std::string& principal, const std::string& role) {
    HttpResponse created = Call(*admin_, "POST", "/v1/principals", {{"id", principal}});
    ASSERT_TRUE(created.status == 201 || created.status == 409) << created.body;
    HttpResponse bound =
        Call(*admin_, "POST", "/v1/bindings", {{"principal", principal}, {"role", role}});
    ASSERT_TRUE(bound.status == 200 || bound.status == 201) << bound.status << bound.body;
  }

  static constexpr const char* kAdmin = "spiffe://weftkit.dev/admin/first-admin";
  static constexpr const char* kOfficer = "spiffe://weftkit.dev/officer/alice";
  static constexpr const char* kEngine = "spiffe://weftkit.dev/engine/orders";

  // Sends `body` (omitted when null) and returns the response; fails the test if the
  // connection breaks.
  HttpResponse Call(HttpsClient& client, const std::string& method, const std::string& path,
                    const nlohmann::json& body = nullptr) {
    std::string text = body.is_null() ? "" : body.dump();
    auto response = client.Send(method, path, text, {{"content-type", "application/json"}});
    EXPECT_TRUE(response.ok()) << method << " " << path << ": " << response.error().ToString();
    return response.ok() ? std::move(response).value() : HttpResponse{};
  }

  static nlohmann::json Json(const HttpResponse& response) {
    return nlohmann::json::parse(response.body, nullptr, false);
  }

  // The "code" of a problem response.
  static std::string Code(const HttpResponse& response) {
    nlohmann::json body = Json(response);
    return body.is_object() && body.contains("code") ? body["code"].get<std::string>() : "";
  }

  void CreateKey(const std::string& name) {
    HttpResponse created = Call(*officer_, "POST", "/v1/keys", {{"name", name}});
    ASSERT_EQ(created.status, 201) << created.body;
  }

  std::unique_ptr<KmsdProcess> kmsd_;
  std::unique_ptr<HttpsClient> admin_;
  std::unique_ptr<HttpsClient> officer_;
  std::unique_ptr<HttpsClient> engine_;
};

}  // namespace weftkit::test
