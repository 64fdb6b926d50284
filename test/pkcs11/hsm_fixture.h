// HsmFixture: a fresh SoftHSM token and an Hsm logged in to it, for every test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "pkcs11/hsm.h"
#include "test/support/softhsm_token.h"

namespace weftkit::pkcs11 {

inline std::vector<std::uint8_t> Bytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

class HsmFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = Hsm::Open(Config());
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
  }

  HsmConfig Config() const {
    HsmConfig config;
    config.module_path = token_->module_path();
    config.token_label = token_->label();
    config.pin = token_->pin_secret();
    return config;
  }

  const std::vector<std::uint8_t> iv_ = Bytes("0123456789ab");  // 12 bytes
  const std::vector<std::uint8_t> aad_ = Bytes("key=orders;version=1");
  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<Hsm> hsm_;  // declared after token_: closed before the token folder goes
};

}  // namespace weftkit::pkcs11
