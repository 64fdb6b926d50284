// PolicyWatcher against the real kmsd over TLS 1.3 (fresh SoftHSM token and SQLite file): fetch
// and 304, a long poll woken by a publish, tampered bundles refused with typed errors while the
// last good one stays in force, both meanings of rollback, the state file across restarts,
// pinned keys, scope and time checks, local decisions equal to the server's check endpoint on
// every conformance case, and a prompt Stop.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "auth/jwk.h"
#include "client/policy_state_file.h"
#include "client/policy_watcher.h"
#include "test/integration/kmsd_test.h"
#include "test/support/policy_documents.h"

namespace weftkit::client {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kScope = "cluster/prod";
constexpr const char* kBase = "/v1/policy/scopes/cluster/prod";

// Replaces one character of `text` at `at` with another base64url character.
std::string FlipChar(std::string text, std::size_t at) {
  text[at] = text[at] == 'A' ? 'B' : 'A';
  return text;
}

// Collects what the watcher's callbacks report, and lets a test wait for it.
struct Events {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::int64_t> versions;
  std::vector<std::string> errors;

  void Update(const std::shared_ptr<const PolicySnapshot>& snapshot) {
    std::lock_guard<std::mutex> lock(mutex);
    versions.push_back(snapshot->version);
    changed.notify_all();
  }
  void Fail(const Error& error) {
    std::lock_guard<std::mutex> lock(mutex);
    errors.push_back(error.code());
    changed.notify_all();
  }
  // Waits (at most `limit`) until version `version` was accepted.
  bool WaitForVersion(std::int64_t version, milliseconds limit = milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, limit, [&] {
      return std::find(versions.begin(), versions.end(), version) != versions.end();
    });
  }
};

class PolicyWatcherTest : public test::KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    KmsClientOptions options;
    options.port = static_cast<std::uint16_t>(kmsd_->port());
    options.ca_file = kmsd_->pki("ca.pem").string();
    options.cert_file = kmsd_->pki("engine.pem").string();
    options.key_file = kmsd_->pki("engine.key").string();
    options.retry.initial_backoff = milliseconds(20);
    options.retry.max_backoff = milliseconds(200);
    auto client = KmsClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    client_ = std::move(client).value();
  }

  // Publishes `document` to `base` on top of version `on`; returns the new version's number.
  std::int64_t Publish(const json& document, std::int64_t on, const std::string& base = kBase) {
    test::HttpResponse published =
        Call(*officer_, "POST", base + "/versions", {{"document", document}, {"base_version", on}});
    EXPECT_EQ(published.status, 201) << published.body;
    return Json(published).value("version", 0);
  }

  // The bundle of version `version` as kmsd serves it.
  json ServedBundle(std::int64_t version) {
    test::HttpResponse served =
        Call(*engine_, "GET", std::string(kBase) + "/bundle?version=" + std::to_string(version));
    EXPECT_EQ(served.status, 200) << served.body;
    return Json(served);
  }

  PolicyWatcherOptions Options(Events* events = nullptr) {
    PolicyWatcherOptions options;
    options.scope = kScope;
    options.wait = std::chrono::seconds(30);
    if (events != nullptr) {
      options.on_update = [events](auto snapshot) { events->Update(snapshot); };
      options.on_error = [events](const Error& error) { events->Fail(error); };
    }
    return options;
  }

  std::unique_ptr<PolicyWatcher> Watch(PolicyWatcherOptions options) {
    auto watcher = PolicyWatcher::Create(*client_, std::move(options));
    EXPECT_TRUE(watcher.ok()) << watcher.error().ToString();
    return watcher.ok() ? std::move(watcher).value() : nullptr;
  }

  std::unique_ptr<KmsClient> client_;
};

TEST_F(PolicyWatcherTest, Refresh_FetchesVerifiedBundle_ThenGets304ForUnchangedEtag) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  auto watcher = Watch(Options());

  auto first = watcher->Refresh();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ((*first)->version, 1);
  EXPECT_EQ((*first)->scope, kScope);
  EXPECT_EQ((*first)->etag, "\"" + (*first)->content_hash + "\"");
  EXPECT_EQ(watcher->stats().key_fetches, 1u);

  auto second = watcher->Refresh();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->get(), first->get());  // the same snapshot: nothing was re-checked
  PolicyWatcherStats stats = watcher->stats();
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.not_modified, 1u);
  EXPECT_EQ(stats.accepted, 1u);
  EXPECT_EQ(stats.key_fetches, 1u);
}

