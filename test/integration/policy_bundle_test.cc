// Policy bundles through the real kmsd over TLS 1.3, with a fresh SoftHSM token and SQLite file:
// publishing with validation problems and optimistic concurrency, history, diff and rollback,
// ETag and 304, long polls woken by a publish (timed) or ended by their timeout or a shutdown,
// signatures checked by jwcrypto and by the engine-side verifier (rollback protection), fleet
// reports and the check endpoint.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "policy_store/canonical_json.h"
#include "policy_store/policy_bundle_verifier.h"
#include "test/integration/kmsd_test.h"
#include "test/support/policy_documents.h"

namespace weftkit::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kScope = "cluster/prod";
constexpr const char* kBase = "/v1/policy/scopes/cluster/prod";

std::int64_t Millis(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

class PolicyBundleTest : public KmsdTest {
 protected:
  HttpResponse Publish(const nlohmann::json& document, std::int64_t base,
                       HttpsClient* client = nullptr) {
    return Call(client ? *client : *officer_, "POST", std::string(kBase) + "/versions",
                {{"document", document}, {"base_version", base}, {"comment", "test"}});
  }

  void PublishOk(const nlohmann::json& document, std::int64_t base) {
    HttpResponse published = Publish(document, base);
    ASSERT_EQ(published.status, 201) << published.body;
  }

  HttpResponse Fetch(HttpsClient& client, const HeaderList& headers,
                     const std::string& query = "") {
    auto response = client.Send("GET", std::string(kBase) + "/bundle" + query, "", headers);
    EXPECT_TRUE(response.ok()) << response.error().ToString();
    return response.ok() ? std::move(response).value() : HttpResponse{};
  }

  policy_store::PolicyBundleVerifier Verifier() {
    auto anonymous = kmsd_->Client("");
    HttpResponse keys = Call(*anonymous, "GET", "/v1/policy/keys");
    EXPECT_EQ(keys.status, 200);
    auto verifier =
        policy_store::PolicyBundleVerifier::FromJwkSet(nlohmann::json::parse(keys.body));
    EXPECT_TRUE(verifier.ok()) << verifier.error().ToString();
    return std::move(verifier).value();
  }
};

TEST_F(PolicyBundleTest, Publish_Answers422_WithEveryProblemAndItsPointer) {
  nlohmann::json broken = test::ReaderPolicy("sales.*");
  broken["bindings"][0]["roles"] = {"nobody"};
  broken["roles"][0]["grants"][0]["actions"] = {"fly"};
  HttpResponse refused = Publish(broken, 0);
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.Header("content-type"), "application/problem+json");
  nlohmann::json body = nlohmann::json::parse(refused.body);
  EXPECT_EQ(body["code"], "policy_invalid");
  std::vector<std::string> pointers;
  for (const nlohmann::json& problem : body["problems"]) {
    EXPECT_TRUE(problem.contains("code") && problem.contains("message")) << problem;
    pointers.push_back(problem["pointer"]);
  }
  EXPECT_NE(std::find(pointers.begin(), pointers.end(), "/bindings/0/roles/0"), pointers.end())
      << refused.body;
  EXPECT_NE(std::find(pointers.begin(), pointers.end(), "/roles/0/grants/0/actions/0"),
            pointers.end())
      << refused.body;
  // Nothing was stored.
  EXPECT_EQ(Fetch(*engine_, {}).status, 404);
}

TEST_F(PolicyBundleTest, Publish_Answers409WithCurrentVersion_WhenBaseIsStale) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  HttpResponse stale = Publish(test::ReaderPolicy("c.*"), 1);
  ASSERT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(Code(stale), "policy_version_conflict");
  EXPECT_EQ(nlohmann::json::parse(stale.body)["current_version"], 2);
  HttpResponse unchanged = Publish(test::ReaderPolicy("b.*"), 2);
  EXPECT_EQ(unchanged.status, 422);
  EXPECT_EQ(Code(unchanged), "policy_unchanged");
  HttpResponse missing_base = Call(*officer_, "POST", std::string(kBase) + "/versions",
                                   {{"document", test::ReaderPolicy("d.*")}});
  EXPECT_EQ(missing_base.status, 400);
  HttpResponse bad_scope = Call(*officer_, "POST", "/v1/policy/scopes/galaxy/prod/versions",
                                {{"document", test::ReaderPolicy("d.*")}, {"base_version", 0}});
  EXPECT_EQ(bad_scope.status, 400);
  EXPECT_EQ(Code(bad_scope), "invalid_scope");
}

