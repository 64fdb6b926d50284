// The encoded encryption context is part of every wrap's AAD, so its bytes must be canonical
// (one encoding per context, whatever the order the caller gave) and its limits enforced before
// anything reaches the HSM.
#include "kms/encryption_context.h"

#include <gtest/gtest.h>

namespace weftkit::kms {
namespace {

using Entries = std::map<std::string, std::string>;

std::vector<std::uint8_t> Bytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

TEST(EncryptionContextTest, Encode_IsTwoZeroBytes_ForEmptyContext) {
  EXPECT_EQ(EncryptionContext().Encode(), (std::vector<std::uint8_t>{0x00, 0x00}));
  auto created = EncryptionContext::Create({});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->Encode(), (std::vector<std::uint8_t>{0x00, 0x00}));
}

TEST(EncryptionContextTest, Encode_MatchesGoldenBytes) {
  auto context = EncryptionContext::Create({{"table", "payments"}, {"engine", "relational"}});
  ASSERT_TRUE(context.ok());
  std::vector<std::uint8_t> expected = {0x00, 0x02, 0x00, 0x06};
  for (auto part : {Bytes("engine"), std::vector<std::uint8_t>{0x00, 0x0a}, Bytes("relational"),
                    std::vector<std::uint8_t>{0x00, 0x05}, Bytes("table"),
                    std::vector<std::uint8_t>{0x00, 0x08}, Bytes("payments")}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  EXPECT_EQ(context->Encode(), expected);
}

TEST(EncryptionContextTest, Encode_EncodesEmptyValueAsZeroLength) {
  auto context = EncryptionContext::Create({{"k", ""}});
  ASSERT_TRUE(context.ok());
  EXPECT_EQ(context->Encode(),
            (std::vector<std::uint8_t>{0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x00}));
}

TEST(EncryptionContextTest, Encode_IsIndependentOfInsertionOrder) {
  Entries forward;
  forward.emplace("alpha", "1");
  forward.emplace("beta", "2");
  forward.emplace("gamma", "3");
  Entries backward;
  backward.emplace("gamma", "3");
  backward.emplace("beta", "2");
  backward.emplace("alpha", "1");

  auto a = EncryptionContext::Create(forward);
  auto b = EncryptionContext::Create(backward);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Encode(), b->Encode());
  EXPECT_EQ(*a, *b);
}

// Bytewise order: uppercase before lowercase, and UTF-8 multi-byte keys (lead byte >= 0xC2)
// after every ASCII key, regardless of the signedness of char.
TEST(EncryptionContextTest, Encode_OrdersKeysBytewise) {
  auto context = EncryptionContext::Create({{"\xC3\xA9t\xC3\xA9", "1"}, {"z", "2"}, {"Z", "3"}});
  ASSERT_TRUE(context.ok());
  std::vector<std::uint8_t> encoded = context->Encode();
  std::vector<std::uint8_t> expected = {0x00, 0x03, 0x00, 0x01, 'Z',  0x00, 0x01, '3',
                                        0x00, 0x01, 'z',  0x00, 0x01, '2',  0x00, 0x05,
                                        0xC3, 0xA9, 't',  0xC3, 0xA9, 0x00, 0x01, '1'};
  EXPECT_EQ(encoded, expected);
}

TEST(EncryptionContextTest, Create_AcceptsValuesAtEveryLimit) {
  Entries entries;
  for (int i = 0; i < 63; ++i) entries.emplace("key" + std::to_string(i), "v");
  entries.emplace(std::string(EncryptionContext::kMaxKeyBytes, 'k'),
                  std::string(EncryptionContext::kMaxValueBytes, 'v'));
  ASSERT_EQ(entries.size(), EncryptionContext::kMaxEntries);
  auto context = EncryptionContext::Create(entries);
  EXPECT_TRUE(context.ok()) << context.error().ToString();
}

TEST(EncryptionContextTest, Create_FailsWithInvalidContext_PastEachLimit) {
  Entries too_many;
  for (std::size_t i = 0; i <= EncryptionContext::kMaxEntries; ++i) {
    too_many.emplace("key" + std::to_string(i), "v");
  }
  const Entries cases[] = {
      too_many,
      {{"", "empty key"}},
      {{std::string(EncryptionContext::kMaxKeyBytes + 1, 'k'), "v"}},
      {{"k", std::string(EncryptionContext::kMaxValueBytes + 1, 'v')}},
      {{"bad\xC0\x80", "v"}},           // overlong NUL
      {{"k", "\xED\xA0\x80"}},          // UTF-16 surrogate
      {{"k", "\xF4\x90\x80\x80"}},      // above U+10FFFF
      {{"k", "\x80"}},                  // lone continuation byte
      {{"k", "\xE2\x82"}},              // truncated sequence
      {{"k", "\xE0\x9F\xBF"}},          // overlong three-byte form
      {{"k", "\xF8\x88\x80\x80\x80"}},  // five-byte form
  };
  for (const Entries& entries : cases) {
    auto context = EncryptionContext::Create(entries);
    ASSERT_FALSE(context.ok());
    EXPECT_EQ(context.error().code(), "invalid_context");
    EXPECT_EQ(context.error().kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(EncryptionContextTest, IsValidUtf8_AcceptsWellFormedText) {
  for (const char* text : {"", "ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x94\x91",
                           "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBF", "\xED\x9F\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
  }
}

}  // namespace
}  // namespace weftkit::kms
