// RbacService is consulted on every request: these tests check that a change is visible to the
// very next request, that decisions stay consistent while administrators change roles, and
// that the first administrator is created exactly once.
#include "auth/rbac_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/builtin_roles.h"
#include "auth/sqlite_rbac_store.h"
#include "test/support/temp_dir.h"

namespace weftkit::auth {
namespace {

constexpr const char* kAdmin = "spiffe://weftkit.dev/admin/alice";

SecurityContext ContextFor(const std::string& principal, std::vector<std::string> roles) {
  return SecurityContext({principal, AuthMethod::kMtls, std::move(roles), "req-1", "", 0});
}

class RbacServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    ASSERT_TRUE(service_->EnsureBootstrapAdmin(kAdmin).ok());
  }

  void Open() {
    service_.reset();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto service = RbacService::Open(std::move(database).value());
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();
  }

  SecurityContext Admin() { return ContextFor(kAdmin, service_->RolesOf(kAdmin)); }

  void AddPrincipal(const std::string& id) {
    ASSERT_TRUE(
        service_->CreatePrincipal(Admin(), {id, PrincipalKind::kPerson, "", 0, false}).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<RbacService> service_;
};

TEST_F(RbacServiceTest, EnsureBootstrapAdmin_BindsAdminOnce) {
  EXPECT_EQ(service_->RolesOf(kAdmin), (std::vector<std::string>{kAdminRole}));
  Result<Principal> admin = service_->GetPrincipal(kAdmin);
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->kind, PrincipalKind::kService);

  Result<bool> again = service_->EnsureBootstrapAdmin("mallory");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_TRUE(service_->RolesOf("mallory").empty());
  EXPECT_FALSE(service_->GetPrincipal("mallory").ok());
}

TEST_F(RbacServiceTest, RolesOf_ReflectsRemovedBindingAtOnce) {
  AddPrincipal("bob");
  ASSERT_TRUE(service_->AddBinding(Admin(), {"bob", kAuditorRole}).ok());
  EXPECT_EQ(service_->RolesOf("bob"), (std::vector<std::string>{kAuditorRole}));

  ASSERT_TRUE(service_->RemoveBinding(Admin(), {"bob", kAuditorRole}).ok());
  EXPECT_TRUE(service_->RolesOf("bob").empty());
}

TEST_F(RbacServiceTest, RolesOf_IsEmpty_ForDisabledAndUnknownPrincipals) {
  AddPrincipal("bob");
  ASSERT_TRUE(service_->AddBinding(Admin(), {"bob", kAuditorRole}).ok());
  ASSERT_TRUE(
      service_->UpdatePrincipal(Admin(), {"bob", PrincipalKind::kPerson, "", 0, true}).ok());
  EXPECT_TRUE(service_->RolesOf("bob").empty());
  EXPECT_TRUE(service_->RolesOf("nobody").empty());
}

TEST_F(RbacServiceTest, Decide_UsesContextRolesAndDeniesAnonymous) {
  EXPECT_TRUE(service_->Decide(Admin(), "role.manage", "role/x").allowed);
  // The roles are those resolved when the request arrived, as carried by the context.
  EXPECT_FALSE(service_->Decide(ContextFor(kAdmin, {}), "role.manage", "role/x").allowed);

  SecurityContext anonymous({kAdmin, AuthMethod::kNone, {kAdminRole}, "req-2", "", 0});
  Decision decision = service_->Decide(anonymous, "role.manage", "role/x");
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default deny");
}

TEST_F(RbacServiceTest, Authorize_FailsWithForbidden_NamingTheRule) {
  Status status = service_->Authorize(ContextFor("bob", {kAuditorRole}), "key.create", "key/x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::kPermissionDenied);
  EXPECT_EQ(status.error().code(), "forbidden");
  EXPECT_NE(status.error().detail().find("default deny"), std::string::npos);
}

TEST_F(RbacServiceTest, Changes_PersistAcrossReopen) {
  AddPrincipal("bob");
  ASSERT_TRUE(
      service_
          ->CreateRole(Admin(),
                       {"reader", "", {}, {{Effect::kAllow, {"key.read"}, {"key/*"}}}, false})
          .ok());
  ASSERT_TRUE(service_->AddBinding(Admin(), {"bob", "reader"}).ok());
  Open();
  EXPECT_EQ(service_->RolesOf("bob"), (std::vector<std::string>{"reader"}));
  EXPECT_TRUE(service_->Decide(ContextFor("bob", {"reader"}), "key.read", "key/x").allowed);
}

TEST_F(RbacServiceTest, Reload_SeesChangesMadeThroughAnotherConnection) {
  auto other_database = store::Database::Open(dir_.path() / "kms.db");
  ASSERT_TRUE(other_database.ok());
  auto other = SqliteRbacStore::Open(std::move(other_database).value());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->CreatePrincipal({"carol", PrincipalKind::kPerson, "", 1, false}).ok());
  ASSERT_TRUE((*other)->AddBinding({"carol", kAuditorRole}).ok());

  EXPECT_TRUE(service_->RolesOf("carol").empty());
  ASSERT_TRUE(service_->Reload().ok());
  EXPECT_EQ(service_->RolesOf("carol"), (std::vector<std::string>{kAuditorRole}));
}

TEST_F(RbacServiceTest, CreateRole_IgnoresBuiltinFlagFromCaller) {
  Result<Role> created = service_->CreateRole(
      Admin(), {"sneaky", "", {}, {{Effect::kAllow, {"key.read"}, {"key/*"}}}, true});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_FALSE(created->builtin);
  EXPECT_TRUE(service_->DeleteRole(Admin(), "sneaky").ok());
}

TEST_F(RbacServiceTest, ReviewAccess_ListsInheritedPermissions) {
  Result<AccessReport> report = service_->ReviewAccess(kAdmin);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->effective_roles.size(), 2u);
  EXPECT_EQ(report->effective_roles[1].role->name, kKeyOfficerRole);
  EXPECT_EQ(report->effective_roles[1].path, (std::vector<std::string>{"admin", "key-officer"}));
  EXPECT_FALSE(report->permissions.empty());
}