TEST_F(PolicyBundleTest, HistoryDiffAndRollback_DescribeAndRestoreVersions) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  HttpResponse rolled = Call(*officer_, "POST", std::string(kBase) + "/rollback",
                             {{"version", 1}, {"base_version", 2}});
  ASSERT_EQ(rolled.status, 201) << rolled.body;
  nlohmann::json version = nlohmann::json::parse(rolled.body);
  EXPECT_EQ(version["version"], 3);
  EXPECT_EQ(version["rolled_back_from"], 1);
  EXPECT_EQ(version["comment"], "rollback to version 1");
  EXPECT_EQ(version["author"], kOfficer);

  HttpResponse page = Call(*officer_, "GET", std::string(kBase) + "/versions?limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  nlohmann::json history = nlohmann::json::parse(page.body);
  ASSERT_EQ(history["versions"].size(), 2u);
  EXPECT_EQ(history["versions"][0]["version"], 3);
  EXPECT_EQ(history["next_before"], 2);
  nlohmann::json rest =
      nlohmann::json::parse(Call(*officer_, "GET", std::string(kBase) + "/versions?before=2").body);
  ASSERT_EQ(rest["versions"].size(), 1u);
  EXPECT_EQ(rest["next_before"], nullptr);

  HttpResponse diff = Call(*officer_, "GET", std::string(kBase) + "/diff?from=1&to=2");
  ASSERT_EQ(diff.status, 200) << diff.body;
  nlohmann::json patch = nlohmann::json::parse(diff.body)["patch"];
  EXPECT_EQ(test::ReaderPolicy("a.*").patch(patch), test::ReaderPolicy("b.*"));
  EXPECT_EQ(Call(*officer_, "GET", std::string(kBase) + "/diff?from=1&to=9").status, 404);
  EXPECT_EQ(Call(*officer_, "GET", std::string(kBase) + "/diff?from=1&too=2").status, 400);
  HttpResponse one = Call(*officer_, "GET", std::string(kBase) + "/versions/3");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(nlohmann::json::parse(one.body)["document"], test::ReaderPolicy("a.*"));
}

TEST_F(PolicyBundleTest, ChangeHistory_ListsEveryVersionWithTheRequestThatPublishedIt) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  HttpResponse rolled = Call(*officer_, "POST", std::string(kBase) + "/rollback",
                             {{"version", 1}, {"base_version", 2}});
  ASSERT_EQ(rolled.status, 201) << rolled.body;

  HttpResponse history = Call(*officer_, "GET", "/v1/audit/compliance/change-history");
  ASSERT_EQ(history.status, 200) << history.body;
  std::vector<std::string> events;
  const nlohmann::json body = nlohmann::json::parse(history.body);
  for (const auto& event : body["events"]) {
    if (event["object"].get<std::string>() != std::string("policy/") + kScope) continue;
    EXPECT_FALSE(event["request_id"].get<std::string>().empty()) << event.dump();
    events.push_back(event["event"].get<std::string>() + " v" + event["version"].dump() + " by " +
                     event["principal"].get<std::string>() + " from " +
                     event["source"].get<std::string>());
  }
  const std::string by = std::string(" by ") + kOfficer + " from policy_store+audit_log";
  EXPECT_EQ(events,
            (std::vector<std::string>{"policy_published v1" + by, "policy_published v2" + by,
                                      "policy_rolled_back v3" + by}))
      << history.body;
}

