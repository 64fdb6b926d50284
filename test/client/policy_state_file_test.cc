// The policy state file (client/policy_state_file.h): what it accepts, what it refuses, and that
// a save replaces the file atomically with owner-only permissions.
#include "client/policy_state_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "client/policy_bundle_check.h"
#include "test/support/temp_dir.h"

namespace weftkit::client {
namespace {

const std::string kHash(64, 'a');

TEST(PolicyStateFileTest, SaveThenLoad_ReturnsTheState_WithOwnerOnlyPermissions) {
  testing::TempDir dir;
  std::filesystem::path path = dir.path() / "policy.state";
  ASSERT_TRUE(SavePolicyState(path, {"cluster/prod", 7, kHash}).ok());
  ASSERT_TRUE(SavePolicyState(path, {"cluster/prod", 8, kHash}).ok());  // replaces the first

  auto loaded = LoadPolicyState(path, "cluster/prod");
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->version, 8);
  EXPECT_EQ((*loaded)->content_hash, kHash);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(PolicyStateFileTest, Load_ReturnsNothing_ForAMissingFile_AndRefusesAnotherScope) {
  testing::TempDir dir;
  auto missing = LoadPolicyState(dir.path() / "none.state", "cluster/prod");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(SavePolicyState(dir.path() / "pool.state", {"pool/eu-1", 2, kHash}).ok());
  auto other = LoadPolicyState(dir.path() / "pool.state", "cluster/prod");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(PolicyErrorOf(other.error()), PolicyError::kStateFile);
}

TEST(PolicyStateFileTest, Parse_RefusesEverythingButTheExactFormat) {
  std::string good = PolicyStateText({"cluster/prod", 3, kHash});
  ASSERT_TRUE(ParsePolicyState(good).ok());
  for (const std::string& bad : {
           std::string(""),
           std::string("[]"),
           good.substr(0, good.size() / 2),
           std::string(R"({"format":"weftkit.policy-state/v2","scope":"a/b","version":1,)"
                       R"("content_hash":")") +
               kHash + "\"}",
           std::string(R"({"format":"weftkit.policy-state/v1","scope":"a/b","version":0,)"
                       R"("content_hash":")") +
               kHash + "\"}",
           std::string(R"({"format":"weftkit.policy-state/v1","scope":"a/b","version":"1",)"
                       R"("content_hash":")") +
               kHash + "\"}",
           std::string(R"({"format":"weftkit.policy-state/v1","scope":"a/b","version":1,)"
                       R"("content_hash":"ABC"})"),
           std::string(R"({"format":"weftkit.policy-state/v1","scope":"a/b","version":1,)"
                       R"("content_hash":")") +
               kHash + R"(","more":1})",
       }) {
    auto parsed = ParsePolicyState(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code(), "policy_state_invalid");
  }
}

}  // namespace
}  // namespace weftkit::client
