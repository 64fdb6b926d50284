// JwtFixture: a TokenService over a fresh SoftHSM token and a real SQLite file, with a clock the
// test drives, plus helpers that sign arbitrary headers and claims with a ring key in the HSM.
// Those let a test build tokens the issuer would never produce (missing exp, wrong typ...) that
// still carry a valid signature, so each refusal is reached by its own check alone.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/token_service.h"
#include "common/base64.h"
#include "pkcs11/hsm.h"
#include "store/database.h"
#include "test/support/softhsm_token.h"

namespace weftkit::auth {

class JwtFixture : public ::testing::Test {
 protected:
  static constexpr std::int64_t kStart = 1'800'000'000;
  static constexpr std::int64_t kMaxLifetime = 900;
  static constexpr std::int64_t kLeeway = 30;
  static constexpr const char* kIssuer = "https://kms.weftkit.test";
  static constexpr const char* kAudience = "https://kms.weftkit.test/api";
  static constexpr const char* kPrincipal = "spiffe://weftkit.dev/engine/orders";

  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm(/*sessions=*/2);
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    db_path_ = token_->dir() / "kms.db";
    OpenService();
  }

  void TearDown() override {
    service_.reset();
    hsm_.reset();
  }

  TokenPolicy Policy() {
    TokenPolicy policy;
    policy.issuer = kIssuer;
    policy.audience = kAudience;
    policy.extra_audiences = {"https://pool-manager.weftkit.test"};
    policy.max_lifetime_s = kMaxLifetime;
    policy.leeway_s = kLeeway;
    policy.now = [this] { return now_.load(); };
    return policy;
  }

  // (Re)opens the database and the service, as a server restart would.
  void OpenService() {
    service_.reset();
    auto database = store::Database::Open(db_path_);
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
    auto service = TokenService::Create(*hsm_, database_, Policy());
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();
  }

  std::string Issue(std::int64_t lifetime = kMaxLifetime) {
    auto issued = service_->Issue(kPrincipal, "", lifetime, AuthMethod::kMtls);
    EXPECT_TRUE(issued.ok()) << issued.error().ToString();
    if (!issued.ok()) return {};
    return std::string(issued->access_token.expose_chars());
  }

  nlohmann::ordered_json Header() {
    return {{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", service_->keys().ActiveKey().kid}};
  }

  nlohmann::ordered_json Claims() {
    const std::int64_t now = now_.load();
    return {{"iss", kIssuer},
            {"sub", kPrincipal},
            {"aud", kAudience},
            {"iat", now},
            {"nbf", now},
            {"exp", now + 600},
            {"jti", "AAAAAAAAAAAAAAAAAAAAAA"},
            {"auth_method", "mtls"}};
  }

  // BASE64URL(header) "." BASE64URL(claims) "." ES256 signature by the HSM key `label`
  // (the active key by default), over exactly the given JSON texts.
  std::string SignText(const std::string& header, const std::string& claims,
                       std::string label = {}) {
    if (label.empty()) label = service_->keys().ActiveKey().hsm_label;
    const std::string input =
        Base64UrlEncode(AsBytes(header)) + "." + Base64UrlEncode(AsBytes(claims));
    auto signature = hsm_->SignEcdsaSha256(label, AsBytes(input));
    EXPECT_TRUE(signature.ok()) << signature.error().ToString();
    if (!signature.ok()) return {};
    return input + "." + Base64UrlEncode(*signature);
  }

  std::string Sign(const nlohmann::ordered_json& header, const nlohmann::ordered_json& claims,
                   std::string label = {}) {
    return SignText(header.dump(), claims.dump(), std::move(label));
  }

  // Expects `token` to be refused with kUnauthenticated `code`, and the error not to quote the
  // token or any of its parts.
  void ExpectRefused(const std::string& token, const std::string& code) {
    auto verified = service_->Verify(token);
    ASSERT_FALSE(verified.ok()) << "accepted a token that should fail with " << code;
    EXPECT_EQ(verified.error().kind(), ErrorKind::kUnauthenticated);
    EXPECT_EQ(verified.error().code(), code) << verified.error().ToString();
    std::size_t start = 0;
    while (start < token.size()) {
      std::size_t end = token.find('.', start);
      if (end == std::string::npos) end = token.size();
      if (end - start >= 8) {
        EXPECT_EQ(verified.error().ToString().find(token.substr(start, end - start)),
                  std::string::npos)
            << "error quotes the token";
      }
      start = end + 1;
    }
  }

  void ExpectAccepted(const std::string& token) {
    auto verified = service_->Verify(token);
    EXPECT_TRUE(verified.ok()) << verified.error().ToString();
  }

  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::filesystem::path db_path_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<TokenService> service_;
  std::atomic<std::int64_t> now_{kStart};
};

}  // namespace weftkit::auth
