// The secret-leak scan must be able to fail: these tests plant secrets, in every encoded form,
// where the rules forbid them and check that the scanner reports each one, and check that it
// leaves alone what the rules allow.
#include "test/secret_scan/secret_scanner.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.h"
#include "test/support/temp_dir.h"

namespace weftkit::test {
namespace {

class SecretScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("weftkit-secret-scan");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::app | std::ios::binary) << text;
  }
  void AddResponse(const std::string& method, const std::string& path, const std::string& body) {
    std::string content = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + body;
    Write("responses-1.rec", "#response " + method + " " + path + " 200 " +
                                 std::to_string(content.size()) + "\n" + content + "\n");
  }
  ScanReport Scan() {
    EXPECT_TRUE(scanner_.LoadSecrets(dir_).ok());
    auto report = scanner_.Scan(dir_);
    EXPECT_TRUE(report.ok()) << report.error().ToString();
    return report.ok() ? std::move(report).value() : ScanReport{};
  }

  std::filesystem::path dir_;
  SecretScanner scanner_;
};

constexpr const char* kPin = "5f2a9c1e7b3d4a60";
const std::string kDek(32, '\x5a');  // binary in real runs; any bytes do here

TEST_F(SecretScannerTest, Scan_FindsNothing_InCleanRecords) {
  Write("secrets-1.tsv", "never\t35663261396331653762336434613630\n");  // kPin in hex
  Write("kmsd-1-0.log", "{\"event\":\"hsm_ready\",\"pin\":\"file /x/user.pin\"}\n");
  AddResponse("GET", "/healthz", "{\"status\":\"ok\"}");
  ScanReport report = Scan();
  EXPECT_EQ(report.secrets, 1u);
  EXPECT_EQ(report.log_files, 1u);
  EXPECT_EQ(report.responses, 1u);
  EXPECT_TRUE(report.leaks.empty());
}

TEST_F(SecretScannerTest, Scan_FindsPlantedPin_InALog_InEveryForm) {
  scanner_.AddSecret("never", kPin);
  std::string pin = kPin;
  const std::string forms[] = {pin, Base64Encode(AsBytes(pin)), "35663261396331653762336434613630",
                               "35663261396331653762336434613630"};
  for (std::size_t i = 0; i < std::size(forms); ++i) {
    std::string text = forms[i];
    if (i == 3) {
      for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    Write("kmsd-" + std::to_string(i) + ".log", "{\"event\":\"x\",\"detail\":\"" + text + "\"}\n");
  }
  EXPECT_EQ(Scan().leaks.size(), 4u);
}

TEST_F(SecretScannerTest, Scan_FindsPasswordInAnyResponse) {
  scanner_.AddSecret("never", "correct horse battery staple");
  AddResponse("PUT", "/v1/principals/alice/password",
              "{\"echo\":\"correct horse battery staple\"}");
  ScanReport report = Scan();
  ASSERT_EQ(report.leaks.size(), 1u);
  EXPECT_EQ(report.leaks[0].kind, "never");
}

TEST_F(SecretScannerTest, Scan_AllowsDek_OnlyWhereItWasAskedFor) {
  scanner_.AddSecret("dek", kDek);
  std::string encoded = Base64Encode(AsBytes(kDek));
  AddResponse("POST", "/v1/keys/a/generate-data-key", "{\"plaintext\":\"" + encoded + "\"}");
  AddResponse("POST", "/v1/keys/a/batch/unwrap",
              "{\"results\":[{\"plaintext\":\"" + encoded + "\"}]}");
  AddResponse("POST", "/v1/keys/a/wrap", "{\"echo\":\"" + encoded + "\"}");
  AddResponse("POST", "/v1/keys/a/rewrap", "{\"hex\":\"" + std::string(64, '5') + "a\"}");
  ScanReport report = Scan();
  ASSERT_EQ(report.leaks.size(), 1u);
  EXPECT_NE(report.leaks[0].where.find("/v1/keys/a/wrap"), std::string::npos);
  EXPECT_EQ(report.leaks[0].form, "base64");
}

TEST_F(SecretScannerTest, Scan_FindsDekInALog_AsHex) {
  scanner_.AddSecret("dek", kDek);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "5A";
  Write("kmsd-1-0.log", "{\"detail\":\"" + std::string(32, 'x') + hex + "\"}\n");
  EXPECT_EQ(Scan().leaks.size(), 1u);
}

TEST_F(SecretScannerTest, Scan_AllowsToken_OnlyInTheResponseThatIssuedIt) {
  const std::string token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
  scanner_.AddSecret("token", token);
  AddResponse("POST", "/v1/auth/tokens", "{\"access_token\":\"" + token + "\"}");
  EXPECT_TRUE(Scan().leaks.empty());

  AddResponse("POST", "/v1/auth/tokens", "{\"access_token\":\"" + token + "\"}");
  AddResponse("GET", "/v1/principals", "{\"token\":\"" + token + "\"}");
  Write("kmsd-1-0.log", "Bearer " + token + "\n");
  EXPECT_EQ(Scan().leaks.size(), 3u);  // issued twice, echoed once, logged once
}

TEST_F(SecretScannerTest, Scan_Fails_OnATruncatedRecord) {
  Write("responses-1.rec", "#response GET /healthz 200 500\nHTTP/1.1 200 OK\r\n\r\n");
  EXPECT_FALSE(scanner_.Scan(dir_).ok());
}

TEST_F(SecretScannerTest, LoadSecrets_Fails_OnAMalformedLine) {
  Write("secrets-1.tsv", "never\tnot-hex\n");
  EXPECT_FALSE(scanner_.LoadSecrets(dir_).ok());
}

TEST_F(SecretScannerTest, ShortSecrets_AreNotLookedFor) {
  scanner_.AddSecret("never", "abc");
  Write("kmsd-1-0.log", "abcabcabc\n");
  EXPECT_TRUE(Scan().leaks.empty());
}

}  // namespace
}  // namespace weftkit::test