TEST_F(PolicyBundleTest, Bundle_CarriesContentHashAsETag_And304ForIfNoneMatch) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  HttpResponse bundle = Fetch(*engine_, {});
  ASSERT_EQ(bundle.status, 200) << bundle.body;
  nlohmann::json body = nlohmann::json::parse(bundle.body);
  EXPECT_EQ(body["scope"], kScope);
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["content_hash"], *policy_store::ContentHash(test::ReaderPolicy("a.*")));
  EXPECT_EQ(bundle.Header("etag"), "\"" + body["content_hash"].get<std::string>() + "\"");

  HttpResponse same = Fetch(*engine_, {{"if-none-match", bundle.Header("etag")}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(same.Header("etag"), bundle.Header("etag"));
  EXPECT_EQ(Fetch(*engine_, {{"if-none-match", "W/" + bundle.Header("etag")}}).status, 304);
  EXPECT_EQ(Fetch(*engine_, {{"if-none-match", "\"other\""}}).status, 200);
  EXPECT_EQ(Fetch(*engine_, {}, "?version=1").status, 200);
  EXPECT_EQ(Fetch(*engine_, {}, "?version=2").status, 404);
}

TEST_F(PolicyBundleTest, LongPoll_AnswersWithin100ms_OfAPublish) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  std::string etag = Fetch(*engine_, {}).Header("etag");

  auto poll = std::async(std::launch::async, [&] {
    HttpResponse response = Fetch(*engine_, {{"if-none-match", etag}, {"prefer", "wait=10"}});
    return std::make_pair(response, Clock::now());
  });
  // The poll is parked before the publish: it has not answered after half a second.
  ASSERT_EQ(poll.wait_for(500ms), std::future_status::timeout);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  Clock::time_point published = Clock::now();

  auto [response, answered] = poll.get();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(nlohmann::json::parse(response.body)["version"], 2);
  EXPECT_EQ(response.Header("preference-applied"), "wait=10");
  EXPECT_NE(response.Header("etag"), etag);
  std::int64_t wake_ms = Millis(answered - published);
  std::printf("long poll answered %lld ms after the publish response\n",
              static_cast<long long>(wake_ms));
  EXPECT_LT(wake_ms, 100);
}

TEST_F(PolicyBundleTest, LongPoll_Answers304_AtItsTimeout) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  std::string etag = Fetch(*engine_, {}).Header("etag");
  Clock::time_point start = Clock::now();
  HttpResponse response = Fetch(*engine_, {{"if-none-match", etag}, {"prefer", "wait=1"}});
  std::int64_t waited = Millis(Clock::now() - start);
  EXPECT_EQ(response.status, 304);
  EXPECT_EQ(response.Header("preference-applied"), "wait=1");
  EXPECT_GE(waited, 950);
  EXPECT_LT(waited, 2000);
  // The connection is still usable afterwards.
  EXPECT_EQ(Fetch(*engine_, {}).status, 200);
}

TEST_F(PolicyBundleTest, LongPoll_WakesEveryPoller_OnOnePublish) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  std::string etag = Fetch(*engine_, {}).Header("etag");
  constexpr int kPollers = 100;
  std::vector<std::unique_ptr<HttpsClient>> clients;
  for (int i = 0; i < kPollers; ++i) {
    clients.push_back(kmsd_->Client("engine"));
    ASSERT_NE(clients.back(), nullptr);
  }
  std::vector<std::future<HttpResponse>> polls;
  for (auto& client : clients) {
    polls.push_back(std::async(std::launch::async, [&, c = client.get()] {
      return Fetch(*c, {{"if-none-match", etag}, {"prefer", "wait=20"}});
    }));
  }
  std::this_thread::sleep_for(700ms);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  Clock::time_point published = Clock::now();
  for (auto& poll : polls) {
    HttpResponse response = poll.get();
    EXPECT_EQ(response.status, 200);
  }
  std::int64_t all_ms = Millis(Clock::now() - published);
  std::printf("%d long polls answered within %lld ms of the publish\n", kPollers,
              static_cast<long long>(all_ms));
  EXPECT_LT(all_ms, 1000);
}

TEST_F(PolicyBundleTest, LongPoll_IsAnsweredAtOnce_WhenServerStops) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  std::string etag = Fetch(*engine_, {}).Header("etag");
  auto poll = std::async(std::launch::async, [&] {
    return Fetch(*engine_, {{"if-none-match", etag}, {"prefer", "wait=60"}});
  });
  ASSERT_EQ(poll.wait_for(500ms), std::future_status::timeout);
  Clock::time_point stop = Clock::now();
  kmsd_->Stop();
  HttpResponse response = poll.get();
  EXPECT_EQ(response.status, 304);
  EXPECT_LT(Millis(Clock::now() - stop), 3000);
}

