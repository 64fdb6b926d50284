// PolicyService against a fresh SoftHSM token and a real SQLite file: publishing validates,
// signs and versions; conflicts and unchanged content are refused; history, diff and rollback;
// fleet reports; the check endpoint's decisions; and the publish hook that wakes long polls.
#include "policy_store/policy_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "policy_store/canonical_json.h"
#include "policy_store/policy_bundle_verifier.h"
#include "test/support/softhsm_token.h"
#include "test/support/temp_dir.h"

namespace weftkit::policy_store {
namespace {

using Json = nlohmann::json;

// A valid document: `reader` may select from sales tables; alice holds it.
Json Document(const std::string& resource = "sales.*") {
  return {
      {"format", "weftkit.policy/v1"},
      {"roles",
       Json::array({{{"name", "reader"},
                     {"grants", Json::array({{{"database_type", "relational"},
                                              {"actions", Json::array({"select"})},
                                              {"resources", Json::array({resource})}}})}}})},
      {"bindings", Json::array({{{"principal", "alice"}, {"roles", Json::array({"reader"})}}})}};
}

SecurityContext Author(const std::string& principal = "spiffe://weftkit.dev/officer/alice") {
  return SecurityContext({.principal = principal,
                          .auth_method = AuthMethod::kMtls,
                          .roles = {},
                          .request_id = "r1",
                          .peer = "127.0.0.1:1",
                          .time = UnixNow()});
}

class PolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm();
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok());
    PolicyServiceOptions options;
    options.now = [this] { return now_; };
    options.stale_after_s = 600;
    options.on_publish = [this](const std::string& scope) { published_.push_back(scope); };
    auto service = PolicyService::Open(*hsm_, std::move(database).value(), options);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();
  }

  PolicyVersion Publish(const Json& document, std::int64_t base,
                        const std::string& scope = "cluster/prod") {
    auto outcome = service_->Publish(Author(), {scope, document, base, "c"});
    EXPECT_TRUE(outcome.ok()) << outcome.error().ToString();
    if (!outcome.ok()) return {};
    EXPECT_TRUE(outcome->published.has_value());
    EXPECT_TRUE(outcome->problems.empty());
    return outcome->published.value_or(PolicyVersion{});
  }

  std::int64_t now_ = 1767225600;
  std::vector<std::string> published_;
  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  testing::TempDir dir_;
  std::unique_ptr<PolicyService> service_;
};

TEST_F(PolicyServiceTest, Publish_StoresSignedVersion_WithAuthorAndHash) {
  PolicyVersion first = Publish(Document(), 0);
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.based_on, 0);
  EXPECT_EQ(first.author, "spiffe://weftkit.dev/officer/alice");
  EXPECT_EQ(first.published_at, now_);
  EXPECT_EQ(first.content_hash, *ContentHash(Document()));
  EXPECT_EQ(published_, std::vector<std::string>{"cluster/prod"});

  // What is served verifies with the engine-side verifier.
  Json served = {{"scope", first.scope},
                 {"version", first.version},
                 {"content_hash", first.content_hash},
                 {"published_at", first.published_at},
                 {"document", Json::parse(first.content)},
                 {"signature", first.signature}};
  auto verifier = PolicyBundleVerifier::FromJwkSet(Json::parse(service_->JwkSetJson()));
  ASSERT_TRUE(verifier.ok());
  auto verified = verifier->Verify(served, "cluster/prod", 0);
  EXPECT_TRUE(verified.ok()) << verified.error().ToString();
}

TEST_F(PolicyServiceTest, Publish_ReturnsEveryProblem_AndStoresNothing) {
  Json broken = Document();
  broken["bindings"][0]["roles"] = Json::array({"nobody"});
  broken["roles"][0]["grants"][0]["actions"] = Json::array({"fly"});
  auto outcome = service_->Publish(Author(), {"cluster/prod", broken, 0, ""});
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_FALSE(outcome->published.has_value());
  ASSERT_GE(outcome->problems.size(), 2u);
  std::vector<std::string> pointers;
  for (const auto& problem : outcome->problems) pointers.push_back(problem.pointer);
  EXPECT_NE(std::find(pointers.begin(), pointers.end(), "/bindings/0/roles/0"), pointers.end());
  EXPECT_TRUE(published_.empty());
  EXPECT_EQ(*service_->Current("cluster/prod"), nullptr);
}

TEST_F(PolicyServiceTest, Publish_FailsWithConflict_WhenBaseIsStale) {
  Publish(Document(), 0);
  Publish(Document("sales.orders"), 1);
  auto stale = service_->Publish(Author(), {"cluster/prod", Document("hr.*"), 1, ""});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), "policy_version_conflict");
  EXPECT_EQ((*service_->Current("cluster/prod"))->version, 2);
}

