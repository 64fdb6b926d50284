// SoftHsmToken: a fresh SoftHSM token in a private temporary folder, for one test process.
//
// Create() writes a softhsm2.conf that points SoftHSM at a new tokens/ folder, sets
// SOFTHSM2_CONF for this process (SoftHSM reads it at C_Initialize) and initialises a token with
// random SO and user PINs. The destructor deletes the folder. Tests therefore never see objects
// left by earlier runs or by other tests running in parallel processes.
//
// Thread safety: create tokens from one thread (setenv is process-wide); the accessors are const.
// Only one token at a time per process: the environment variable names just one config.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/secret_bytes.h"
#include "pkcs11/hsm.h"

namespace weftkit::test {

class SoftHsmToken {
 public:
  // The SoftHSM module shipped by Debian's softhsm2 package.
  static constexpr const char* kModulePath = "/usr/lib/softhsm/libsofthsm2.so";

  // Returns nullptr, after saying why on stderr, when the folder or the token cannot be made;
  // fixtures ASSERT_NE on it.
  static std::unique_ptr<SoftHsmToken> Create(std::string label = "weftkit-test");

  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;
  ~SoftHsmToken();

  std::string module_path() const { return kModulePath; }
  const std::string& label() const { return label_; }
  // The user PIN as text (for command-line tools) and as a secret (for HsmConfig).
  std::string pin() const { return pin_; }
  SecretBytes pin_secret() const { return SecretBytes::CopyOf(pin_); }
  std::string so_pin() const { return so_pin_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path conf_path() const { return dir_ / "softhsm2.conf"; }
  std::filesystem::path token_dir() const { return dir_ / "tokens"; }

  // The HsmConfig that opens this token by label with its user PIN.
  pkcs11::HsmConfig HsmConfigFor(std::size_t sessions = 4) const;
  // Opens this token through the project's PKCS#11 layer.
  Result<std::unique_ptr<pkcs11::Hsm>> OpenHsm(std::size_t sessions = 4) const;

 private:
  SoftHsmToken(std::filesystem::path dir, std::string label, std::string pin, std::string so_pin)
      : dir_(std::move(dir)),
        label_(std::move(label)),
        pin_(std::move(pin)),
        so_pin_(std::move(so_pin)) {}

  std::filesystem::path dir_;
  std::string label_;
  // Test PINs are random per run and not secret beyond it; plain strings keep tests readable.
  std::string pin_;
  std::string so_pin_;
};

}  // namespace weftkit::test
