#include "test/support/softhsm_token.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "pkcs11/hsm.h"
#include "test/support/temp_dir.h"
#include "test/support/test_recorder.h"

namespace weftkit::test {
namespace {

std::string RandomPin() {
  std::array<unsigned char, 8> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) return {};
  std::string pin;
  char hex[3];
  for (unsigned char byte : bytes) {
    std::snprintf(hex, sizeof(hex), "%02x", byte);
    pin += hex;
  }
  return pin;
}

bool WriteConfig(const std::filesystem::path& dir) {
  std::filesystem::create_directory(dir / "tokens");
  std::ofstream conf(dir / "softhsm2.conf");
  conf << "directories.tokendir = " << (dir / "tokens").string() << "\n"
       << "objectstore.backend = file\n"
       << "log.level = ERROR\n"
       << "slots.removable = false\n";
  return static_cast<bool>(conf);
}

}  // namespace

std::unique_ptr<SoftHsmToken> SoftHsmToken::Create(std::string label) {
  std::filesystem::path dir = testing::MakeTempDir("weftkit-softhsm");
  if (dir.empty()) {
    std::cerr << "SoftHsmToken: cannot make a temporary directory\n";
    return nullptr;
  }
  std::unique_ptr<SoftHsmToken> token(
      new SoftHsmToken(dir, std::move(label), RandomPin(), RandomPin()));
  if (token->pin_.empty() || !WriteConfig(token->dir_)) {
    std::cerr << "SoftHsmToken: cannot write the SoftHSM configuration\n";
    return nullptr;
  }
  setenv("SOFTHSM2_CONF", token->conf_path().c_str(), /*overwrite=*/1);
  // Neither PIN may ever reach a log line or a response (the secret-leak scan checks).
  TestRecorder::RegisterSecret(SecretKind::kNever, token->pin_);
  TestRecorder::RegisterSecret(SecretKind::kNever, token->so_pin_);

  Status status =
      pkcs11::Hsm::InitToken(kModulePath, token->label_, SecretBytes::CopyOf(token->so_pin_),
                             SecretBytes::CopyOf(token->pin_));
  if (!status.ok()) {
    std::cerr << "SoftHsmToken: " << status.error().ToString() << "\n";
    return nullptr;
  }
  return token;
}

SoftHsmToken::~SoftHsmToken() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

pkcs11::HsmConfig SoftHsmToken::HsmConfigFor(std::size_t sessions) const {
  pkcs11::HsmConfig config;
  config.module_path = module_path();
  config.token_label = label();
  config.pin = pin_secret();
  config.sessions = sessions;
  return config;
}

Result<std::unique_ptr<pkcs11::Hsm>> SoftHsmToken::OpenHsm(std::size_t sessions) const {
  return pkcs11::Hsm::Open(HsmConfigFor(sessions));
}

}  // namespace weftkit::test
