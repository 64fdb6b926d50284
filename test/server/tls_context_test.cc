// TlsContext refuses to build an insecure or inconsistent context, and enforces the TLS 1.3
// policy on the context it builds.
#include "server/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "test/support/softhsm_token.h"
#include "test/support/test_pki.h"

// libp11's engine allocates its key methods again while OpenSSL tears engines down at exit and
// never frees them; the leak is in the library, after main returns, not in the server.
// Full unwinding lets the suppression see the library frames.
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() {
  return "leak:EVP_PKEY_meth_new\nleak:RSA_meth_dup\nleak:EC_KEY_METHOD_new\n";
}

namespace weftkit::server {
namespace {

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = test::TestPki::Create();
    ASSERT_NE(pki_, nullptr);
  }

  TlsContextSettings ValidSettings() const {
    TlsContextSettings settings;
    settings.cert_file = pki_->path("server.pem");
    settings.key_file = pki_->path("server.key");
    settings.client_ca_files = {pki_->path("ca.pem")};
    return settings;
  }

  std::string CreateError(const TlsContextSettings& settings) const {
    auto context = TlsContext::Create(settings);
    return context.ok() ? "ok" : context.error().code();
  }

  std::unique_ptr<test::TestPki> pki_;
};

TEST_F(TlsContextTest, Create_AppliesTls13OnlyPolicy) {
  auto context = TlsContext::Create(ValidSettings());
  ASSERT_TRUE(context.ok()) << context.error().ToString();
  SSL_CTX* ctx = (*context)->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
  EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0u);
}

TEST_F(TlsContextTest, Create_Fails_WhenKeyFileReadableByOthers) {
  ASSERT_EQ(::chmod(pki_->path("server.key").c_str(), 0644), 0);
  EXPECT_EQ(CreateError(ValidSettings()), "tls_key_file_unsafe");
}

TEST_F(TlsContextTest, Create_Fails_WhenKeyFileReadableByGroup) {
  ASSERT_EQ(::chmod(pki_->path("server.key").c_str(), 0640), 0);
  EXPECT_EQ(CreateError(ValidSettings()), "tls_key_file_unsafe");
}

TEST_F(TlsContextTest, Create_Fails_WhenKeyIsNotRegularFile) {
  std::filesystem::create_directory(pki_->path("keydir"));
  ::chmod(pki_->path("keydir").c_str(), 0700);
  TlsContextSettings settings = ValidSettings();
  settings.key_file = pki_->path("keydir");
  EXPECT_EQ(CreateError(settings), "tls_key_file_unsafe");
}

TEST_F(TlsContextTest, Create_Fails_WhenKeyFileMissing) {
  TlsContextSettings settings = ValidSettings();
  settings.key_file = pki_->path("absent.key");
  EXPECT_EQ(CreateError(settings), "tls_key_unreadable");
}

TEST_F(TlsContextTest, Create_Fails_WhenKeyDoesNotMatchCertificate) {
  TlsContextSettings settings = ValidSettings();
  settings.key_file = pki_->path("engine.key");
  EXPECT_EQ(CreateError(settings), "tls_key_mismatch");
}

TEST_F(TlsContextTest, Create_Fails_WhenCertificateMissing) {
  TlsContextSettings settings = ValidSettings();
  settings.cert_file = pki_->path("absent.pem");
  EXPECT_EQ(CreateError(settings), "tls_certificate_unreadable");
}

TEST_F(TlsContextTest, Create_Fails_WhenNoClientCa) {
  TlsContextSettings settings = ValidSettings();
  settings.client_ca_files.clear();
  EXPECT_EQ(CreateError(settings), "tls_settings_invalid");
}

TEST_F(TlsContextTest, Create_Fails_WhenClientCaUnreadable) {
  TlsContextSettings settings = ValidSettings();
  settings.client_ca_files.push_back(pki_->path("absent-ca.pem"));
  EXPECT_EQ(CreateError(settings), "tls_client_ca_unreadable");
}

TEST_F(TlsContextTest, Create_Fails_WhenBothKeyFormsGiven) {
  TlsContextSettings settings = ValidSettings();
  settings.key_uri = "pkcs11:object=tls";
  EXPECT_EQ(CreateError(settings), "tls_settings_invalid");
}

TEST_F(TlsContextTest, Create_Fails_WhenCrlUnreadable) {
  TlsContextSettings settings = ValidSettings();
  settings.crl_file = pki_->path("absent.crl");
  EXPECT_EQ(CreateError(settings), "tls_crl_unreadable");
}

TEST_F(TlsContextTest, Create_LoadsKeyFromHsm_WhenKeyUriGiven) {
  auto token = test::SoftHsmToken::Create("tls-test");
  ASSERT_NE(token, nullptr);
  std::string import = "softhsm2-util --import '" + pki_->path("server.key") +
                       "' --token tls-test --label tls --id 01 --pin " + token->pin() +
                       " >/dev/null 2>&1";
  ASSERT_EQ(std::system(import.c_str()), 0);
  TlsContextSettings settings = ValidSettings();
  settings.key_file.clear();
  settings.key_uri = "pkcs11:token=tls-test;object=tls;type=private";
  settings.pkcs11_module_path = token->module_path();
  settings.pkcs11_pin = token->pin_secret();
  auto context = TlsContext::Create(settings);
  ASSERT_TRUE(context.ok()) << context.error().ToString();
}

TEST_F(TlsContextTest, Create_Fails_WhenHsmKeyAbsent) {
  auto token = test::SoftHsmToken::Create("tls-test");
  ASSERT_NE(token, nullptr);
  TlsContextSettings settings = ValidSettings();
  settings.key_file.clear();
  settings.key_uri = "pkcs11:token=tls-test;object=absent;type=private";
  settings.pkcs11_module_path = token->module_path();
  settings.pkcs11_pin = token->pin_secret();
  EXPECT_EQ(CreateError(settings), "tls_pkcs11_key_not_found");
}

}  // namespace
}  // namespace weftkit::server