TEST_F(PolicyServiceTest, Publish_Fails_WhenContentIsUnchangedOrScopeInvalid) {
  Publish(Document(), 0);
  auto same = service_->Publish(Author(), {"cluster/prod", Document(), 1, ""});
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code(), "policy_unchanged");
  auto bad_scope = service_->Publish(Author(), {"cluster/Prod", Document(), 0, ""});
  ASSERT_FALSE(bad_scope.ok());
  EXPECT_EQ(bad_scope.error().code(), "invalid_scope");
}

TEST_F(PolicyServiceTest, Rollback_RepublishesOldContent_AsNewVersion) {
  PolicyVersion first = Publish(Document(), 0);
  Publish(Document("sales.orders"), 1);
  auto rolled = service_->Rollback(Author(), "cluster/prod", 1, 2, "");
  ASSERT_TRUE(rolled.ok()) << rolled.error().ToString();
  ASSERT_TRUE(rolled->published.has_value());
  EXPECT_EQ(rolled->published->version, 3);
  EXPECT_EQ(rolled->published->content_hash, first.content_hash);
  EXPECT_EQ(rolled->published->rolled_back_from, 1);
  EXPECT_EQ(rolled->published->comment, "rollback to version 1");

  auto stale = service_->Rollback(Author(), "cluster/prod", 2, 2, "");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), "policy_version_conflict");
  auto missing = service_->Rollback(Author(), "cluster/prod", 9, 3, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), "policy_version_not_found");
}

TEST_F(PolicyServiceTest, HistoryAndDiff_DescribeEveryVersion) {
  Publish(Document(), 0);
  Publish(Document("sales.orders"), 1);
  Publish(Document("hr.*"), 2);
  auto history = service_->History("cluster/prod", 0, 2);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].version, 3);
  EXPECT_EQ((*service_->History("cluster/prod", 2, 2)).size(), 1u);

  auto diff = service_->Diff("cluster/prod", 1, 3);
  ASSERT_TRUE(diff.ok());
  Json expected = Json::array(
      {{{"op", "replace"}, {"path", "/roles/0/grants/0/resources/0"}, {"value", "hr.*"}}});
  EXPECT_EQ(*diff, expected);
  // Applying the patch to version 1 gives version 3.
  EXPECT_EQ(Document().patch(*diff), Document("hr.*"));
  EXPECT_EQ(service_->Diff("cluster/prod", 1, 4).error().code(), "policy_version_not_found");
}

TEST_F(PolicyServiceTest, Fleet_ShowsWhoIsBehindAndWhoIsStale) {
  Publish(Document(), 0);
  ASSERT_TRUE(service_->Report(Author("engine-a"), "cluster/prod", "i-1", 1).ok());
  now_ += 700;
  Publish(Document("sales.orders"), 1);
  ASSERT_TRUE(service_->Report(Author("engine-b"), "cluster/prod", "i-1", 2).ok());
  EXPECT_EQ(service_->Report(Author("engine-b"), "cluster/prod", "i-1", 7).error().code(),
            "policy_version_not_found");
  EXPECT_EQ(service_->Report(Author("engine-b"), "cluster/prod", "", 2).error().code(),
            "invalid_instance");

  auto fleet = service_->Fleet("cluster/prod");
  ASSERT_TRUE(fleet.ok());
  EXPECT_EQ(fleet->current_version, 2);
  ASSERT_EQ(fleet->members.size(), 2u);
  EXPECT_EQ(fleet->members[0].report.principal, "engine-a");
  EXPECT_TRUE(fleet->members[0].behind);
  EXPECT_TRUE(fleet->members[0].stale);
  EXPECT_FALSE(fleet->members[1].behind);
  EXPECT_FALSE(fleet->members[1].stale);
}

TEST_F(PolicyServiceTest, Check_DecidesAgainstCurrentOrGivenVersion) {
  Publish(Document(), 0);
  Publish(Document("hr.*"), 1);
  policy::AccessRequest request{"alice", "relational", "select", "sales.orders"};
  auto current = service_->Check("cluster/prod", std::nullopt, request);
  ASSERT_TRUE(current.ok()) << current.error().ToString();
  EXPECT_FALSE(current->allowed);
  auto old = service_->Check("cluster/prod", 1, request);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->allowed);
  EXPECT_EQ(old->rule, "/roles/0/grants/0");
  EXPECT_EQ(service_->Check("pool/none", std::nullopt, request).error().code(),
            "policy_version_not_found");
}

TEST_F(PolicyServiceTest, Current_SurvivesRestart_FromTheStore) {
  Publish(Document(), 0);
  service_.reset();
  auto database = store::Database::Open(dir_.path() / "kms.db");
  ASSERT_TRUE(database.ok());
  auto reopened = PolicyService::Open(*hsm_, std::move(database).value(), {});
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  auto current = (*reopened)->Current("cluster/prod");
  ASSERT_TRUE(current.ok() && *current != nullptr);
  EXPECT_EQ((*current)->version, 1);
}

}  // namespace
}  // namespace weftkit::policy_store
