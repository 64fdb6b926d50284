// kmsctl policy ..., the real binary against the real kmsd over TLS 1.3: publish, history,
// show, diff, rollback with their exit codes and --json output; fetch and verify accepting
// genuine bundles and refusing tampered, rolled-back, foreign-scope and foreign-key ones (exit 7);
// local decisions equal to the server's; the fleet.
#include <gtest/gtest.h>

#include "test/support/policy_documents.h"
#include "test/tools/kmsctl_fixture.h"

namespace weftkit::kmsctl {
namespace {

using nlohmann::json;

class KmsctlPolicyTest : public KmsctlTest {
 protected:
  // Publishes `document` with kmsctl as the officer; returns the run.
  KmsctlRun Publish(const json& document, std::vector<std::string> extra = {}) {
    std::filesystem::path file = WriteFile("policy.json", document.dump());
    std::vector<std::string> words = {"policy", "publish",     "cluster/prod",
                                      "--file", file.string(), "--json"};
    words.insert(words.end(), extra.begin(), extra.end());
    return Kmsctl("officer", words);
  }
};

TEST_F(KmsctlPolicyTest, PublishHistoryShowDiffRollback_AnswerJsonAndExitCodes) {
  KmsctlRun first = Publish(test::ReaderPolicy("a.*"), {"--comment", "first"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.Json()["version"], 1);
  EXPECT_EQ(first.Json()["comment"], "first");
  KmsctlRun second =
      Publish(test::ReaderPolicy("b.*"));  // the base defaults to the current version
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.Json()["version"], 2);

  EXPECT_EQ(Publish(test::ReaderPolicy("c.*"), {"--base-version", "1"}).exit_code,
            5);  // stale base
  json broken = test::ReaderPolicy("c.*");
  broken["bindings"][0]["roles"] = {"nobody"};
  EXPECT_EQ(Publish(broken).exit_code, 8);                     // policy_invalid
  EXPECT_EQ(Publish(test::ReaderPolicy("b.*")).exit_code, 8);  // policy_unchanged
  WriteFile("not-json.json", "{");
  EXPECT_EQ(Kmsctl("officer", {"policy", "publish", "cluster/prod", "--file",
                               (work_ / "not-json.json").string()})
                .exit_code,
            1);
  EXPECT_EQ(Kmsctl("officer", {"policy", "publish", "prod", "--file", "x"}).exit_code, 1);
  std::filesystem::path file = WriteFile("engine-policy.json", test::ReaderPolicy("z.*").dump());
  EXPECT_EQ(
      Kmsctl("engine", {"policy", "publish", "cluster/prod", "--file", file.string()}).exit_code,
      3);

  KmsctlRun history = Kmsctl("officer", {"policy", "history", "cluster/prod", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  ASSERT_EQ(history.Json()["versions"].size(), 2u);
  EXPECT_EQ(history.Json()["versions"][0]["version"], 2);
  KmsctlRun table = Kmsctl("officer", {"policy", "history", "cluster/prod", "--limit", "1"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("VERSION")) << table.out;
  EXPECT_NE(table.out.find(kOfficer), std::string::npos) << table.out;  // the BY column

  KmsctlRun shown = Kmsctl("officer", {"policy", "show", "cluster/prod", "1", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.Json()["document"], test::ReaderPolicy("a.*"));
  EXPECT_EQ(Kmsctl("officer", {"policy", "show", "cluster/prod", "9"}).exit_code, 4);

  KmsctlRun diff =
      Kmsctl("officer", {"policy", "diff", "cluster/prod", "--from", "1", "--to", "2", "--json"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  ASSERT_FALSE(diff.Json()["patch"].empty());
  EXPECT_EQ(diff.Json()["patch"][0]["value"], "b.*");
  EXPECT_EQ(Kmsctl("officer", {"policy", "diff", "cluster/prod", "--from", "1"}).exit_code, 1);

  KmsctlRun rolled = Kmsctl("officer", {"policy", "rollback", "cluster/prod", "1", "--json"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_EQ(rolled.Json()["version"], 3);
  EXPECT_EQ(rolled.Json()["rolled_back_from"], 1);
  EXPECT_EQ(Kmsctl("officer", {"policy", "rollback", "cluster/prod", "1", "--base-version", "2"})
                .exit_code,
            5);

  KmsctlRun scopes = Kmsctl("officer", {"policy", "scopes", "--json"});
  ASSERT_EQ(scopes.exit_code, 0) << scopes.err;
  EXPECT_EQ(scopes.Json()["scopes"][0]["scope"], "cluster/prod");
}

TEST_F(KmsctlPolicyTest, FetchAndVerify_AcceptGenuineBundles_AndRefuseTheRestWithExit7) {
  ASSERT_EQ(Publish(test::ReaderPolicy("a.*")).exit_code, 0);
  ASSERT_EQ(Publish(test::ReaderPolicy("b.*")).exit_code, 0);
  std::string b1 = (work_ / "b1.json").string();
  std::string b2 = (work_ / "b2.json").string();

  KmsctlRun fetched = Kmsctl("engine", {"policy", "fetch", "cluster/prod", "--out", b2, "--json"});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(fetched.Json()["version"], 2);
  EXPECT_EQ(fetched.Json()["verified"], true);
  EXPECT_NE(fetched.err.find("ETag \""), std::string::npos) << fetched.err;
  json bundle = json::parse(ReadText(b2));
  EXPECT_EQ(bundle["version"], 2);
  ASSERT_EQ(Kmsctl("engine", {"policy", "fetch", "cluster/prod", "--version", "1", "--out", b1})
                .exit_code,
            0);
  KmsctlRun to_stdout = Kmsctl("engine", {"policy", "fetch", "cluster/prod", "--json"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.Json(), bundle);

  KmsctlRun from_file =
      Kmsctl("engine", {"policy", "verify", "cluster/prod", "--file", b2, "--json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.Json()["version"], 2);
  EXPECT_EQ(from_file.Json()["source"], b2);
  KmsctlRun live = Kmsctl("engine", {"policy", "verify", "cluster/prod"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_NE(live.out.find("version 2 verified"), std::string::npos) << live.out;

  // A flipped character in the signature, a changed document: exit 7, named.
  json tampered = bundle;
  std::string jws = tampered["signature"];
  jws[jws.size() - 10] = jws[jws.size() - 10] == 'A' ? 'B' : 'A';
  tampered["signature"] = jws;
  WriteFile("tampered.json", tampered.dump());
  KmsctlRun bad_signature = Kmsctl(
      "engine", {"policy", "verify", "cluster/prod", "--file", (work_ / "tampered.json").string()});
  EXPECT_EQ(bad_signature.exit_code, 7);
  EXPECT_NE(bad_signature.err.find("bundle_signature_invalid"), std::string::npos)
      << bad_signature.err;
  json changed = bundle;
  changed["document"]["bindings"][0]["principal"] = "mallory";
  WriteFile("changed.json", changed.dump());
  KmsctlRun bad_hash = Kmsctl(
      "engine", {"policy", "verify", "cluster/prod", "--file", (work_ / "changed.json").string()});
  EXPECT_EQ(bad_hash.exit_code, 7);
  EXPECT_NE(bad_hash.err.find("bundle_hash_mismatch"), std::string::npos) << bad_hash.err;

  // Rollback against a given version, and against a watcher's state file.
  KmsctlRun rolled_back =
      Kmsctl("engine", {"policy", "verify", "cluster/prod", "--file", b1, "--min-version", "2"});
  EXPECT_EQ(rolled_back.exit_code, 7);
  EXPECT_NE(rolled_back.err.find("bundle_rollback"), std::string::npos) << rolled_back.err;
  std::filesystem::path state =
      WriteFile("engine.state", json({{"format", "weftkit.policy-state/v1"},
                                      {"scope", "cluster/prod"},
                                      {"version", 2},
                                      {"content_hash", bundle["content_hash"]}})
                                    .dump());
  EXPECT_EQ(Kmsctl("engine",
                   {"policy", "verify", "cluster/prod", "--file", b1, "--state", state.string()})
                .exit_code,
            7);
  EXPECT_EQ(Kmsctl("engine",
                   {"policy", "verify", "cluster/prod", "--file", b2, "--state", state.string()})
                .exit_code,
            0);
  std::string refused_out = (work_ / "refused.json").string();
  EXPECT_EQ(Kmsctl("engine",
                   {"policy", "fetch", "cluster/prod", "--min-version", "3", "--out", refused_out})
                .exit_code,
            7);
  EXPECT_FALSE(std::filesystem::exists(refused_out));  // nothing written for a refused bundle

  // Another scope, pinned keys that are (not) the server's, a scope that is not one.
  EXPECT_EQ(Kmsctl("engine", {"policy", "verify", "cluster/other", "--file", b2}).exit_code, 7);
  std::string pinned = (work_ / "keys.json").string();
  KmsctlRun keys = Kmsctl("engine", {"policy", "keys", "--out", pinned, "--json"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_EQ(keys.Json(), json::parse(ReadText(pinned)));
  EXPECT_EQ(keys.Json()["keys"][0]["kid"], from_file.Json()["kid"]);
  EXPECT_EQ(Kmsctl("engine", {"policy", "verify", "cluster/prod", "--file", b2, "--keys", pinned})
                .exit_code,
            0);
  json foreign = keys.Json();
  foreign["keys"] = json::array();
  std::filesystem::path empty = WriteFile("no-keys.json", foreign.dump());
  KmsctlRun unknown_kid = Kmsctl(
      "engine", {"policy", "verify", "cluster/prod", "--file", b2, "--keys", empty.string()});
  EXPECT_EQ(unknown_kid.exit_code, 7);
  EXPECT_NE(unknown_kid.err.find("bundle_unknown_kid"), std::string::npos) << unknown_kid.err;
  EXPECT_EQ(Kmsctl("engine", {"policy", "verify", "galaxy/far", "--file", b2}).exit_code, 1);
  EXPECT_EQ(Kmsctl("", {"policy", "verify", "cluster/prod"}).exit_code, 2);
}

TEST_F(KmsctlPolicyTest, CheckLocal_EqualsTheServer_AndFleetListsReporters) {
  ASSERT_EQ(Publish(test::ReaderPolicy("sales.*")).exit_code, 0);
  for (const auto& [principal, resource] : std::vector<std::pair<std::string, std::string>>{
           {"alice", "sales.orders"}, {"alice", "hr.salaries"}, {"bob", "sales.orders"}}) {
    std::vector<std::string> words = {"policy",  "check",           "cluster/prod", "--principal",
                                      principal, "--database-type", "relational",   "--action",
                                      "select",  "--resource",      resource,       "--json"};
    KmsctlRun server = Kmsctl("engine", words);
    ASSERT_EQ(server.exit_code, 0) << server.err;
    words.push_back("--local");
    KmsctlRun local = Kmsctl("engine", words);
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(local.Json(), server.Json()) << principal << " " << resource;
    EXPECT_EQ(local.Json()["allowed"], principal == "alice" && resource == "sales.orders");
  }
  EXPECT_EQ(Kmsctl("engine", {"policy", "check", "cluster/prod", "--principal", "alice"}).exit_code,
            1);

  test::HttpResponse reported = Call(*engine_, "POST", "/v1/policy/scopes/cluster/prod/reports",
                                     {{"instance", "orders-1"}, {"version", 1}});
  ASSERT_EQ(reported.status, 200) << reported.body;
  KmsctlRun fleet = Kmsctl("officer", {"policy", "fleet", "cluster/prod", "--json"});
  ASSERT_EQ(fleet.exit_code, 0) << fleet.err;
  EXPECT_EQ(fleet.Json()["reporters"], 1);
  EXPECT_EQ(fleet.Json()["members"][0]["instance"], "orders-1");
  KmsctlRun table = Kmsctl("officer", {"policy", "fleet", "cluster/prod"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("orders-1"), std::string::npos) << table.out;
}

TEST_F(KmsctlPolicyTest, RotateKey_NewKeySigns_AndTheOldBundleStillVerifies) {
  ASSERT_EQ(Publish(test::ReaderPolicy("sales.*")).exit_code, 0);
  std::string b1 = (work_ / "b1.json").string();
  ASSERT_EQ(Kmsctl("engine", {"policy", "fetch", "cluster/prod", "--out", b1}).exit_code, 0);

  EXPECT_EQ(Kmsctl("officer", {"policy", "rotate-key"}).exit_code, 3);
  KmsctlRun rotated = Kmsctl("admin", {"policy", "rotate-key", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  ASSERT_EQ(rotated.Json()["keys"].size(), 2u) << rotated.out;
  const json new_kid = rotated.Json()["active_kid"];
  EXPECT_EQ(rotated.Json()["keys"][1]["kid"], new_kid);

  ASSERT_EQ(Publish(test::ReaderPolicy("hr.*")).exit_code, 0);
  KmsctlRun live = Kmsctl("engine", {"policy", "verify", "cluster/prod", "--json"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_EQ(live.Json()["kid"], new_kid) << live.out;
  EXPECT_EQ(Kmsctl("engine", {"policy", "verify", "cluster/prod", "--file", b1}).exit_code, 0);
}

TEST_F(KmsctlPolicyTest, Help_DescribesEveryPolicyCommand) {
  for (const char* command : {"scopes", "history", "show", "publish", "diff", "rollback", "fetch",
                              "verify", "check", "keys", "rotate-key", "fleet"}) {
    KmsctlRun help = Kmsctl(std::vector<std::string>{"policy", command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find(std::string("kmsctl policy ") + command), std::string::npos)
        << help.out;
  }
  KmsctlRun verify = Kmsctl(std::vector<std::string>{"policy", "verify", "--help"});
  EXPECT_NE(verify.out.find("bundle_rollback"), std::string::npos) << verify.out;
}

}  // namespace
}  // namespace weftkit::kmsctl
