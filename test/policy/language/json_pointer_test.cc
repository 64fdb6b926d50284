// JSON Pointer helpers: escaping of reference tokens and the document order of problems.
#include "policy_store/language/json_pointer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace weftkit::policy {
namespace {

TEST(JsonPointerTest, EscapePointerToken_EscapesTildeAndSlash) {
  EXPECT_EQ(EscapePointerToken("plain"), "plain");
  EXPECT_EQ(EscapePointerToken("a/b"), "a~1b");
  EXPECT_EQ(EscapePointerToken("~1"), "~01");
  EXPECT_EQ(EscapePointerToken(""), "");
}

TEST(JsonPointerTest, PointerLess_OrdersIndexesNumerically_AndParentsFirst) {
  std::vector<std::string> pointers = {
      "/roles/10", "/roles/2/name",       "/bindings/0",     "/roles/2",
      "",          "/roles/2/inherits/0", "/row_security/1", "/roles/9"};
  std::sort(pointers.begin(), pointers.end(),
            [](const std::string& a, const std::string& b) { return PointerLess(a, b); });
  EXPECT_EQ(pointers, (std::vector<std::string>{"", "/bindings/0", "/roles/2",
                                                "/roles/2/inherits/0", "/roles/2/name", "/roles/9",
                                                "/roles/10", "/row_security/1"}));
}

TEST(JsonPointerTest, PointerLess_IsIrreflexive) {
  EXPECT_FALSE(PointerLess("/roles/1", "/roles/1"));
  EXPECT_FALSE(PointerLess("", ""));
}

}  // namespace
}  // namespace weftkit::policy