TEST_F(PolicyBundleTest, Signature_VerifiesWithJwcrypto) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  auto anonymous = kmsd_->Client("");
  std::filesystem::path keys = kmsd_->dir() / "policy-keys.json";
  std::filesystem::path bundle = kmsd_->dir() / "policy-bundle.json";
  std::ofstream(keys) << Call(*anonymous, "GET", "/v1/policy/keys").body;
  std::ofstream(bundle) << Fetch(*engine_, {}).body;

  std::string command = std::string(WEFTKIT_SYSTEM_PYTHON3) + " " + WEFTKIT_POLICY_JWS_CHECK +
                        " '" + keys.string() + "' '" + bundle.string() + "' 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char output[512] = {};
  std::size_t read = std::fread(output, 1, sizeof(output) - 1, pipe);
  int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << std::string(output, read);
  EXPECT_EQ(std::string(output, read), "ok\n");
}

TEST_F(PolicyBundleTest, Verifier_AcceptsCurrent_AndRefusesAnOlderVersion) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  policy_store::PolicyBundleVerifier verifier = Verifier();
  nlohmann::json current = nlohmann::json::parse(Fetch(*engine_, {}).body);
  auto accepted = verifier.Verify(current, kScope, 1);
  ASSERT_TRUE(accepted.ok()) << accepted.error().ToString();
  EXPECT_EQ(accepted->claims.version, 2);

  // A genuine, correctly signed older bundle (as a replaying proxy would serve it).
  nlohmann::json old = nlohmann::json::parse(Fetch(*engine_, {}, "?version=1").body);
  auto replayed = verifier.Verify(old, kScope, accepted->claims.version);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().code(), "bundle_rollback");
  EXPECT_EQ(verifier.Verify(current, "cluster/other", 0).error().code(), "bundle_scope_mismatch");
}

TEST_F(PolicyBundleTest, SigningKeyRotation_NewKeySigns_OldBundlesKeepVerifying) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  policy_store::PolicyBundleVerifier before = Verifier();
  nlohmann::json first = nlohmann::json::parse(Fetch(*engine_, {}).body);

  HttpResponse refused = Call(*officer_, "POST", "/v1/policy/keys/rotate");
  EXPECT_EQ(refused.status, 403) << refused.body;
  HttpResponse rotated = Call(*admin_, "POST", "/v1/policy/keys/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  nlohmann::json answer = nlohmann::json::parse(rotated.body);
  const std::string new_kid = answer["active_kid"];
  ASSERT_EQ(answer["keys"].size(), 2u) << rotated.body;
  EXPECT_EQ(answer["keys"][1]["kid"], new_kid);

  PublishOk(test::ReaderPolicy("b.*"), 1);
  nlohmann::json second = nlohmann::json::parse(Fetch(*engine_, {}).body);
  HttpResponse version = Call(*officer_, "GET", std::string(kBase) + "/versions/2");
  EXPECT_EQ(nlohmann::json::parse(version.body)["kid"], new_kid) << version.body;

  // A verifier holding only the old set cannot place the new kid: it must fetch the keys again.
  EXPECT_EQ(before.Verify(second, kScope, 1).error().code(), "bundle_unknown_kid");
  policy_store::PolicyBundleVerifier after = Verifier();
  auto old_bundle = after.Verify(first, kScope, 0);
  EXPECT_TRUE(old_bundle.ok()) << old_bundle.error().ToString();
  auto new_bundle = after.Verify(second, kScope, 1);
  ASSERT_TRUE(new_bundle.ok()) << new_bundle.error().ToString();
  EXPECT_EQ(new_bundle->claims.version, 2);

  // The rotation survives a restart: the newest key still signs.
  kmsd_->Restart();
  admin_ = kmsd_->Client("admin");
  officer_ = kmsd_->Client("officer");
  PublishOk(test::ReaderPolicy("c.*"), 2);
  HttpResponse third = Call(*officer_, "GET", std::string(kBase) + "/versions/3");
  EXPECT_EQ(nlohmann::json::parse(third.body)["kid"], new_kid) << third.body;
}

