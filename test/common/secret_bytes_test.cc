// SecretBytes guards key material: these tests pin its copy, move, truncate and comparison rules.
#include "common/secret_bytes.h"

#include <gtest/gtest.h>

namespace weftkit {
namespace {

TEST(SecretBytesTest, CopyOf_HoldsTheSameBytes) {
  SecretBytes secret = SecretBytes::CopyOf(std::string_view("pin-1234"));
  EXPECT_EQ(secret.size(), 8u);
  EXPECT_EQ(secret.expose_chars(), "pin-1234");
}

TEST(SecretBytesTest, Move_LeavesSourceEmpty) {
  SecretBytes source = SecretBytes::CopyOf(std::string_view("abc"));
  SecretBytes target = std::move(source);
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(target.expose_chars(), "abc");
}

TEST(SecretBytesTest, ConstantTimeEquals_ComparesContentAndLength) {
  SecretBytes a = SecretBytes::CopyOf(std::string_view("same"));
  SecretBytes b = SecretBytes::CopyOf(std::string_view("same"));
  SecretBytes c = SecretBytes::CopyOf(std::string_view("sama"));
  SecretBytes d = SecretBytes::CopyOf(std::string_view("sam"));
  EXPECT_TRUE(a.ConstantTimeEquals(b));
  EXPECT_FALSE(a.ConstantTimeEquals(c));
  EXPECT_FALSE(a.ConstantTimeEquals(d));
}

TEST(SecretBytesTest, Truncate_KeepsPrefix) {
  SecretBytes secret = SecretBytes::CopyOf(std::string_view("abcdef"));
  secret.Truncate(2);
  EXPECT_EQ(secret.expose_chars(), "ab");
  SecretBytes clone = secret.Clone();
  EXPECT_TRUE(clone.ConstantTimeEquals(secret));
}

TEST(SecretBytesTest, Zero_SizeIsZeroFilled) {
  SecretBytes secret(16);
  for (std::uint8_t byte : secret.expose()) EXPECT_EQ(byte, 0);
}

}  // namespace
}  // namespace weftkit
