#include "policy_store/canonical_json.h"

#include <gtest/gtest.h>

namespace weftkit::policy_store {
namespace {

TEST(CanonicalJsonTest, CanonicalJson_SortsMembersAndDropsWhitespace) {
  nlohmann::json document =
      nlohmann::json::parse(R"({ "b": [1, {"z": true, "a": null}], "a": "x" })");
  Result<std::string> text = CanonicalJson(document);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"a":"x","b":[1,{"a":null,"z":true}]})");
}

TEST(CanonicalJsonTest, CanonicalJson_KeepsUtf8AndEscapesControls) {
  nlohmann::json document = {{"name", "Zo\xc3\xab\n\x01"}};
  Result<std::string> text = CanonicalJson(document);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{\"name\":\"Zo\xc3\xab\\n\\u0001\"}");
}

TEST(CanonicalJsonTest, CanonicalJson_Fails_OnInvalidUtf8) {
  nlohmann::json document = {{"name", std::string("\xff\xfe")}};
  Result<std::string> text = CanonicalJson(document);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), "policy_not_utf8");
}

TEST(CanonicalJsonTest, Sha256Hex_MatchesFips180Vector) {
  Result<std::string> hash = Sha256Hex("abc");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CanonicalJsonTest, ContentHash_IsTheSameForEquivalentDocuments) {
  Result<std::string> first = ContentHash(nlohmann::json::parse(R"({"a":1,"b":2})"));
  Result<std::string> second = ContentHash(nlohmann::json::parse("{ \"b\" : 2,\n \"a\" : 1 }"));
  Result<std::string> other = ContentHash(nlohmann::json::parse(R"({"a":1,"b":3})"));
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_NE(*first, *other);
}

}  // namespace
}  // namespace weftkit::policy_store
