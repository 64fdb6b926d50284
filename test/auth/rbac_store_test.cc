// SqliteRbacStore against real SQLite files: every refused change must leave the stored state
// exactly as it was, and everything accepted must survive closing and reopening the file.
#include <gtest/gtest.h>

#include "auth/builtin_roles.h"
#include "auth/sqlite_rbac_store.h"
#include "store/statement.h"
#include "test/support/temp_dir.h"

namespace weftkit::auth {
namespace {

constexpr const char* kOrdersEngine = "spiffe://weftkit.dev/engine/orders";

class RbacStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    database_.reset();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    database_ = std::move(database).value();
    auto opened = SqliteRbacStore::Open(database_);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(opened).value();
  }

  RbacState Load() {
    Result<RbacState> state = store_->Load();
    EXPECT_TRUE(state.ok()) << state.error().ToString();
    return state.ok() ? std::move(state).value() : RbacState{};
  }

  void AddPrincipal(const std::string& id) {
    Result<RbacState> added = store_->CreatePrincipal({id, PrincipalKind::kService, "", 1, false});
    ASSERT_TRUE(added.ok()) << added.error().ToString();
  }

  void Bind(const std::string& principal, const std::string& role) {
    Result<RbacState> bound = store_->AddBinding({principal, role});
    ASSERT_TRUE(bound.ok()) << bound.error().ToString();
  }

  // Runs constant SQL against the file behind the store's back, to simulate tampering.
  void ExecuteSql(const char* sql) {
    Status done = database_->WithConnection(
        [&](store::Connection& connection) -> Status { return connection.ExecScript(sql); });
    ASSERT_TRUE(done.ok()) << done.error().ToString();
  }

  testing::TempDir dir_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<SqliteRbacStore> store_;
};

// The auditor role as the code defines it.
Role BuiltinAuditor() {
  for (Role& role : BuiltinRoles()) {
    if (role.name == kAuditorRole) return role;
  }
  return {};
}

Role Reader(const std::string& name, std::vector<std::string> inherits = {}) {
  return {
      name, "reads keys", std::move(inherits), {{Effect::kAllow, {"key.read"}, {"key/*"}}}, false};
}

TEST_F(RbacStoreTest, Open_WritesBuiltinRolesAndConstraints) {
  RbacState state = Load();
  for (const Role& builtin : BuiltinRoles()) {
    const Role* stored = state.FindRole(builtin.name);
    ASSERT_NE(stored, nullptr) << builtin.name;
    EXPECT_TRUE(stored->builtin);
    EXPECT_EQ(stored->permissions.size(), builtin.permissions.size());
  }
  ASSERT_NE(state.FindSeparationOfDuty("destroy-vs-unwrap"), nullptr);
  EXPECT_TRUE(state.principals.empty());
}

TEST_F(RbacStoreTest, Open_RestoresTamperedBuiltinRole) {
  ExecuteSql(
      "UPDATE rbac_roles SET permissions = "
      "'[{\"effect\":\"allow\",\"actions\":[\"*\"],\"resources\":[\"*\"]}]' "
      "WHERE name = 'auditor'");
  Reopen();
  RbacState state = Load();
  const Role* auditor = state.FindRole(kAuditorRole);
  ASSERT_NE(auditor, nullptr);
  EXPECT_EQ(auditor->permissions.size(), BuiltinAuditor().permissions.size());
  EXPECT_NE(auditor->permissions[0].actions, (std::vector<std::string>{"*"}));
}

TEST_F(RbacStoreTest, Open_FailsWithBuiltinRoleConflict_WhenApiRoleHoldsBuiltinName) {
  ExecuteSql("UPDATE rbac_roles SET builtin = 0 WHERE name = 'auditor'");
  store_.reset();
  Result<std::unique_ptr<SqliteRbacStore>> opened = SqliteRbacStore::Open(database_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), "builtin_role_conflict");
}

