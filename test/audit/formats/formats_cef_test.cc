// CEF encoding: each escaping rule of the specification on its own, then whole entries (ordinary
// and hostile) parsed back by a strict parser that knows only CEF's escapes.
#include <gtest/gtest.h>

#include "audit/formats/cef_encoder.h"
#include "audit/formats/siem_text.h"
#include "audit_entry_samples.h"
#include "siem_line_parser.h"

namespace weftkit::audit::formats {
namespace {

using testing::HostileEntry;
using testing::HostileText;
using testing::OrdinaryEntry;
using testing::ParseCef;

const SiemProduct kProduct{"WeftKit", "KMS", "0.1.0"};

// What a value becomes after a CEF round trip: controls without an escape are replaced.
std::string WithoutUnescapedControls(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\t') {
      out.append(kReplacementCharacter);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

TEST(CefEncoderTest, EscapeCefHeader_EscapesBackslashAndPipe) {
  EXPECT_EQ(EscapeCefHeader("a\\b|c"), "a\\\\b\\|c");
}

TEST(CefEncoderTest, EscapeCefHeader_KeepsEqualsSign) { EXPECT_EQ(EscapeCefHeader("a=b"), "a=b"); }

TEST(CefEncoderTest, EscapeCefHeader_ReplacesLineBreaks) {
  EXPECT_EQ(EscapeCefHeader("a\nb\rc"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c");
}

TEST(CefEncoderTest, EscapeCefExtensionValue_EscapesBackslashEqualsAndLineBreaks) {
  EXPECT_EQ(EscapeCefExtensionValue("a\\b=c\nd\re"), "a\\\\b\\=c\\nd\\re");
}

TEST(CefEncoderTest, EscapeCefExtensionValue_KeepsPipeAndSpaces) {
  EXPECT_EQ(EscapeCefExtensionValue("a | b"), "a | b");
}

TEST(CefEncoderTest, EscapeCefExtensionValue_ReplacesOtherControls) {
  EXPECT_EQ(EscapeCefExtensionValue(std::string("a\tb\x01"
                                                "c\x7F",
                                                6)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD");
}

TEST(CefEncoderTest, EscapeCefExtensionValue_ReplacesInvalidUtf8) {
  EXPECT_EQ(EscapeCefExtensionValue("a\xC3(b\xED\xA0\x80"),
            "a\xEF\xBF\xBD(b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(CefEncoderTest, EscapeCefExtensionValue_KeepsUnicode) {
  EXPECT_EQ(EscapeCefExtensionValue("\xC3\xA9\xF0\x9F\x94\x91"), "\xC3\xA9\xF0\x9F\x94\x91");
}

TEST(CefEncoderTest, EncodeCef_WritesHeaderAndStandardKeys_OrdinaryEntry) {
  std::string line = EncodeCef(OrdinaryEntry(), kProduct);
  EXPECT_EQ(line.rfind("CEF:0|WeftKit|KMS|0.1.0|dek.unwrap|dek.unwrap succeeded|3|rt=", 0), 0u)
      << line;
  auto parsed = ParseCef(line);
  ASSERT_TRUE(parsed.has_value()) << line;
  const auto& fields = parsed->fields;
  EXPECT_EQ(fields.at("rt"), "1796322743123");
  EXPECT_EQ(fields.at("cat"), "dek");
  EXPECT_EQ(fields.at("act"), "dek.unwrap");
  EXPECT_EQ(fields.at("outcome"), "success");
  EXPECT_EQ(fields.at("suser"), "spiffe://weftkit.dev/engine/orders");
  EXPECT_EQ(fields.at("src"), "192.0.2.10");
  EXPECT_EQ(fields.at("spt"), "53124");
  EXPECT_EQ(fields.at("externalId"), "req-0001");
  EXPECT_EQ(fields.at("cn1Label"), "auditIndex");
  EXPECT_EQ(fields.at("cn1"), "7");
  EXPECT_EQ(fields.at("cn2Label"), "keyVersion");
  EXPECT_EQ(fields.at("cn2"), "3");
  EXPECT_EQ(fields.at("cs1"), "key/orders");
  EXPECT_EQ(fields.at("cs2"), "orders");
  EXPECT_EQ(fields.at("cs3"), "allow");
  EXPECT_EQ(fields.at("cs4"), "engine");
  EXPECT_EQ(fields.at("cs5"), "mtls");
  EXPECT_EQ(fields.at("cs6"), "200");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(CefEncoderTest, EncodeCef_LeavesOutEmptyOptionalFields) {
  AuditEntry entry = OrdinaryEntry();
  entry.principal.clear();
  entry.key_name.clear();
  entry.key_version.reset();
  entry.decision.clear();
  entry.rule.clear();
  entry.peer = "unknown";
  auto parsed = ParseCef(EncodeCef(entry, kProduct));
  ASSERT_TRUE(parsed.has_value());
  for (const char* key : {"suser", "cs2", "cs2Label", "cn2", "cn2Label", "cs3", "cs3Label", "cs4",
                          "src", "spt", "c6a2", "reason", "cn3"}) {
    EXPECT_FALSE(parsed->fields.contains(key)) << key;
  }
}

TEST(CefEncoderTest, EncodeCef_SeverityAndNameSayDenied_DeniedEntry) {
  AuditEntry entry = OrdinaryEntry();
  entry.decision = "deny";
  entry.outcome = "failure";
  entry.status = 403;
  entry.error_code = "forbidden";
  auto parsed = ParseCef(EncodeCef(entry, kProduct));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header[4], "dek.unwrap denied");
  EXPECT_EQ(parsed->header[5], "7");
  EXPECT_EQ(parsed->fields.at("reason"), "forbidden");
}

TEST(CefEncoderTest, EncodeCef_UsesIpv6SourceField_Ipv6Peer) {
  AuditEntry entry = OrdinaryEntry();
  entry.peer = "[2001:db8::1]:443";
  auto parsed = ParseCef(EncodeCef(entry, kProduct));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->fields.contains("src"));
  EXPECT_EQ(parsed->fields.at("c6a2"), "2001:db8::1");
  EXPECT_EQ(parsed->fields.at("c6a2Label"), "sourceIPv6Address");
  EXPECT_EQ(parsed->fields.at("spt"), "443");
}

TEST(CefEncoderTest, EncodeCef_EveryFieldSurvivesRoundTrip_HostileEntry) {
  AuditEntry entry = HostileEntry();
  std::string line = EncodeCef(entry, kProduct);
  ASSERT_EQ(line.find('\n'), std::string::npos);
  ASSERT_EQ(line.find('\r'), std::string::npos);
  auto parsed = ParseCef(line);
  ASSERT_TRUE(parsed.has_value()) << line;

  // The header has no escape for line breaks: both become U+FFFD.
  std::string expected_action;
  for (char c : WithoutUnescapedControls(entry.action)) {
    if (c == '\n' || c == '\r') {
      expected_action.append(kReplacementCharacter);
    } else {
      expected_action.push_back(c);
    }
  }
  EXPECT_EQ(parsed->header[3], expected_action);
  EXPECT_EQ(parsed->fields.at("act"), WithoutUnescapedControls(entry.action));
  EXPECT_EQ(parsed->fields.at("suser"), WithoutUnescapedControls(entry.principal));
  EXPECT_EQ(parsed->fields.at("externalId"), WithoutUnescapedControls(entry.request_id));
  EXPECT_EQ(parsed->fields.at("cs1"), WithoutUnescapedControls(entry.resource));
  EXPECT_EQ(parsed->fields.at("cs2"), WithoutUnescapedControls(entry.key_name));
  EXPECT_EQ(parsed->fields.at("cs3"), WithoutUnescapedControls(entry.decision));
  EXPECT_EQ(parsed->fields.at("cs4"), WithoutUnescapedControls(entry.rule));
  EXPECT_EQ(parsed->fields.at("outcome"), WithoutUnescapedControls(entry.outcome));
  EXPECT_EQ(parsed->fields.at("reason"), WithoutUnescapedControls(entry.error_code));
  // The look-alike "k=v" inside values did not become a field of its own.
  EXPECT_FALSE(parsed->fields.contains("k"));
}

TEST(CefEncoderTest, EncodeCef_EscapesProductFields) {
  SiemProduct product{"Weft|Kit", "K\\MS", "1|2"};
  auto parsed = ParseCef(EncodeCef(OrdinaryEntry(), product));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header[0], "Weft|Kit");
  EXPECT_EQ(parsed->header[1], "K\\MS");
  EXPECT_EQ(parsed->header[2], "1|2");
}

}  // namespace
}  // namespace weftkit::audit::formats
