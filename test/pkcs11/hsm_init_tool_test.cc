// weftkit-hsm-init initialises a usable token from PIN files and refuses PIN files that other
// users could read.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "pkcs11/hsm.h"
#include "test/support/softhsm_token.h"

namespace weftkit::pkcs11 {
namespace {

class HsmInitToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A fresh SoftHSM folder (and SOFTHSM2_CONF) whose second, free slot the tool initialises.
    token_ = test::SoftHsmToken::Create("existing");
    ASSERT_NE(token_, nullptr);
    so_pin_file_ = token_->dir() / "so.pin";
    pin_file_ = token_->dir() / "user.pin";
    WritePin(so_pin_file_, "so-pin-1234\n", 0600);
    WritePin(pin_file_, "user-pin-5678\n", 0600);
  }

  static void WritePin(const std::filesystem::path& path, const std::string& pin, mode_t mode) {
    std::ofstream(path) << pin;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  int RunTool(const std::string& label) {
    std::string command = std::string(WEFTKIT_HSM_INIT_PATH) + " --module " +
                          token_->module_path() + " --label " + label + " --so-pin-file " +
                          so_pin_file_.string() + " --pin-file " + pin_file_.string() +
                          " >/dev/null 2>&1";
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::unique_ptr<test::SoftHsmToken> token_;
  std::filesystem::path so_pin_file_;
  std::filesystem::path pin_file_;
};

TEST_F(HsmInitToolTest, Main_InitialisesATokenTheHsmCanOpen) {
  ASSERT_EQ(RunTool("kms-token"), 0);
  HsmConfig config;
  config.module_path = token_->module_path();
  config.token_label = "kms-token";
  config.pin = SecretBytes::CopyOf(std::string_view("user-pin-5678"));
  auto hsm = Hsm::Open(std::move(config));
  ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
  EXPECT_TRUE((*hsm)->CreateAesKey("k").ok());
}

TEST_F(HsmInitToolTest, Main_RefusesAPinFileOthersCanRead) {
  WritePin(pin_file_, "user-pin-5678\n", 0644);
  EXPECT_EQ(RunTool("kms-token"), 1);
}

TEST_F(HsmInitToolTest, Main_FailsUsageWithoutPinFiles) {
  std::string command =
      std::string(WEFTKIT_HSM_INIT_PATH) + " --module x --label y >/dev/null 2>&1";
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace weftkit::pkcs11