TEST_F(PolicyWatcherTest, Refresh_FailsWithServerError_WhenScopeHasNoVersion) {
  auto watcher = Watch(Options());
  auto missing = watcher->Refresh();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), "policy_version_not_found");
  EXPECT_EQ(PolicyErrorOf(missing.error()), PolicyError::kNone);
  EXPECT_EQ(watcher->Current(), nullptr);
  auto decision = watcher->Decide({"alice", "relational", "select", "sales.orders"});
  ASSERT_FALSE(decision.ok());
  EXPECT_EQ(PolicyErrorOf(decision.error()), PolicyError::kNotLoaded);
}

TEST_F(PolicyWatcherTest, LongPoll_IsWokenByPublish_WithinMilliseconds) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  Events events;
  auto watcher = Watch(Options(&events));
  watcher->Start();
  ASSERT_TRUE(events.WaitForVersion(1));
  // Let the long poll reach the server and park (the wait is 30 s, far beyond this test).
  std::this_thread::sleep_for(milliseconds(300));

  Clock::time_point published = Clock::now();
  Publish(test::ReaderPolicy("hr.*"), 1);
  ASSERT_TRUE(events.WaitForVersion(2));
  auto latency = std::chrono::duration_cast<milliseconds>(Clock::now() - published);
  EXPECT_LT(latency.count(), 2000);
  std::cout << "publish response to watcher update: " << latency.count() << " ms\n";
  EXPECT_EQ(watcher->Current()->version, 2);
  EXPECT_EQ(watcher->stats().not_modified, 0u);  // woken by the publish, not by the timeout
  EXPECT_EQ(watcher->stats().failures, 0u);
  watcher->Stop();
}

TEST_F(PolicyWatcherTest, Stop_EndsParkedLongPollPromptly) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  Events events;
  PolicyWatcherOptions options = Options(&events);
  options.wait = std::chrono::seconds(120);
  auto watcher = Watch(options);
  watcher->Start();
  ASSERT_TRUE(events.WaitForVersion(1));
  std::this_thread::sleep_for(milliseconds(300));

  Clock::time_point asked = Clock::now();
  watcher->Stop();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - asked);
  EXPECT_LT(took.count(), 500);
  std::cout << "Stop during a parked long poll: " << took.count() << " ms\n";
  EXPECT_EQ(watcher->Current()->version, 1);  // still answers with what it holds
}

TEST_F(PolicyWatcherTest, Poll_WithoutWait_AsksOnceASecond_NotInABusyLoop) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  Events events;
  PolicyWatcherOptions options = Options(&events);
  options.wait = std::chrono::seconds(0);  // every answer is an immediate 304
  auto watcher = Watch(options);
  watcher->Start();
  ASSERT_TRUE(events.WaitForVersion(1));
  std::this_thread::sleep_for(milliseconds(2500));
  watcher->Stop();
  PolicyWatcherStats stats = watcher->stats();
  EXPECT_GE(stats.not_modified, 1u);
  EXPECT_LE(stats.not_modified, 4u);  // about one per second, not thousands
  EXPECT_EQ(stats.failures, 0u);
}