// Readers decide continuously while a writer flips a role between allowing and denying. Every
// decision must be one of the two consistent answers, and once the writer is done the last
// state must hold immediately.
TEST_F(RbacServiceTest, Decide_StaysConsistent_DuringConcurrentUpdates) {
  auto reader_role = [](Effect effect) {
    return Role{"flip", "", {}, {{effect, {"key.read"}, {"key/x"}}}, false};
  };
  ASSERT_TRUE(service_->CreateRole(Admin(), reader_role(Effect::kAllow)).ok());
  AddPrincipal("bob");
  ASSERT_TRUE(service_->AddBinding(Admin(), {"bob", "flip"}).ok());

  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  std::atomic<long> decisions{0};
  auto read = [&] {
    while (!done.load()) {
      SecurityContext bob = ContextFor("bob", service_->RolesOf("bob"));
      Decision decision = service_->Decide(bob, "key.read", "key/x");
      const bool consistent =
          (decision.allowed && decision.rule == "allow role=flip permission#0") ||
          (!decision.allowed &&
           (decision.rule == "deny role=flip permission#0" || decision.rule == "default deny"));
      if (!consistent) inconsistent.fetch_add(1);
      decisions.fetch_add(1);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(read);

  for (int i = 0; i < 40; ++i) {
    Effect effect = i % 2 == 0 ? Effect::kDeny : Effect::kAllow;
    ASSERT_TRUE(service_->ReplaceRole(Admin(), reader_role(effect)).ok());
    ASSERT_TRUE(service_->RemoveBinding(Admin(), {"bob", "flip"}).ok());
    ASSERT_TRUE(service_->AddBinding(Admin(), {"bob", "flip"}).ok());
  }
  ASSERT_TRUE(service_->ReplaceRole(Admin(), reader_role(Effect::kDeny)).ok());
  EXPECT_FALSE(
      service_->Decide(ContextFor("bob", service_->RolesOf("bob")), "key.read", "key/x").allowed);
  done.store(true);
  for (std::thread& reader : readers) reader.join();

  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GT(decisions.load(), 0);
}

}  // namespace
}  // namespace weftkit::auth
