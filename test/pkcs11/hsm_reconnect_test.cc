// An HSM that goes away and comes back: operations fail fast with kUnavailable while it is
// gone, ready() reports it, and Probe() or the next operation reconnects once it is back.
// The fault-injecting proxy module (test/support/faulty_pkcs11.cc) plays the failing device.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <thread>

#include "pkcs11/hsm.h"
#include "test/pkcs11/hsm_fixture.h"

namespace weftkit::pkcs11 {
namespace {

class HsmReconnectTest : public HsmFixture {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    trigger_ = token_->dir() / "hsm-gone";
    setenv("WEFTKIT_FAULTY_PKCS11_TRIGGER", trigger_.c_str(), 1);
    ASSERT_TRUE(OpenFaulty(std::chrono::milliseconds(0)));
    ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  }

  bool OpenFaulty(std::chrono::milliseconds reconnect_interval) {
    hsm_.reset();
    HsmConfig config = Config();
    config.module_path = WEFTKIT_FAULTY_PKCS11_PATH;
    config.reconnect_interval = reconnect_interval;
    auto hsm = Hsm::Open(std::move(config));
    EXPECT_TRUE(hsm.ok()) << hsm.error().ToString();
    if (hsm.ok()) hsm_ = std::move(hsm).value();
    return hsm.ok();
  }

  void RemoveDevice() { std::ofstream(trigger_).put('x'); }
  void RestoreDevice() { std::filesystem::remove(trigger_); }

  std::filesystem::path trigger_;
};

TEST_F(HsmReconnectTest, EncryptGcm_FailsUnavailableWhileTheDeviceIsGone) {
  RemoveDevice();
  auto result = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(result.error().code(), "hsm_unavailable");
  EXPECT_NE(result.error().detail().find("CKR_DEVICE_REMOVED"), std::string::npos)
      << result.error().detail();
  EXPECT_FALSE(hsm_->ready());
  EXPECT_FALSE(hsm_->Probe().ok());
  EXPECT_FALSE(hsm_->ready());
}

TEST_F(HsmReconnectTest, Probe_ReconnectsOnceTheDeviceIsBack) {
  auto ciphertext = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek"));
  ASSERT_TRUE(ciphertext.ok());
  RemoveDevice();
  ASSERT_FALSE(hsm_->DecryptGcm("orders-v1", iv_, aad_, *ciphertext).ok());
  ASSERT_FALSE(hsm_->ready());

  RestoreDevice();
  Status probe = hsm_->Probe();
  EXPECT_TRUE(probe.ok()) << probe.error().ToString();
  EXPECT_TRUE(hsm_->ready());
  // The key survived on the token; the reconnected sessions are logged in and can use it.
  auto plaintext = hsm_->DecryptGcm("orders-v1", iv_, aad_, *ciphertext);
  ASSERT_TRUE(plaintext.ok()) << plaintext.error().ToString();
  EXPECT_EQ(plaintext->expose_chars(), "dek");
}

TEST_F(HsmReconnectTest, EncryptGcm_ReconnectsByItselfOnceTheDeviceIsBack) {
  RemoveDevice();
  ASSERT_FALSE(hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek")).ok());
  RestoreDevice();
  auto result = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek"));
  EXPECT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_TRUE(hsm_->ready());
}

TEST_F(HsmReconnectTest, Probe_DetectsADeviceThatWentAwayWhileIdle) {
  ASSERT_TRUE(hsm_->Probe().ok());
  RemoveDevice();
  Status probe = hsm_->Probe();
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.error().code(), "hsm_unavailable");
  EXPECT_FALSE(hsm_->ready());
}

TEST_F(HsmReconnectTest, Reconnect_RepeatsTheLastOutcomeWithinTheInterval) {
  ASSERT_TRUE(OpenFaulty(std::chrono::seconds(60)));
  RemoveDevice();
  ASSERT_FALSE(hsm_->Reconnect().ok());
  RestoreDevice();
  // Within the interval the device is not asked again, so the failure stands.
  EXPECT_FALSE(hsm_->Reconnect().ok());
  EXPECT_FALSE(hsm_->Probe().ok());
  EXPECT_FALSE(hsm_->ready());
}

TEST_F(HsmReconnectTest, EncryptGcm_ConcurrentCallersAllRecover) {
  RemoveDevice();
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        auto result = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek"));
        if (!result.ok() && result.error().kind() != ErrorKind::kUnavailable) ++unexpected;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  RestoreDevice();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);

  auto after = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes("dek"));
  EXPECT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_TRUE(hsm_->ready());
}

// SoftHSM itself, no proxy, with its token files taken away (the directory renamed, as when a
// volume is unmounted): SoftHSM then finds no objects and answers C_GetTokenInfo with
// CKR_GENERAL_ERROR until Cryptoki is initialised again. Found by test/faults.
TEST_F(HsmReconnectTest, TokenFilesGone_UnavailableNotNotFoundThenRecovers) {
  hsm_.reset();
  auto opened = token_->OpenHsm();
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  hsm_ = std::move(opened).value();
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v2").ok());
  auto before = hsm_->EncryptGcm("orders-v2", iv_, aad_, Bytes("dek"));
  ASSERT_TRUE(before.ok());

  const std::filesystem::path away = token_->token_dir().string() + ".away";
  std::filesystem::rename(token_->token_dir(), away);
  auto during = hsm_->EncryptGcm("orders-v2", iv_, aad_, Bytes("dek"));
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code(), "hsm_unavailable") << during.error().ToString();
  EXPECT_FALSE(hsm_->Probe().ok());
  EXPECT_FALSE(hsm_->ready());

  std::filesystem::rename(away, token_->token_dir());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the reconnect interval
  EXPECT_TRUE(hsm_->Probe().ok());
  auto after = hsm_->DecryptGcm("orders-v2", iv_, aad_, *before);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->expose().size(), 3u);
}

}  // namespace
}  // namespace weftkit::pkcs11
