// The access review over a real SQLite RBAC store: what each principal may do on each key and
// policy scope must be what the RBAC service would decide for its requests.
#include <gtest/gtest.h>

#include "audit/compliance/access_review.h"
#include "auth/builtin_roles.h"
#include "test/support/temp_dir.h"

namespace weftkit::audit::compliance {
namespace {

constexpr const char* kAdmin = "spiffe://weftkit.dev/admin/first";
constexpr const char* kEngine = "spiffe://weftkit.dev/engine/orders";
constexpr const char* kAuditor = "carol";
constexpr const char* kDisabledOfficer = "dave";
constexpr const char* kFormulaName = "=cmd|calc";

class AccessReviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto rbac = auth::RbacService::Open(std::move(database).value());
    ASSERT_TRUE(rbac.ok()) << rbac.error().ToString();
    rbac_ = std::move(rbac).value();
    ASSERT_TRUE(rbac_->EnsureBootstrapAdmin(kAdmin).ok());
    Add(kEngine, auth::PrincipalKind::kService, auth::kEngineRole, false);
    Add(kAuditor, auth::PrincipalKind::kPerson, auth::kAuditorRole, false);
    Add(kDisabledOfficer, auth::PrincipalKind::kPerson, auth::kKeyOfficerRole, true);
    Add(kFormulaName, auth::PrincipalKind::kPerson, auth::kAuditorRole, false);
  }

  void Add(const std::string& id, auth::PrincipalKind kind, const char* role, bool disabled) {
    SecurityContext admin({kAdmin, AuthMethod::kMtls, rbac_->RolesOf(kAdmin), "req", "", 0});
    ASSERT_TRUE(rbac_->CreatePrincipal(admin, {id, kind, "", 0, false}).ok()) << id;
    ASSERT_TRUE(rbac_->AddBinding(admin, {id, role}).ok()) << id;
    if (disabled) {
      ASSERT_TRUE(rbac_->UpdatePrincipal(admin, {id, kind, "", 0, true}).ok()) << id;
    }
  }

  std::vector<PrincipalAccess> Review() {
    AccessReviewInputs inputs{
        *rbac_, {"orders", "billing"}, {"cluster-a"}, [](const std::string& id) -> Result<bool> {
          return id == kAuditor;
        }};
    auto review = BuildAccessReview(inputs);
    EXPECT_TRUE(review.ok());
    return review.ok() ? *review : std::vector<PrincipalAccess>{};
  }

  static const PrincipalAccess& Find(const std::vector<PrincipalAccess>& review,
                                     const std::string& id) {
    for (const PrincipalAccess& access : review) {
      if (access.principal.id == id) return access;
    }
    ADD_FAILURE() << "no review of " << id;
    static const PrincipalAccess kNone;
    return kNone;
  }

  weftkit::testing::TempDir dir_;
  std::unique_ptr<auth::RbacService> rbac_;
};

TEST_F(AccessReviewTest, BuildAccessReview_ListsEveryPrincipalSorted) {
  std::vector<PrincipalAccess> review = Review();
  std::vector<std::string> ids;
  for (const PrincipalAccess& access : review) ids.push_back(access.principal.id);
  EXPECT_EQ(ids,
            (std::vector<std::string>{kFormulaName, kAuditor, kDisabledOfficer, kAdmin, kEngine}));
}

TEST_F(AccessReviewTest, BuildAccessReview_EngineMayUseOnlyItsOwnKey) {
  std::vector<PrincipalAccess> review = Review();
  const PrincipalAccess& engine = Find(review, kEngine);
  ASSERT_EQ(engine.keys.size(), 1u);
  EXPECT_EQ(engine.keys[0].resource, "key/orders");
  EXPECT_EQ(engine.keys[0].allowed_actions,
            (std::vector<std::string>{"key.read", "dek.generate", "dek.wrap", "dek.unwrap",
                                      "dek.rewrap"}));
  // Engines fetch, report and check the bundles they enforce; they never read history or publish.
  ASSERT_EQ(engine.policies.size(), 1u);
  EXPECT_EQ(engine.policies[0].allowed_actions,
            (std::vector<std::string>{"policy.fetch", "policy.report", "policy.check"}));
  EXPECT_EQ(engine.direct_roles, (std::vector<std::string>{"engine"}));
}

