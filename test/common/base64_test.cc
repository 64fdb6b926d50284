// Base64 must accept exactly one encoding per byte string: these tests pin the RFC 4648 vectors
// and every way a decoder could be lenient.
#include "common/base64.h"

#include <gtest/gtest.h>

namespace weftkit {
namespace {

std::string Decoded(std::string_view text) {
  auto bytes = Base64Decode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  if (!bytes.ok()) return "";
  return std::string(bytes->begin(), bytes->end());
}

TEST(Base64Test, EncodeDecode_MatchRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    EXPECT_EQ(Decoded(encoded), plain);
  }
}

TEST(Base64Test, Decode_Fails_OnNonCanonicalInput) {
  for (const char* bad :
       {"Zg", "Zg=", "Zh==", "Zm9v\n", "Zm 9v", "Zm9v====", "Z===", "Zm9!", "=Zm9", "Zg==Zg=="}) {
    auto result = Base64Decode(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code(), "invalid_base64");
  }
}

TEST(Base64Test, UrlVariant_RoundTripsWithoutPadding) {
  const std::uint8_t bytes[] = {0xfb, 0xff, 0xfe, 0x00};
  std::string encoded = Base64UrlEncode(bytes);
  EXPECT_EQ(encoded, "-__-AA");
  auto decoded = Base64UrlDecode(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::vector<std::uint8_t>(std::begin(bytes), std::end(bytes)));
  EXPECT_FALSE(Base64UrlDecode("-__-AA==").ok());
  EXPECT_FALSE(Base64UrlDecode("+//+AA").ok());
}

TEST(Base64Test, DecodeSecret_ProducesSameBytes) {
  auto secret = Base64DecodeSecret("Zm9vYmFy");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->expose_chars(), "foobar");
}

}  // namespace
}  // namespace weftkit
