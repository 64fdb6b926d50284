// kmsctl's pure parts: argument parsing, profiles, exit codes, envelope key names, tables.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "tools/kmsctl/arguments.h"
#include "tools/kmsctl/bulk_rewrap.h"
#include "tools/kmsctl/command.h"
#include "tools/kmsctl/exit_codes.h"
#include "tools/kmsctl/output.h"
#include "tools/kmsctl/profile.h"

namespace weftkit::kmsctl {
namespace {

TEST(ArgumentsTest, Parse_SeparatesWordsOptionsAndFlags) {
  auto args = Arguments::Parse({"keys", "create", "orders", "--description", "d", "--json",
                                "--context=a=b", "--context", "c=d"},
                               {"json"});
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->positional(), (std::vector<std::string>{"keys", "create", "orders"}));
  EXPECT_EQ(args->Get("description"), "d");
  EXPECT_TRUE(args->Has("json"));
  EXPECT_EQ(args->GetAll("context"), (std::vector<std::string>{"a=b", "c=d"}));
}

TEST(ArgumentsTest, Parse_Fails_ForOptionWithoutValue) {
  auto args = Arguments::Parse({"keys", "create", "--description"}, {});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(ExitCodeFor(args.error()), kExitUsage);
}

TEST(ArgumentsTest, Parse_TreatsEverythingAfterDoubleDashAsWords) {
  auto args = Arguments::Parse({"--", "--json"}, {"json"});
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->Has("json"));
  EXPECT_EQ(args->positional().size(), 1u);
}

class ProfileTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& text) {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("kmsctl-profile-" + std::to_string(::getpid()) + ".conf");
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ProfileTest, Load_ReadsSettings_AndResolvesRelativePaths) {
  auto path = Write("# comment\nserver = https://kms:9443\nca = pki/ca.pem\nuser = alice\n");
  auto profile = Profile::Load(path);
  ASSERT_TRUE(profile.ok()) << profile.error().ToString();
  EXPECT_EQ(profile->server, "https://kms:9443");
  EXPECT_EQ(profile->ca, (path.parent_path() / "pki/ca.pem").string());
  EXPECT_EQ(profile->user, "alice");
  std::filesystem::remove(path);
}

TEST_F(ProfileTest, Load_Fails_NamingTheLine_ForUnknownSetting) {
  auto path = Write("server = https://kms\npasword_file = x\n");
  auto profile = Profile::Load(path);
  ASSERT_FALSE(profile.ok());
  EXPECT_NE(profile.error().detail().find(":2: unknown setting 'pasword_file'"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ExitCodesTest, ExitCodeFor_FollowsTheDocumentedTable) {
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kUnauthenticated, "credentials_required", "")), kExitAuth);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kPermissionDenied, "forbidden", "")), kExitForbidden);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kNotFound, "key_not_found", "")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kAlreadyExists, "key_exists", "")), kExitConflict);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kUnavailable, "client_connect_failed", "")),
            kExitUnavailable);
  EXPECT_EQ(
      ExitCodeFor(Error(ErrorKind::kFailedPrecondition, "envelope_authentication_failed", "")),
      kExitVerification);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kInvalidArgument, "invalid_field", "")), kExitRejected);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kResourceExhausted, "account_locked", "")), kExitAuth);
}

TEST(ExitCodesTest, ExitCodeFor_RefusedPolicyBundle_IsVerificationFailure) {
  for (const char* code : {"bundle_rollback", "bundle_not_yet_valid", "bundle_policy_invalid"}) {
    EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kFailedPrecondition, code, "")), kExitVerification)
        << code;
  }
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kDataLoss, "bundle_signature_invalid", "")),
            kExitVerification);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kInvalidArgument, "jwk_set_invalid", "")),
            kExitVerification);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kFailedPrecondition, "policy_state_invalid", "")),
            kExitUsage);
}

TEST(BulkRewrapTest, KeyNameInEnvelope_ReadsTheNameField) {
  std::string bytes = std::string("WK\x01\x01\x00\x00\x00\x01", 8) + "\x06" + "orders" +
                      std::string(12 + 2 + 32 + 16, '\0');
  EXPECT_EQ(KeyNameInEnvelope(Base64Encode(AsBytes(bytes))), "orders");
  EXPECT_EQ(KeyNameInEnvelope("not base64!"), "");
  EXPECT_EQ(KeyNameInEnvelope(Base64Encode(AsBytes(std::string("XX") + bytes.substr(2)))), "");
  EXPECT_EQ(KeyNameInEnvelope(Base64Encode(AsBytes(bytes.substr(0, 11)))), "");
}

TEST(OutputTest, Table_AlignsColumns_AndShowsNullAsDash) {
  std::ostringstream text;
  Output out(false, text);
  out.Table(
      {{"keys", {{{"name", "orders"}, {"period", nullptr}}, {{"name", "a"}, {"period", 60}}}}},
      "keys", {{"NAME", "name"}, {"PERIOD", "period"}});
  EXPECT_EQ(text.str(), "NAME    PERIOD\norders  -\na       60\n");
}

// A command option named like a global one would silently take the global's value (--key is
// the client key file, not a key name): every name must be unique.
TEST(CommandTableTest, Commands_DoNotReuseGlobalOptionNames) {
  for (const Command& command : Commands()) {
    for (const auto* names : {&command.options, &command.flags}) {
      for (const std::string& name : *names) {
        EXPECT_EQ(GlobalOptions().count(name) + GlobalFlags().count(name), 0u)
            << command.words[0] << " " << command.words.back() << " --" << name;
      }
    }
  }
}

TEST(CommandTableTest, Commands_HaveUniqueWordsAndHelp) {
  std::set<std::vector<std::string>> seen;
  for (const Command& command : Commands()) {
    EXPECT_TRUE(seen.insert(command.words).second) << command.words[0];
    EXPECT_FALSE(command.summary.empty()) << command.words[0];
    EXPECT_LE(command.min_positional, command.max_positional);
    EXPECT_TRUE(static_cast<bool>(command.run));
  }
  EXPECT_GT(seen.size(), 40u);
}

}  // namespace
}  // namespace weftkit::kmsctl
