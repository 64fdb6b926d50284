// Token selection by RFC 7512 URI: parsing, percent-decoding and matching CK_TOKEN_INFO.
#include "pkcs11/token_selector.h"

#include <gtest/gtest.h>

#include <cstring>

namespace weftkit::pkcs11 {
namespace {

CK_TOKEN_INFO TokenInfo(const std::string& label, const std::string& serial) {
  CK_TOKEN_INFO info{};
  std::memset(&info, ' ', sizeof(info));
  std::memcpy(info.label, label.data(), label.size());
  std::memcpy(info.serialNumber, serial.data(), serial.size());
  std::memcpy(info.manufacturerID, "SoftHSM project", 15);
  std::memcpy(info.model, "SoftHSM v2", 10);
  return info;
}

TEST(TokenSelectorTest, ParseTokenUri_ReadsTokenAttributes) {
  auto selector = ParseTokenUri(
      "pkcs11:token=kms;serial=abc123;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
      "slot-id=7");
  ASSERT_TRUE(selector.ok()) << selector.error().ToString();
  EXPECT_EQ(selector->label, "kms");
  EXPECT_EQ(selector->serial, "abc123");
  EXPECT_EQ(selector->manufacturer, "SoftHSM project");
  EXPECT_EQ(selector->model, "SoftHSM v2");
  EXPECT_EQ(selector->slot_id, 7u);
}

TEST(TokenSelectorTest, ParseTokenUri_PercentDecodesReservedCharacters) {
  auto selector = ParseTokenUri("pkcs11:token=a%3Bb%3dc%25d");
  ASSERT_TRUE(selector.ok());
  EXPECT_EQ(selector->label, "a;b=c%d");
}

TEST(TokenSelectorTest, ParseTokenUri_IgnoresObjectAttributesAndHarmlessQuery) {
  auto selector = ParseTokenUri("pkcs11:token=kms;object=tls;type=private?module-name=softhsm2");
  ASSERT_TRUE(selector.ok());
  EXPECT_EQ(selector->label, "kms");
  EXPECT_FALSE(selector->serial.has_value());
}

TEST(TokenSelectorTest, ParseTokenUri_FailsOnMalformedInput) {
  for (const char* uri : {"token=kms", "pkcs11:token=%4", "pkcs11:token=%zz", "pkcs11:colour=red",
                          "pkcs11:token", "pkcs11:slot-id=x1"}) {
    auto selector = ParseTokenUri(uri);
    ASSERT_FALSE(selector.ok()) << uri;
    EXPECT_EQ(selector.error().code(), "invalid_token_uri") << uri;
  }
}

TEST(TokenSelectorTest, ParseTokenUri_RefusesPinValueWithoutEchoingIt) {
  auto selector = ParseTokenUri("pkcs11:token=kms?pin-value=s3cret");
  ASSERT_FALSE(selector.ok());
  EXPECT_EQ(selector.error().detail().find("s3cret"), std::string::npos);
}

TEST(TokenSelectorTest, Matches_ComparesEveryNamedAttributeWithoutPadding) {
  CK_TOKEN_INFO info = TokenInfo("kms", "abc123");
  TokenSelector selector;
  selector.label = "kms";
  selector.serial = "abc123";
  EXPECT_TRUE(selector.Matches(3, info));
  selector.slot_id = 4;
  EXPECT_FALSE(selector.Matches(3, info));
  selector.slot_id.reset();
  selector.serial = "abc12";
  EXPECT_FALSE(selector.Matches(3, info));
}

TEST(TokenSelectorTest, MakeTokenSelector_FailsWhenLabelAndUriDisagreeOrBothEmpty) {
  EXPECT_FALSE(MakeTokenSelector("a", "pkcs11:token=b").ok());
  EXPECT_FALSE(MakeTokenSelector("", "").ok());
  EXPECT_FALSE(MakeTokenSelector("", "pkcs11:object=x").ok());
  auto selector = MakeTokenSelector("a", "pkcs11:token=a;serial=s");
  ASSERT_TRUE(selector.ok());
  EXPECT_EQ(selector->Describe(), "token=a;serial=s");
}

}  // namespace
}  // namespace weftkit::pkcs11