TEST_F(PolicyBundleTest, Fleet_ShowsEachReporterAndWhoIsBehind) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  HttpResponse reported = Call(*engine_, "POST", std::string(kBase) + "/reports",
                               {{"instance", "orders-1"}, {"version", 1}});
  ASSERT_EQ(reported.status, 200) << reported.body;
  EXPECT_EQ(nlohmann::json::parse(reported.body)["behind"], false);
  PublishOk(test::ReaderPolicy("b.*"), 1);
  EXPECT_EQ(Call(*engine_, "POST", std::string(kBase) + "/reports",
                 {{"instance", "orders-2"}, {"version", 2}})
                .status,
            200);
  EXPECT_EQ(Call(*engine_, "POST", std::string(kBase) + "/reports",
                 {{"instance", "orders-3"}, {"version", 7}})
                .status,
            422);

  HttpResponse fleet = Call(*officer_, "GET", std::string(kBase) + "/fleet");
  ASSERT_EQ(fleet.status, 200) << fleet.body;
  nlohmann::json status = nlohmann::json::parse(fleet.body);
  EXPECT_EQ(status["current_version"], 2);
  EXPECT_EQ(status["reporters"], 2);
  EXPECT_EQ(status["behind"], 1);
  ASSERT_EQ(status["members"].size(), 2u);
  EXPECT_EQ(status["members"][0]["principal"], kEngine);
  EXPECT_EQ(status["members"][0]["instance"], "orders-1");
  EXPECT_EQ(status["members"][0]["behind"], true);
  EXPECT_EQ(status["members"][1]["behind"], false);
  EXPECT_EQ(status["members"][1]["stale"], false);
}

TEST_F(PolicyBundleTest, Check_DecidesWithCurrentOrGivenVersion) {
  PublishOk(test::ReaderPolicy("sales.*"), 0);
  PublishOk(test::ReaderPolicy("hr.*"), 1);
  nlohmann::json request = {{"principal", "alice"},
                            {"database_type", "relational"},
                            {"action", "select"},
                            {"resource", "sales.orders"}};
  HttpResponse current = Call(*engine_, "POST", std::string(kBase) + "/check", request);
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(nlohmann::json::parse(current.body)["allowed"], false);
  HttpResponse old = Call(*engine_, "POST", std::string(kBase) + "/check?version=1", request);
  ASSERT_EQ(old.status, 200) << old.body;
  nlohmann::json decision = nlohmann::json::parse(old.body);
  EXPECT_EQ(decision["allowed"], true);
  EXPECT_EQ(decision["rule"], "/roles/0/grants/0");
  EXPECT_EQ(Call(*engine_, "POST", std::string(kBase) + "/check", {{"principal", 1}}).status, 400);
}

// A server that lets only one long poll wait at a time.
class PolicyLongPollLimitTest : public PolicyBundleTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    options.settings["server.max_parked_requests"] = "1";
    options.settings["policy.max_wait_s"] = "2";
    return options;
  }
};

TEST_F(PolicyLongPollLimitTest, LongPoll_Answers503_WhenTheParkingLotIsFull) {
  PublishOk(test::ReaderPolicy("a.*"), 0);
  std::string etag = Fetch(*engine_, {}).Header("etag");
  auto first = std::async(std::launch::async, [&] {
    return Fetch(*engine_, {{"if-none-match", etag}, {"prefer", "wait=60"}});
  });
  ASSERT_EQ(first.wait_for(500ms), std::future_status::timeout);

  auto second_client = kmsd_->Client("engine");
  HttpResponse refused = Fetch(*second_client, {{"if-none-match", etag}, {"prefer", "wait=60"}});
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(Code(refused), "too_many_waiting");
  EXPECT_EQ(refused.Header("retry-after"), "1");
  // Without a wait, the same request is answered as usual.
  EXPECT_EQ(Fetch(*second_client, {{"if-none-match", etag}}).status, 304);

  // wait=60 was capped at policy.max_wait_s = 2.
  HttpResponse timed_out = first.get();
  EXPECT_EQ(timed_out.status, 304);
  EXPECT_EQ(timed_out.Header("preference-applied"), "wait=2");
}

}  // namespace
}  // namespace weftkit::test
