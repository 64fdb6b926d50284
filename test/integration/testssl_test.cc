// testssl.sh (Debian package testssl.sh) against the real kmsd: an independent scanner must see
// only TLS 1.3, forward secrecy, and no finding of severity LOW or above. Slow (a minute or two),
// so it is its own ctest entry with the label "tls"; docs/hardening.md records a typical result.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "test/integration/kmsd_process.h"

namespace weftkit::test {
namespace {

constexpr const char* kTestssl = "/usr/bin/testssl";

// Findings that testssl reports about the generated development PKI and the test host rather
// than about the server's TLS configuration: tools/dev-pki.sh makes certificates that last 30
// days (cert_expirationStatus, cert_notAfter: "expires < 30 days") and carry no CRL or OCSP
// address (cert_revocation), and 127.0.0.1 has no DNS CAA record (DNS_CAArecord). A production
// certificate from a real CA, on a DNS name, has none of these.
const std::set<std::string> kPkiFindings = {"cert_expirationStatus", "cert_notAfter",
                                            "cert_revocation", "DNS_CAArecord"};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TestsslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTestssl)) GTEST_SKIP() << "testssl.sh is not installed";
    kmsd_ = KmsdProcess::Start();
    const std::filesystem::path out = kmsd_->dir() / "testssl.out";
    json_path_ = kmsd_->dir() / "testssl.json";
    // -p protocols, -f forward secrecy, -S server defaults (certificate), -P cipher order,
    // -U every vulnerability check, -h HTTP security headers. No client simulation: it adds
    // minutes and checks clients, not the server.
    std::string command = std::string(kTestssl) +
                          " --quiet --color 0 --warnings off --fast --add-ca " +
                          kmsd_->pki("ca.pem").string() + " --jsonfile " + json_path_.string() +
                          " -p -f -S -P -U -h 127.0.0.1:" + std::to_string(kmsd_->port()) + " > " +
                          out.string() + " 2>&1";
    std::system(command.c_str());
    findings_ = nlohmann::json::parse(ReadFile(json_path_), nullptr, false);
    ASSERT_TRUE(findings_.is_array()) << ReadFile(out);
    for (const auto& finding : findings_) {
      by_id_[finding.value("id", "")] = finding.value("finding", "");
    }
  }

  std::unique_ptr<KmsdProcess> kmsd_;
  std::filesystem::path json_path_;
  nlohmann::json findings_;
  std::map<std::string, std::string> by_id_;
};

TEST_F(TestsslTest, Server_OffersOnlyTls13_WithForwardSecrecy_AndNoFindings) {
  for (const char* old : {"SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"}) {
    ASSERT_TRUE(by_id_.contains(old)) << old;
    EXPECT_EQ(by_id_[old].rfind("not offered", 0), 0u) << old << ": " << by_id_[old];
  }
  ASSERT_TRUE(by_id_.contains("TLS1_3"));
  EXPECT_EQ(by_id_["TLS1_3"].rfind("offered", 0), 0u) << by_id_["TLS1_3"];
  // testssl 3.0 calls forward secrecy "PFS", later versions "FS".
  const std::string fs = by_id_.contains("FS") ? "FS" : "PFS";
  ASSERT_TRUE(by_id_.contains(fs)) << findings_.dump(1);
  EXPECT_EQ(by_id_[fs], "offered");

  for (const auto& finding : findings_) {
    std::string severity = finding.value("severity", "");
    std::string id = finding.value("id", "");
    bool problem =
        severity == "LOW" || severity == "MEDIUM" || severity == "HIGH" || severity == "CRITICAL";
    if (problem && kPkiFindings.contains(id)) continue;
    EXPECT_FALSE(problem) << id << " (" << severity << "): " << finding.value("finding", "");
  }
}

}  // namespace
}  // namespace weftkit::test
