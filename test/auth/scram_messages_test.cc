// The SCRAM message parsers are the server's first contact with attacker-controlled text, so
// every refusal is pinned to its stable code, and the accepted forms are pinned exactly.
#include "auth/scram_messages.h"

#include <gtest/gtest.h>

#include <string>

namespace weftkit::auth {
namespace {

struct RefusalCase {
  const char* name;
  std::string message;
  const char* code;
};

std::ostream& operator<<(std::ostream& out, const RefusalCase& c) { return out << c.name; }

class ScramClientFirstRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(ScramClientFirstRefusalTest, ParseClientFirst_Fails_WithItsCode) {
  Result<ClientFirstMessage> parsed = ParseClientFirst(GetParam().message);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), GetParam().code);
  EXPECT_EQ(parsed.error().kind(), ErrorKind::kInvalidArgument);
  // The detail is for operators and must not echo the message.
  EXPECT_EQ(parsed.error().detail().find("alice"), std::string::npos);
}

const RefusalCase kClientFirstRefusals[] = {
    {"Empty", "", "scram_invalid_gs2_header"},
    {"NoGs2", "n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"BadFlag", "x,,n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"UpperFlag", "N,,n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"OtherBindingType", "p=tls-unique,,n=alice,r=abcdefghij",
     "scram_unsupported_channel_binding_type"},
    {"BadBindingName", "p=tls exporter,,n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"EmptyBindingName", "p=,,n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"AuthzidWithoutA", "n,x=alice,n=alice,r=abcdefghij", "scram_invalid_gs2_header"},
    {"EmptyAuthzid", "n,a=,n=alice,r=abcdefghij", "scram_invalid_username"},
    {"ReservedMext", "n,,m=ext,n=alice,r=abcdefghij", "scram_extensions_not_supported"},
    {"NonceFirst", "n,,r=abcdefghij,n=alice", "scram_malformed_message"},
    {"NoNonce", "n,,n=alice", "scram_malformed_message"},
    {"EmptyUser", "n,,n=,r=abcdefghij", "scram_malformed_message"},
    {"EmptyNonce", "n,,n=alice,r=", "scram_malformed_message"},
    {"BadEscape", "n,,n=al=2Cice=41,r=abcdefghij", "scram_invalid_username_encoding"},
    {"LowerCaseEscape", "n,,n=al=2cice,r=abcdefghij", "scram_invalid_username_encoding"},
    {"TruncatedEscape", "n,,n=alice=3,r=abcdefghij", "scram_invalid_username_encoding"},
    {"ControlInUser",
     "n,,n=ali\x01"
     "ce,r=abcdefghij",
     "scram_invalid_username"},
    {"DelInUser",
     "n,,n=alice\x7f"
     ",r=abcdefghij",
     "scram_invalid_username"},
    {"InvalidUtf8User",
     "n,,n=alice\xc3"
     ",r=abcdefghij",
     "scram_invalid_username"},
    {"OverlongUtf8User",
     "n,,n=\xc0\xaf"
     "alice,r=abcdefghij",
     "scram_invalid_username"},
    {"NoBreakSpaceUser",
     "n,,n=al\xc2\xa0"
     "ice,r=abcdefghij",
     "scram_invalid_username"},
    {"LongUser", "n,,n=" + std::string(256, 'a') + ",r=abcdefghij", "scram_invalid_username"},
    {"ShortNonce", "n,,n=alice,r=abcdefg", "scram_invalid_nonce"},
    {"SpaceInNonce", "n,,n=alice,r=abcd efghij", "scram_invalid_nonce"},
    {"NonAsciiNonce", "n,,n=alice,r=abcdefghij\xc3\xa9", "scram_invalid_nonce"},
    {"LongNonce", "n,,n=alice,r=" + std::string(256, 'a'), "scram_invalid_nonce"},
    {"Extension", "n,,n=alice,r=abcdefghij,x=1", "scram_extensions_not_supported"},
    {"TrailingComma", "n,,n=alice,r=abcdefghij,", "scram_malformed_message"},
    {"TooLarge", "n,,n=alice,r=" + std::string(kMaxScramMessageBytes, 'a'),
     "scram_message_too_large"},
};

INSTANTIATE_TEST_SUITE_P(Malformed, ScramClientFirstRefusalTest,
                         ::testing::ValuesIn(kClientFirstRefusals),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(ScramMessagesTest, ParseClientFirst_KeepsExactParts_ForRfc7677Example) {
  Result<ClientFirstMessage> parsed = ParseClientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->binding, ChannelBindingFlag::kNone);
  EXPECT_EQ(parsed->gs2_header, "n,,");
  EXPECT_EQ(parsed->authzid, "");
  EXPECT_EQ(parsed->username, "user");
  EXPECT_EQ(parsed->client_nonce, "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(parsed->bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(ScramMessagesTest, ParseClientFirst_DecodesEscapesAndAuthzid_WithTlsExporter) {
  Result<ClientFirstMessage> parsed =
      ParseClientFirst("p=tls-exporter,a=a=3Db=2Cc,n=a=3Db=2Cc,r=!\"#$%&'()*+-./~");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->binding, ChannelBindingFlag::kTlsExporter);
  EXPECT_EQ(parsed->gs2_header, "p=tls-exporter,a=a=3Db=2Cc,");
  EXPECT_EQ(parsed->authzid, "a=b,c");
  EXPECT_EQ(parsed->username, "a=b,c");
  EXPECT_EQ(parsed->client_nonce, "!\"#$%&'()*+-./~");
}