TEST_F(AccessReviewTest, BuildAccessReview_AuditorReadsOnly) {
  std::vector<PrincipalAccess> review = Review();
  const PrincipalAccess& auditor = Find(review, kAuditor);
  ASSERT_EQ(auditor.keys.size(), 2u);
  for (const ObjectAccess& key : auditor.keys) {
    EXPECT_EQ(key.allowed_actions, (std::vector<std::string>{"key.read"})) << key.resource;
  }
  ASSERT_EQ(auditor.policies.size(), 1u);
  EXPECT_EQ(auditor.policies[0].allowed_actions,
            (std::vector<std::string>{"policy.read", "policy.fetch", "policy.check",
                                      "policy.fleet.read"}));  // never policy.publish
  EXPECT_TRUE(auditor.has_password);
}

TEST_F(AccessReviewTest, BuildAccessReview_DisabledPrincipalHoldsNothing) {
  std::vector<PrincipalAccess> review = Review();
  const PrincipalAccess& officer = Find(review, kDisabledOfficer);
  EXPECT_TRUE(officer.principal.disabled);
  EXPECT_TRUE(officer.direct_roles.empty());
  EXPECT_TRUE(officer.keys.empty());
  EXPECT_TRUE(officer.permissions.empty());
}

TEST_F(AccessReviewTest, BuildAccessReview_AdminInheritsKeyOfficer) {
  std::vector<PrincipalAccess> review = Review();
  const PrincipalAccess& admin = Find(review, kAdmin);
  EXPECT_NE(
      std::find(admin.effective_roles.begin(), admin.effective_roles.end(), auth::kKeyOfficerRole),
      admin.effective_roles.end());
  ASSERT_EQ(admin.keys.size(), 2u);
  EXPECT_NE(std::find(admin.keys[0].allowed_actions.begin(), admin.keys[0].allowed_actions.end(),
                      "key.destroy"),
            admin.keys[0].allowed_actions.end());
}

TEST_F(AccessReviewTest, BuildAccessReview_FailsWithCallbackError_PasswordStoreDown) {
  AccessReviewInputs inputs{*rbac_, {}, {}, [](const std::string&) -> Result<bool> {
                              return Error(ErrorKind::kUnavailable, "store_unavailable", "test");
                            }};
  auto review = BuildAccessReview(inputs);
  ASSERT_FALSE(review.ok());
  EXPECT_EQ(review.error().code(), "store_unavailable");
}

TEST_F(AccessReviewTest, AccessReviewToCsv_NeutralisesFormulaPrincipal) {
  std::string csv = AccessReviewToCsv(Review());
  EXPECT_EQ(csv.rfind("principal,kind,disabled,has_password,direct_roles,effective_roles,"
                      "resource,allowed_actions\r\n",
                      0),
            0u);
  EXPECT_NE(csv.find("\r\n'=cmd|calc,person,false,false,auditor,auditor,key/orders,key.read\r\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\r\ndave,person,true,false,,,,\r\n"), std::string::npos) << csv;
}

TEST_F(AccessReviewTest, AccessReviewToJson_ListsPermissionsWithTheirRoles) {
  nlohmann::json json = AccessReviewToJson(Review());
  ASSERT_EQ(json["principals"].size(), 5u);
  const nlohmann::json& engine = json["principals"][4];
  EXPECT_EQ(engine["id"], kEngine);
  EXPECT_EQ(engine["kind"], "service");
  EXPECT_EQ(engine["permissions"][0]["role"], "engine");
  EXPECT_EQ(engine["permissions"][0]["effect"], "allow");
  EXPECT_EQ(engine["keys"][0]["resource"], "key/orders");
}

}  // namespace
}  // namespace weftkit::audit::compliance
