// LEEF 2.0 encoding: the declared delimiter, each escaping rule, devTime, and whole entries
// (ordinary and hostile) parsed back by a strict parser that splits at the delimiter.
#include <gtest/gtest.h>

#include "audit/formats/leef_encoder.h"
#include "audit/formats/siem_text.h"
#include "audit_entry_samples.h"
#include "siem_line_parser.h"

namespace weftkit::audit::formats {

// Test names show the delimiter's name, not the enum's bytes.
void PrintTo(LeefDelimiter delimiter, std::ostream* out) {
  *out << (delimiter == LeefDelimiter::kTab ? "tab" : "caret");
}

namespace {

using testing::HostileEntry;
using testing::OrdinaryEntry;
using testing::ParseLeef;

const SiemProduct kProduct{"WeftKit", "KMS", "0.1.0"};

TEST(LeefEncoderTest, EscapeLeefValue_EscapesBackslashEqualsLineBreaksAndTab_TabDelimiter) {
  EXPECT_EQ(EscapeLeefValue("a\\b=c\nd\re\tf^g", LeefDelimiter::kTab), "a\\\\b\\=c\\nd\\re\\tf^g");
}

TEST(LeefEncoderTest, EscapeLeefValue_EscapesCaretAndReplacesTab_CaretDelimiter) {
  EXPECT_EQ(EscapeLeefValue("f^g\th", LeefDelimiter::kCaret), "f\\^g\xEF\xBF\xBDh");
}

TEST(LeefEncoderTest, EscapeLeefValue_KeepsPipe) {
  EXPECT_EQ(EscapeLeefValue("a|b", LeefDelimiter::kTab), "a|b");
}

TEST(LeefEncoderTest, EscapeLeefHeader_EscapesPipeAndBackslashAndReplacesControls) {
  EXPECT_EQ(EscapeLeefHeader("a|b\\c\td"),
            "a\\|b\\\\c\xEF\xBF\xBD"
            "d");
}

TEST(LeefEncoderTest, FormatLeefDevTime_PrintsMillisecondsInUtc) {
  EXPECT_EQ(FormatLeefDevTime(1796322743123), "2026-12-03T18:32:23.123+0000");
  EXPECT_EQ(FormatLeefDevTime(0), "1970-01-01T00:00:00.000+0000");
  EXPECT_EQ(FormatLeefDevTime(-1), "1969-12-31T23:59:59.999+0000");
}

TEST(LeefEncoderTest, EncodeLeef_DeclaresTabDelimiterInHex) {
  std::string line = EncodeLeef(OrdinaryEntry(), kProduct);
  EXPECT_EQ(line.rfind("LEEF:2.0|WeftKit|KMS|0.1.0|dek.unwrap|x09|devTime=", 0), 0u) << line;
}

TEST(LeefEncoderTest, EncodeLeef_WritesPredefinedAndCustomKeys_OrdinaryEntry) {
  auto parsed = ParseLeef(EncodeLeef(OrdinaryEntry(), kProduct));
  ASSERT_TRUE(parsed.has_value());
  const auto& fields = parsed->fields;
  EXPECT_EQ(fields.at("devTime"), "2026-12-03T18:32:23.123+0000");
  EXPECT_EQ(fields.at("devTimeFormat"), "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
  EXPECT_EQ(fields.at("cat"), "succeeded");
  EXPECT_EQ(fields.at("sev"), "3");
  EXPECT_EQ(fields.at("usrName"), "spiffe://weftkit.dev/engine/orders");
  EXPECT_EQ(fields.at("src"), "192.0.2.10");
  EXPECT_EQ(fields.at("srcPort"), "53124");
  EXPECT_EQ(fields.at("resource"), "key/orders");
  EXPECT_EQ(fields.at("auditIndex"), "7");
  EXPECT_EQ(fields.at("requestId"), "req-0001");
  EXPECT_EQ(fields.at("authMethod"), "mtls");
  EXPECT_EQ(fields.at("keyName"), "orders");
  EXPECT_EQ(fields.at("keyVersion"), "3");
  EXPECT_EQ(fields.at("httpStatus"), "200");
  EXPECT_FALSE(fields.contains("errorCode"));
  EXPECT_FALSE(fields.contains("policyVersion"));
}

TEST(LeefEncoderTest, EncodeLeef_CategoryAndSeveritySayDenied_DeniedEntry) {
  AuditEntry entry = OrdinaryEntry();
  entry.decision = "deny";
  entry.outcome = "failure";
  auto parsed = ParseLeef(EncodeLeef(entry, kProduct));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->fields.at("cat"), "denied");
  EXPECT_EQ(parsed->fields.at("sev"), "7");
}

TEST(LeefEncoderTest, EncodeLeef_PutsIpv6InSrc_Ipv6Peer) {
  AuditEntry entry = OrdinaryEntry();
  entry.peer = "[2001:db8:0:0::1]:443";
  auto parsed = ParseLeef(EncodeLeef(entry, kProduct));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->fields.at("src"), "2001:db8::1");
  EXPECT_EQ(parsed->fields.at("srcPort"), "443");
}

class LeefDelimiterTest : public ::testing::TestWithParam<LeefDelimiter> {};

TEST_P(LeefDelimiterTest, EncodeLeef_EveryFieldSurvivesRoundTrip_HostileEntry) {
  LeefDelimiter delimiter = GetParam();
  AuditEntry entry = HostileEntry();
  std::string line = EncodeLeef(entry, kProduct, {delimiter});
  ASSERT_EQ(line.find('\n'), std::string::npos);
  ASSERT_EQ(line.find('\r'), std::string::npos);
  auto parsed = ParseLeef(line);
  ASSERT_TRUE(parsed.has_value()) << line;

  // Only a tab that is not the delimiter is replaced (LEEF has no escape for it then).
  auto expected = [delimiter](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '\t' && delimiter != LeefDelimiter::kTab) {
        out.append(kReplacementCharacter);
      } else {
        out.push_back(c);
      }
    }
    return out;
  };
  EXPECT_EQ(parsed->fields.at("usrName"), expected(entry.principal));
  EXPECT_EQ(parsed->fields.at("requestId"), expected(entry.request_id));
  EXPECT_EQ(parsed->fields.at("resource"), expected(entry.resource));
  EXPECT_EQ(parsed->fields.at("keyName"), expected(entry.key_name));
  EXPECT_EQ(parsed->fields.at("decision"), expected(entry.decision));
  EXPECT_EQ(parsed->fields.at("rule"), expected(entry.rule));
  EXPECT_EQ(parsed->fields.at("outcome"), expected(entry.outcome));
  EXPECT_EQ(parsed->fields.at("errorCode"), expected(entry.error_code));
  EXPECT_FALSE(parsed->fields.contains("k"));
  // The header's event id keeps pipes and backslashes; line breaks and tabs become U+FFFD.
  EXPECT_NE(parsed->header[3].find("a\\b|c=d\xEF\xBF\xBD"
                                   "e"),
            std::string::npos)
      << parsed->header[3];
}

INSTANTIATE_TEST_SUITE_P(Delimiters, LeefDelimiterTest,
                         ::testing::Values(LeefDelimiter::kTab, LeefDelimiter::kCaret));

}  // namespace
}  // namespace weftkit::audit::formats
