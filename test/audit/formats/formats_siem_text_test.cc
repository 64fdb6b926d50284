// The helpers under the SIEM encoders: UTF-8 well-formedness (RFC 3629 section 4), control
// characters, peers, severities.
#include <gtest/gtest.h>

#include "audit/formats/siem_text.h"

namespace weftkit::audit::formats {
namespace {

TEST(SiemTextTest, Utf8CharacterLength_AcceptsWellFormedSequences) {
  EXPECT_EQ(Utf8CharacterLength("a"), 1u);
  EXPECT_EQ(Utf8CharacterLength("\xC2\x80"), 2u);
  EXPECT_EQ(Utf8CharacterLength("\xE0\xA0\x80"), 3u);
  EXPECT_EQ(Utf8CharacterLength("\xED\x9F\xBF"), 3u);
  EXPECT_EQ(Utf8CharacterLength("\xF0\x90\x80\x80"), 4u);
  EXPECT_EQ(Utf8CharacterLength("\xF4\x8F\xBF\xBF"), 4u);
}

TEST(SiemTextTest, Utf8CharacterLength_RejectsIllFormedSequences) {
  for (std::string_view bad :
       {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\xAF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC2", "\xE2\x82", "\xFF"}) {
    EXPECT_EQ(Utf8CharacterLength(bad), 0u) << ::testing::PrintToString(std::string(bad));
  }
}

TEST(SiemTextTest, IsControlCharacter_CoversC0DelAndC1) {
  EXPECT_TRUE(IsControlCharacter(std::string_view("\0", 1)));
  EXPECT_TRUE(IsControlCharacter("\x1F"));
  EXPECT_TRUE(IsControlCharacter("\x7F"));
  EXPECT_TRUE(IsControlCharacter("\xC2\x85"));
  EXPECT_FALSE(IsControlCharacter(" "));
  EXPECT_FALSE(IsControlCharacter("\xC2\xA0"));
}

TEST(SiemTextTest, ParsePeer_SplitsAddressAndPort) {
  PeerAddress v4 = ParsePeer("10.1.2.3:8443");
  EXPECT_EQ(v4.ipv4, "10.1.2.3");
  EXPECT_EQ(v4.port, 8443);
  PeerAddress v6 = ParsePeer("[::1]:1");
  EXPECT_EQ(v6.ipv6, "::1");
  EXPECT_EQ(v6.port, 1);
  PeerAddress mapped = ParsePeer("[::ffff:192.0.2.1]:80");
  EXPECT_EQ(mapped.ipv4, "192.0.2.1");
  EXPECT_TRUE(mapped.ipv6.empty());
}

TEST(SiemTextTest, ParsePeer_ReturnsNothing_NotAnAddress) {
  for (std::string_view peer : {"unknown", "", "host:1", "1.2.3.4", "[::1]", "[::1]x"}) {
    PeerAddress address = ParsePeer(peer);
    EXPECT_TRUE(address.ipv4.empty() && address.ipv6.empty()) << peer;
    EXPECT_FALSE(address.port.has_value()) << peer;
  }
}

TEST(SiemTextTest, ParsePeer_KeepsAddressDropsPort_PortNotANumberOrOutOfRange) {
  for (std::string_view peer : {"1.2.3.4:65536", "1.2.3.4:x", "1.2.3.4:"}) {
    PeerAddress address = ParsePeer(peer);
    EXPECT_EQ(address.ipv4, "1.2.3.4") << peer;
    EXPECT_FALSE(address.port.has_value()) << peer;
  }
}

TEST(SiemTextTest, SeverityOf_RanksDenialAboveFailureAboveSuccess) {
  AuditEntry entry;
  entry.outcome = "success";
  EXPECT_EQ(SeverityOf(entry), 3);
  entry.outcome = "failure";
  EXPECT_EQ(SeverityOf(entry), 5);
  entry.decision = "deny";
  EXPECT_EQ(SeverityOf(entry), 7);
}

}  // namespace
}  // namespace weftkit::audit::formats