TEST_F(RbacStoreTest, Everything_PersistsAcrossReopen) {
  AddPrincipal("spiffe://weftkit.dev/service/ci");
  ASSERT_TRUE(store_->CreateRole(Reader("reader")).ok());
  Role child{"child",
             "inherits reader",
             {"reader"},
             {{Effect::kDeny, {"key.read"}, {"key/secret.*"}}},
             false};
  ASSERT_TRUE(store_->CreateRole(child).ok());
  Bind("spiffe://weftkit.dev/service/ci", "child");
  ASSERT_TRUE(
      store_->AddSeparationOfDuty({"publish-vs-read", {"policy.publish"}, {"audit.read"}, false})
          .ok());

  Reopen();
  RbacState state = Load();
  ASSERT_NE(state.FindPrincipal("spiffe://weftkit.dev/service/ci"), nullptr);
  const Role* stored = state.FindRole("child");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->inherits, (std::vector<std::string>{"reader"}));
  ASSERT_EQ(stored->permissions.size(), 1u);
  EXPECT_EQ(stored->permissions[0].effect, Effect::kDeny);
  EXPECT_EQ(stored->permissions[0].resources, (std::vector<std::string>{"key/secret.*"}));
  EXPECT_FALSE(stored->builtin);
  EXPECT_TRUE(state.HasBinding({"spiffe://weftkit.dev/service/ci", "child"}));
  const SeparationOfDuty* constraint = state.FindSeparationOfDuty("publish-vs-read");
  ASSERT_NE(constraint, nullptr);
  EXPECT_EQ(constraint->second_actions, (std::vector<std::string>{"audit.read"}));
}

TEST_F(RbacStoreTest, ReplaceRole_FailsWithRoleCycle_AndChangesNothing) {
  ASSERT_TRUE(store_->CreateRole(Reader("a")).ok());
  ASSERT_TRUE(store_->CreateRole(Reader("b", {"a"})).ok());

  Result<RbacState> replaced = store_->ReplaceRole(Reader("a", {"b"}));
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code(), "role_cycle");
  EXPECT_NE(replaced.error().detail().find("a -> b -> a"), std::string::npos);
  EXPECT_TRUE(Load().FindRole("a")->inherits.empty());
}

TEST_F(RbacStoreTest, CreateRole_FailsWithUndefinedRole_AndChangesNothing) {
  Result<RbacState> created = store_->CreateRole(Reader("orphan", {"ghost"}));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), "undefined_role");
  EXPECT_EQ(Load().FindRole("orphan"), nullptr);
}

TEST_F(RbacStoreTest, CreateRole_FailsWithRoleExists_ForBuiltinName) {
  Result<RbacState> created = store_->CreateRole(Reader(kAdminRole));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), "role_exists");
}

TEST_F(RbacStoreTest, BuiltinRoles_CannotBeReplacedOrDeleted) {
  Result<RbacState> replaced = store_->ReplaceRole(Reader(kAuditorRole));
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code(), "builtin_role_immutable");

  Result<RbacState> deleted = store_->DeleteRole(kEngineRole);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code(), "builtin_role_immutable");

  Role forged = Reader("forged");
  forged.builtin = true;
  Result<RbacState> created = store_->CreateRole(forged);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), "builtin_role_immutable");
}

TEST_F(RbacStoreTest, BuiltinConstraint_CannotBeRemoved) {
  Result<RbacState> removed = store_->RemoveSeparationOfDuty("destroy-vs-unwrap");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code(), "builtin_sod_immutable");
}

TEST_F(RbacStoreTest, AddBinding_FailsWithSodViolation_AndChangesNothing) {
  AddPrincipal(kOrdersEngine);
  Bind(kOrdersEngine, kEngineRole);

  Result<RbacState> bound = store_->AddBinding({kOrdersEngine, kKeyOfficerRole});
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code(), "sod_violation");
  EXPECT_NE(bound.error().detail().find("destroy-vs-unwrap"), std::string::npos);
  EXPECT_FALSE(Load().HasBinding({kOrdersEngine, kKeyOfficerRole}));
}

TEST_F(RbacStoreTest, ReplaceRole_FailsWithSodViolation_ForHoldersOfTheRole) {
  // Widening a role can break the constraint for principals who already hold it.
  AddPrincipal(kOrdersEngine);
  Bind(kOrdersEngine, kEngineRole);
  ASSERT_TRUE(store_->CreateRole(Reader("extra")).ok());
  Bind(kOrdersEngine, "extra");

  Role widened = Reader("extra");
  widened.permissions.push_back({Effect::kAllow, {"key.destroy"}, {"key/*"}});
  Result<RbacState> replaced = store_->ReplaceRole(widened);
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code(), "sod_violation");
  EXPECT_EQ(Load().FindRole("extra")->permissions.size(), 1u);
}