TEST_F(PolicyWatcherTest, Offer_RefusesTamperedBundles_AndKeepsTheLastGoodOne) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  Events events;
  auto watcher = Watch(Options(&events));
  ASSERT_TRUE(watcher->Refresh().ok());
  json good = ServedBundle(1);
  std::string jws = good["signature"];
  std::size_t first_dot = jws.find('.');
  std::size_t second_dot = jws.find('.', first_dot + 1);

  std::vector<json> tampered;
  // The header's first character (a flip inside its kid would name an unknown key instead),
  // two in the payload, two in the signature.
  for (std::size_t at : {std::size_t{0}, first_dot + 10, (first_dot + second_dot) / 2,
                         second_dot + 5, jws.size() - 20}) {
    json copy = good;
    copy["signature"] = FlipChar(jws, at);
    tampered.push_back(copy);
  }
  json document_changed = good;
  document_changed["document"]["roles"][0]["grants"][0]["resources"] = {"*.*"};
  tampered.push_back(document_changed);
  json version_changed = good;
  version_changed["version"] = 2;
  tampered.push_back(version_changed);

  for (const json& bundle : tampered) {
    auto refused = watcher->Offer(bundle);
    ASSERT_FALSE(refused.ok()) << bundle.dump();
    EXPECT_EQ(PolicyErrorOf(refused.error()), PolicyError::kTampered) << refused.error().ToString();
    EXPECT_EQ(refused.error().kind(), ErrorKind::kDataLoss);
  }
  EXPECT_EQ(watcher->Current()->version, 1);
  EXPECT_EQ(watcher->Current()->bundle, good);
  EXPECT_EQ(watcher->stats().refused, tampered.size());
  std::lock_guard<std::mutex> lock(events.mutex);
  EXPECT_EQ(events.errors.size(), tampered.size());
}

TEST_F(PolicyWatcherTest, Rollback_OlderVersionRefused_ServerRollbackAccepted) {
  Publish(test::ReaderPolicy("a.*"), 0);
  Publish(test::ReaderPolicy("b.*"), 1);
  auto watcher = Watch(Options());
  auto held = watcher->Refresh();
  ASSERT_TRUE(held.ok());
  ASSERT_EQ((*held)->version, 2);

  // A replay of version 1 (genuinely signed) is a rollback attack.
  json version_one = ServedBundle(1);
  auto replayed = watcher->Offer(version_one);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().code(), "bundle_rollback");
  EXPECT_EQ(PolicyErrorOf(replayed.error()), PolicyError::kRollback);
  EXPECT_EQ(watcher->Current()->version, 2);

  // A rollback on the server is a new version 3 with version 1's content: accepted.
  test::HttpResponse rolled = Call(*officer_, "POST", std::string(kBase) + "/rollback",
                                   {{"version", 1}, {"base_version", 2}});
  ASSERT_EQ(rolled.status, 201) << rolled.body;
  auto moved = watcher->Refresh();
  ASSERT_TRUE(moved.ok()) << moved.error().ToString();
  EXPECT_EQ((*moved)->version, 3);
  EXPECT_EQ((*moved)->content_hash, version_one["content_hash"]);
  auto decision = watcher->Decide({"alice", "relational", "select", "a.x"});
  ASSERT_TRUE(decision.ok());
  EXPECT_TRUE(decision->allowed);
}

TEST_F(PolicyWatcherTest, StateFile_KeepsTheRollbackFloorAcrossRestarts) {
  Publish(test::ReaderPolicy("a.*"), 0);
  Publish(test::ReaderPolicy("b.*"), 1);
  std::filesystem::path state = kmsd_->dir() / "engine-policy.state";
  PolicyWatcherOptions options = Options();
  options.state_file = state;
  {
    auto watcher = Watch(options);
    ASSERT_TRUE(watcher->Refresh().ok());
  }
  auto saved = LoadPolicyState(state, kScope);
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  ASSERT_TRUE(saved->has_value());
  EXPECT_EQ((*saved)->version, 2);
  EXPECT_EQ(std::filesystem::status(state).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // The restarted engine has no bundle yet, and still refuses version 1.
  auto restarted = Watch(options);
  auto replayed = restarted->Offer(ServedBundle(1));
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(PolicyErrorOf(replayed.error()), PolicyError::kRollback);
  ASSERT_TRUE(restarted->Offer(ServedBundle(2)).ok());

  // A state file of another scope, or a damaged one, stops Create.
  options.scope = "cluster/other";
  auto other = PolicyWatcher::Create(*client_, options);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(PolicyErrorOf(other.error()), PolicyError::kStateFile);
  std::ofstream(state, std::ios::trunc) << "{\"format\":\"weftkit.policy-state/v1\"";
  options.scope = kScope;
  auto damaged = PolicyWatcher::Create(*client_, options);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code(), "policy_state_invalid");
}