TEST(ScramMessagesTest, ParseClientFirst_AcceptsY_AndUtf8UserName) {
  Result<ClientFirstMessage> parsed = ParseClientFirst("y,,n=j\xc3\xb6rg,r=abcdefghij");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->binding, ChannelBindingFlag::kClientCanBind);
  EXPECT_EQ(parsed->username, "j\xc3\xb6rg");
}

class ScramClientFinalRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(ScramClientFinalRefusalTest, ParseClientFinal_Fails_WithItsCode) {
  Result<ClientFinalMessage> parsed = ParseClientFinal(GetParam().message);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), GetParam().code);
}

// A valid 32-byte proof, base64.
const std::string kProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

const RefusalCase kClientFinalRefusals[] = {
    {"Empty", "", "scram_malformed_message"},
    {"NoProof", "c=biws,r=abcdefghijk", "scram_malformed_message"},
    {"WrongOrder", "r=abcdefghijk,c=biws,p=" + kProof, "scram_malformed_message"},
    {"ProofNotLast", "c=biws,r=abcdefghijk,p=" + kProof + ",x=1", "scram_malformed_message"},
    {"EmptyBinding", "c=,r=abcdefghijk,p=" + kProof, "scram_malformed_message"},
    {"Extension", "c=biws,r=abcdefghijk,x=1,p=" + kProof, "scram_extensions_not_supported"},
    {"Garbage", "c=biws,r=abcdefghijk,xyz,p=" + kProof, "scram_malformed_message"},
    {"BindingNotBase64", "c=bi*s,r=abcdefghijk,p=" + kProof, "scram_invalid_base64"},
    {"BindingUnpadded", "c=bg,r=abcdefghijk,p=" + kProof, "scram_invalid_base64"},
    {"ProofNotBase64", "c=biws,r=abcdefghijk,p=dHzb ZapW", "scram_invalid_base64"},
    {"ProofShort", "c=biws,r=abcdefghijk,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",
     "scram_invalid_proof_encoding"},
    {"ShortNonce", "c=biws,r=abcdefgh,p=" + kProof, "scram_invalid_nonce"},
    {"TooLarge", "c=biws,r=" + std::string(kMaxScramMessageBytes, 'a') + ",p=" + kProof,
     "scram_message_too_large"},
};

INSTANTIATE_TEST_SUITE_P(Malformed, ScramClientFinalRefusalTest,
                         ::testing::ValuesIn(kClientFinalRefusals),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(ScramMessagesTest, ParseClientFinal_SplitsProof_ForRfc7677Example) {
  const std::string message =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=" + kProof;
  Result<ClientFinalMessage> parsed = ParseClientFinal(message);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(std::string(parsed->channel_binding.begin(), parsed->channel_binding.end()), "n,,");
  EXPECT_EQ(parsed->nonce, "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  EXPECT_EQ(parsed->proof.size(), 32u);
  EXPECT_EQ(parsed->without_proof, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
}

TEST(ScramMessagesTest, ParseClientFinal_FailsOrSucceedsCleanly_ForEveryTruncation) {
  const std::string message = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj,p=" + kProof;
  for (std::size_t length = 0; length < message.size(); ++length) {
    EXPECT_FALSE(ParseClientFinal(message.substr(0, length)).ok()) << "length " << length;
  }
}

TEST(ScramMessagesTest, SaslName_RoundTrips_CommaAndEquals) {
  EXPECT_EQ(EncodeSaslName("a,b=c"), "a=2Cb=3Dc");
  Result<std::string> decoded = DecodeSaslName("a=2Cb=3Dc");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "a,b=c");
}

TEST(ScramMessagesTest, FormatServerFirst_MatchesRfc7677Layout) {
  const std::vector<std::uint8_t> salt = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                          0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
  EXPECT_EQ(FormatServerFirst("rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", salt, 4096),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
}

TEST(ScramMessagesTest, ServerErrorValueFor_MapsRfc5802Values_AndHidesUnknownUsers) {
  EXPECT_EQ(ServerErrorValueFor("scram_invalid_proof"), "invalid-proof");
  EXPECT_EQ(ServerErrorValueFor("scram_channel_bindings_dont_match"),
            "channel-bindings-dont-match");
  EXPECT_EQ(ServerErrorValueFor("scram_downgrade_detected"), "server-does-support-channel-binding");
  EXPECT_EQ(ServerErrorValueFor("scram_invalid_base64"), "invalid-encoding");
  EXPECT_EQ(ServerErrorValueFor("scram_extensions_not_supported"), "extensions-not-supported");
  EXPECT_EQ(ServerErrorValueFor("scram_too_many_exchanges"), "no-resources");
  EXPECT_EQ(ServerErrorValueFor("auth_throttled"), std::nullopt);
  EXPECT_EQ(ServerErrorValueFor("store_busy"), std::nullopt);
}

TEST(ScramMessagesTest, ParseServerFirst_Refuses_LeadingZeroAndOverflowIterations) {
  EXPECT_TRUE(ParseServerFirst("r=abcdefghijk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").ok());
  EXPECT_FALSE(ParseServerFirst("r=abcdefghijk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096").ok());
  EXPECT_FALSE(ParseServerFirst("r=abcdefghijk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4294967296").ok());
  EXPECT_FALSE(ParseServerFirst("r=abcdefghijk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1").ok());
}

TEST(ScramMessagesTest, ParseServerFinal_ReadsVerifierOrError) {
  Result<ServerFinalMessage> error = ParseServerFinal("e=invalid-proof");
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->error, "invalid-proof");
  Result<ServerFinalMessage> verifier =
      ParseServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  ASSERT_TRUE(verifier.ok());
  EXPECT_EQ(verifier->verifier.size(), 32u);
}

}  // namespace
}  // namespace weftkit::auth