TEST_F(RbacStoreTest, AddSeparationOfDuty_FailsWithSodViolation_WhenAlreadyBroken) {
  AddPrincipal("bob");
  Bind("bob", kKeyOfficerRole);
  Result<RbacState> added =
      store_->AddSeparationOfDuty({"publish-vs-audit", {"policy.publish"}, {"audit.read"}, false});
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), "sod_violation");
  EXPECT_EQ(Load().FindSeparationOfDuty("publish-vs-audit"), nullptr);
}

TEST_F(RbacStoreTest, AddBinding_FailsForDuplicatesAndUnknowns) {
  AddPrincipal("bob");
  Bind("bob", kAuditorRole);
  EXPECT_EQ(store_->AddBinding({"bob", kAuditorRole}).error().code(), "binding_exists");
  EXPECT_EQ(store_->AddBinding({"carol", kAuditorRole}).error().code(), "principal_not_found");
  EXPECT_EQ(store_->AddBinding({"bob", "ghost"}).error().code(), "role_not_found");
  EXPECT_EQ(store_->RemoveBinding({"bob", kAdminRole}).error().code(), "binding_not_found");
}

TEST_F(RbacStoreTest, DeleteRole_FailsWithRoleInUse_WhileBoundOrInherited) {
  AddPrincipal("bob");
  ASSERT_TRUE(store_->CreateRole(Reader("base")).ok());
  ASSERT_TRUE(store_->CreateRole(Reader("derived", {"base"})).ok());
  Bind("bob", "derived");

  EXPECT_EQ(store_->DeleteRole("base").error().code(), "role_in_use");
  EXPECT_EQ(store_->DeleteRole("derived").error().code(), "role_in_use");
  ASSERT_TRUE(store_->RemoveBinding({"bob", "derived"}).ok());
  ASSERT_TRUE(store_->DeleteRole("derived").ok());
  ASSERT_TRUE(store_->DeleteRole("base").ok());
  EXPECT_EQ(Load().FindRole("base"), nullptr);
}

TEST_F(RbacStoreTest, DeletePrincipal_RemovesItsBindings) {
  AddPrincipal("bob");
  Bind("bob", kAuditorRole);
  ASSERT_TRUE(store_->DeletePrincipal("bob").ok());
  Reopen();
  RbacState state = Load();
  EXPECT_EQ(state.FindPrincipal("bob"), nullptr);
  EXPECT_TRUE(state.bindings.empty());
}

TEST_F(RbacStoreTest, BootstrapAdmin_CreatesOnce) {
  Result<RbacState> first = store_->BootstrapAdmin({"alice", PrincipalKind::kPerson, "", 1, false});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(first->HasBinding({"alice", kAdminRole}));

  Result<RbacState> second =
      store_->BootstrapAdmin({"mallory", PrincipalKind::kPerson, "", 1, false});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->FindPrincipal("mallory"), nullptr);
  EXPECT_FALSE(Load().HasBinding({"mallory", kAdminRole}));
}

TEST_F(RbacStoreTest, Changes_FailWithLastAdmin_WhenNoAdministratorWouldRemain) {
  ASSERT_TRUE(store_->BootstrapAdmin({"alice", PrincipalKind::kPerson, "", 1, false}).ok());

  EXPECT_EQ(store_->RemoveBinding({"alice", kAdminRole}).error().code(), "last_admin");
  EXPECT_EQ(store_->DeletePrincipal("alice").error().code(), "last_admin");
  EXPECT_EQ(store_->UpdatePrincipal({"alice", PrincipalKind::kPerson, "", 1, true}).error().code(),
            "last_admin");

  AddPrincipal("bob");
  Bind("bob", kAdminRole);
  EXPECT_TRUE(store_->RemoveBinding({"alice", kAdminRole}).ok());
}

TEST_F(RbacStoreTest, UpdatePrincipal_ChangesOnlyDescriptionAndDisabled) {
  AddPrincipal("bob");
  ASSERT_TRUE(store_->UpdatePrincipal({"bob", PrincipalKind::kPerson, "on leave", 99, true}).ok());
  Reopen();
  RbacState state = Load();
  const Principal* bob = state.FindPrincipal("bob");
  ASSERT_NE(bob, nullptr);
  EXPECT_TRUE(bob->disabled);
  EXPECT_EQ(bob->description, "on leave");
  EXPECT_EQ(bob->kind, PrincipalKind::kService);
  EXPECT_EQ(bob->created_at, 1);
}

}  // namespace
}  // namespace weftkit::auth