TEST_F(PolicyWatcherTest, PinnedKeys_AreTheOnlyTrust) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  auto anonymous = kmsd_->Client("");
  json server_keys = Json(Call(*anonymous, "GET", "/v1/policy/keys"));

  PolicyWatcherOptions pinned = Options();
  pinned.pinned_jwk_set = server_keys;
  auto trusting = Watch(pinned);
  auto fetched = trusting->Refresh();
  ASSERT_TRUE(fetched.ok()) << fetched.error().ToString();
  EXPECT_EQ(trusting->stats().key_fetches, 0u);
  EXPECT_EQ((*fetched)->kid, server_keys["keys"][0]["kid"]);

  // A key set that does not hold the server's key refuses its bundles, and asks for no others.
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key, &der);
  EVP_PKEY_free(key);
  ASSERT_GT(length, 0);
  auto other = auth::P256PublicKey::FromSpkiDer({der, static_cast<std::size_t>(length)});
  OPENSSL_free(der);
  ASSERT_TRUE(other.ok());
  pinned.pinned_jwk_set = {{"keys", {other->ToJwk(other->Thumbprint())}}};
  auto stranger = Watch(pinned);
  auto refused = stranger->Refresh();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(PolicyErrorOf(refused.error()), PolicyError::kUnknownKey);
  EXPECT_EQ(stranger->stats().key_fetches, 0u);
  EXPECT_EQ(stranger->Current(), nullptr);

  pinned.pinned_jwk_set = {{"keys", json::array({{{"kty", "EC"}}})}};
  auto broken = PolicyWatcher::Create(*client_, pinned);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(PolicyErrorOf(broken.error()), PolicyError::kUntrustedKeySet);
}

TEST_F(PolicyWatcherTest, ScopeAndTime_AreChecked) {
  Publish(test::ReaderPolicy("sales.*"), 0);
  json bundle = ServedBundle(1);
  std::int64_t published = bundle["published_at"];

  PolicyWatcherOptions other_scope = Options();
  other_scope.scope = "cluster/staging";
  auto wrong = Watch(other_scope)->Offer(bundle);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(PolicyErrorOf(wrong.error()), PolicyError::kWrongScope);

  PolicyWatcherOptions early = Options();
  early.now = [published] { return published - 3600; };
  auto future = Watch(early)->Offer(bundle);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(PolicyErrorOf(future.error()), PolicyError::kNotYetValid);

  PolicyWatcherOptions late = Options();
  late.max_age = std::chrono::seconds(86400);
  late.now = [published] { return published + 2 * 86400; };
  auto old = Watch(late)->Offer(bundle);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(PolicyErrorOf(old.error()), PolicyError::kExpired);
  late.now = [published] { return published + 3600; };
  EXPECT_TRUE(Watch(late)->Offer(bundle).ok());
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every case of every conformance vector (policy_store/conformance): the watcher's local
// decision on the verified bundle equals POST .../check on the server, field by field.
TEST_F(PolicyWatcherTest, Decide_EqualsTheServersCheckEndpoint_OnEveryConformanceCase) {
  int compared = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(WEFTKIT_SOURCE_DIR "/policy_store/conformance")) {
    if (entry.path().extension() != ".json") continue;
    json vector = json::parse(ReadText(entry.path()));
    std::string name = entry.path().stem().string();
    std::replace(name.begin(), name.end(), '_', '-');
    std::string scope = "engine/" + name;
    std::string base = "/v1/policy/scopes/" + scope;
    ASSERT_EQ(Publish(vector["bundle"], 0, base), 1) << scope;

    PolicyWatcherOptions options = Options();
    options.scope = scope;
    auto watcher = Watch(options);
    ASSERT_TRUE(watcher->Refresh().ok()) << scope;
    for (const json& item : vector["cases"]) {
      auto request = policy::ParseAccessRequest(item["request"]);
      ASSERT_TRUE(request.ok()) << item.dump();
      auto local = watcher->Decide(*request);
      ASSERT_TRUE(local.ok()) << local.error().ToString();
      test::HttpResponse served = Call(*engine_, "POST", base + "/check", item["request"]);
      ASSERT_EQ(served.status, 200) << served.body;
      EXPECT_EQ(policy::DecisionToJson(*local), Json(served)) << scope << ": " << item["name"];
      ++compared;
    }
  }
  EXPECT_GE(compared, 60);
}

}  // namespace
}  // namespace weftkit::client
