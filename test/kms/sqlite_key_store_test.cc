// The key store is the durable record of which master key versions exist and which one wraps new
// DEKs. These tests run it on a real SQLite file: every call's contract, rotation as
// compare-and-swap, durability across reopen, refusal of a newer schema, and concurrent writers
// that must not lose a rotation.
#include "kms/sqlite_key_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/migration.h"
#include "test/support/temp_dir.h"

namespace weftkit::kms {
namespace {

KeyVersion MakeVersion(const std::string& name, std::uint32_t number, std::int64_t created_at) {
  KeyVersion version;
  version.version = number;
  version.hsm_label = name + "/v" + std::to_string(number);
  version.created_at = created_at;
  return version;
}

MasterKey MakeKey(const std::string& name) {
  MasterKey key;
  key.name = name;
  key.primary_version = 1;
  key.min_decrypt_version = 1;
  key.created_at = 1000;
  key.description = "test key " + name;
  key.versions.push_back(MakeVersion(name, 1, 1000));
  return key;
}

class SqliteKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = OpenDatabase();
    ASSERT_NE(database_, nullptr);
    auto store = SqliteKeyStore::Open(database_);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(store).value();
  }

  std::shared_ptr<store::Database> OpenDatabase() {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    EXPECT_TRUE(database.ok()) << database.error().ToString();
    if (!database.ok()) return nullptr;
    return std::shared_ptr<store::Database>(std::move(database).value());
  }

  // Creates `key` and fails the test if that fails.
  void Create(const MasterKey& key) {
    Status created = store_->CreateKey(key);
    ASSERT_TRUE(created.ok()) << created.error().ToString();
  }

  MasterKey Get(const std::string& name) {
    auto key = store_->GetKey(name);
    EXPECT_TRUE(key.ok()) << key.error().ToString();
    return key.ok() ? *key : MasterKey{};
  }

  // Rotates `name` once, retrying when another writer rotated first. Returns false on any other
  // failure.
  static bool RotateWithRetry(KeyStore& store, const std::string& name) {
    while (true) {
      auto key = store.GetKey(name);
      if (!key.ok()) return false;
      const std::uint32_t next = key->primary_version + 1;
      Status added =
          store.AddPrimaryVersion(name, key->primary_version, MakeVersion(name, next, 2000 + next));
      if (added.ok()) return true;
      if (added.error().code() != "rotation_conflict") return false;
    }
  }

  weftkit::testing::TempDir dir_;
  std::shared_ptr<store::Database> database_;
  std::unique_ptr<SqliteKeyStore> store_;
};

TEST_F(SqliteKeyStoreTest, CreateKey_ThenGetKey_ReturnsEveryField) {
  MasterKey key = MakeKey("orders");
  key.rotation_period = 86400;
  key.rotated_at = 1000;
  key.versions[0].encryptions_reserved = 5;
  Create(key);

  MasterKey stored = Get("orders");
  EXPECT_EQ(stored.name, "orders");
  EXPECT_EQ(stored.algorithm, "AES-256-GCM");
  EXPECT_EQ(stored.primary_version, 1u);
  EXPECT_EQ(stored.min_decrypt_version, 1u);
  EXPECT_EQ(stored.created_at, 1000);
  EXPECT_EQ(stored.rotated_at, 1000);
  EXPECT_EQ(stored.rotation_period, 86400);
  EXPECT_EQ(stored.description, "test key orders");
  ASSERT_EQ(stored.versions.size(), 1u);
  EXPECT_EQ(stored.versions[0].version, 1u);
  EXPECT_EQ(stored.versions[0].state, VersionState::kEnabled);
  EXPECT_EQ(stored.versions[0].hsm_label, "orders/v1");
  EXPECT_EQ(stored.versions[0].created_at, 1000);
  EXPECT_EQ(stored.versions[0].destroy_after, std::nullopt);
  EXPECT_EQ(stored.versions[0].destroyed_at, std::nullopt);
  EXPECT_EQ(stored.versions[0].encryptions_reserved, 5u);
}

TEST_F(SqliteKeyStoreTest, CreateKey_FailsWithKeyExists_WhenNameIsTaken) {
  Create(MakeKey("orders"));
  MasterKey again = MakeKey("orders");
  again.versions[0].hsm_label = "orders/other-label";

  Status created = store_->CreateKey(again);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code(), "key_exists");
  EXPECT_EQ(created.error().kind(), ErrorKind::kAlreadyExists);
}

TEST_F(SqliteKeyStoreTest, CreateKey_FailsAndStoresNothing_WhenHsmLabelIsTaken) {
  Create(MakeKey("orders"));
  MasterKey clash = MakeKey("billing");
  clash.versions[0].hsm_label = "orders/v1";

  Status created = store_->CreateKey(clash);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(created.error().code(), "store_constraint");
  auto missing = store_->GetKey("billing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), "key_not_found");
}

TEST_F(SqliteKeyStoreTest, CreateKey_FailsWithInvalidArgument_OnUnstorableKey) {
  MasterKey bad_name = MakeKey("orders");
  bad_name.name = "-orders";
  MasterKey no_versions = MakeKey("orders");
  no_versions.versions.clear();
  MasterKey missing_primary = MakeKey("orders");
  missing_primary.primary_version = 2;
  MasterKey disabled_primary = MakeKey("orders");
  disabled_primary.versions[0].state = VersionState::kDisabled;
  MasterKey min_above_primary = MakeKey("orders");
  min_above_primary.min_decrypt_version = 2;

  for (const MasterKey& key :
       {bad_name, no_versions, missing_primary, disabled_primary, min_above_primary}) {
    Status created = store_->CreateKey(key);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(store_->CreateKey(bad_name).error().code(), "invalid_key_name");
  EXPECT_FALSE(store_->GetKey("orders").ok());
}

TEST_F(SqliteKeyStoreTest, GetKey_FailsWithKeyNotFound_WhenMissing) {
  auto key = store_->GetKey("nobody");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), "key_not_found");
  EXPECT_EQ(key.error().kind(), ErrorKind::kNotFound);
}

TEST_F(SqliteKeyStoreTest, ListKeys_ReturnsKeysByNameWithTheirVersions) {
  Create(MakeKey("orders"));
  Create(MakeKey("billing"));
  ASSERT_TRUE(store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 2000)).ok());

  auto keys = store_->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].name, "billing");
  EXPECT_EQ((*keys)[0].versions.size(), 1u);
  EXPECT_EQ((*keys)[1].name, "orders");
  ASSERT_EQ((*keys)[1].versions.size(), 2u);
  EXPECT_EQ((*keys)[1].versions[1].version, 2u);
  EXPECT_EQ((*keys)[1].primary_version, 2u);
}

TEST_F(SqliteKeyStoreTest, ListKeys_ReturnsEmpty_OnFreshStore) {
  auto keys = store_->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_AppendsVersionAndMakesItPrimary) {
  Create(MakeKey("orders"));
  Status added = store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 5000));
  ASSERT_TRUE(added.ok()) << added.error().ToString();

  MasterKey key = Get("orders");
  EXPECT_EQ(key.primary_version, 2u);
  EXPECT_EQ(key.rotated_at, 5000);
  ASSERT_EQ(key.versions.size(), 2u);
  EXPECT_EQ(key.versions[1].hsm_label, "orders/v2");
  EXPECT_EQ(key.versions[0].state, VersionState::kEnabled);
}

TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_FailsWithRotationConflict_WhenPrimaryMoved) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 2000)).ok());

  KeyVersion late = MakeVersion("orders", 2, 2001);
  late.hsm_label = "orders/v2-late";
  Status stale = store_->AddPrimaryVersion("orders", 1, late);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), "rotation_conflict");
  EXPECT_EQ(stale.error().kind(), ErrorKind::kConflict);

  MasterKey key = Get("orders");
  EXPECT_EQ(key.primary_version, 2u);
  EXPECT_EQ(key.rotated_at, 2000);
  ASSERT_EQ(key.versions.size(), 2u);
  EXPECT_EQ(key.versions[1].hsm_label, "orders/v2");
}

TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_FailsWithKeyNotFound_WhenKeyMissing) {
  Status added = store_->AddPrimaryVersion("nobody", 1, MakeVersion("nobody", 2, 2000));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), "key_not_found");
}

TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_FailsWithInvalidVersion_WhenNotAboveOrNotEnabled) {
  Create(MakeKey("orders"));
  KeyVersion same = MakeVersion("orders", 1, 2000);
  same.hsm_label = "orders/v1-again";
  EXPECT_EQ(store_->AddPrimaryVersion("orders", 1, same).error().code(), "invalid_version");

  KeyVersion disabled = MakeVersion("orders", 2, 2000);
  disabled.state = VersionState::kDisabled;
  EXPECT_EQ(store_->AddPrimaryVersion("orders", 1, disabled).error().code(), "invalid_version");
  EXPECT_EQ(Get("orders").versions.size(), 1u);
}

TEST_F(SqliteKeyStoreTest, UpdateVersionState_StoresStateAndTimes) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 2000)).ok());

  Status updated = store_->UpdateVersionState("orders", 1, VersionState::kScheduledForDestruction,
                                              9000, std::nullopt);
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  KeyVersion v1 = *Get("orders").FindVersion(1);
  EXPECT_EQ(v1.state, VersionState::kScheduledForDestruction);
  EXPECT_EQ(v1.destroy_after, 9000);
  EXPECT_EQ(v1.destroyed_at, std::nullopt);

  ASSERT_TRUE(store_->UpdateVersionState("orders", 1, VersionState::kDestroyed, 9000, 9100).ok());
  v1 = *Get("orders").FindVersion(1);
  EXPECT_EQ(v1.state, VersionState::kDestroyed);
  EXPECT_EQ(v1.destroyed_at, 9100);
}

TEST_F(SqliteKeyStoreTest, UpdateVersionState_FailsWithNotFound_NamingWhatIsMissing) {
  Create(MakeKey("orders"));
  Status no_key =
      store_->UpdateVersionState("nobody", 1, VersionState::kDisabled, std::nullopt, std::nullopt);
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().code(), "key_not_found");

  Status no_version =
      store_->UpdateVersionState("orders", 7, VersionState::kDisabled, std::nullopt, std::nullopt);
  ASSERT_FALSE(no_version.ok());
  EXPECT_EQ(no_version.error().code(), "key_version_not_found");
  EXPECT_EQ(no_version.error().kind(), ErrorKind::kNotFound);
}

TEST_F(SqliteKeyStoreTest, ReserveEncryptions_RaisesButNeverLowersCount) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->ReserveEncryptions("orders", 1, 1000).ok());
  EXPECT_EQ(Get("orders").versions[0].encryptions_reserved, 1000u);

  ASSERT_TRUE(store_->ReserveEncryptions("orders", 1, 10).ok());
  EXPECT_EQ(Get("orders").versions[0].encryptions_reserved, 1000u);

  ASSERT_TRUE(store_->ReserveEncryptions("orders", 1, 4294967296).ok());
  EXPECT_EQ(Get("orders").versions[0].encryptions_reserved, 4294967296u);
}

TEST_F(SqliteKeyStoreTest, ReserveEncryptions_Fails_OnMissingVersionOrHugeCount) {
  Create(MakeKey("orders"));
  EXPECT_EQ(store_->ReserveEncryptions("orders", 2, 10).error().code(), "key_version_not_found");
  EXPECT_EQ(store_->ReserveEncryptions("nobody", 1, 10).error().code(), "key_not_found");
  EXPECT_EQ(store_->ReserveEncryptions("orders", 1, std::uint64_t{1} << 63).error().code(),
            "invalid_reservation");
}

TEST_F(SqliteKeyStoreTest, SetMinDecryptVersion_StoresVersion_UpToPrimary) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 2000)).ok());

  ASSERT_TRUE(store_->SetMinDecryptVersion("orders", 2).ok());
  EXPECT_EQ(Get("orders").min_decrypt_version, 2u);

  Status above = store_->SetMinDecryptVersion("orders", 3);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().code(), "min_decrypt_above_primary");
  EXPECT_EQ(above.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_EQ(store_->SetMinDecryptVersion("orders", 0).error().code(), "invalid_version");
  EXPECT_EQ(store_->SetMinDecryptVersion("nobody", 1).error().code(), "key_not_found");
  EXPECT_EQ(Get("orders").min_decrypt_version, 2u);
}

TEST_F(SqliteKeyStoreTest, SetRotationPeriod_SetsAndClears) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->SetRotationPeriod("orders", 3600).ok());
  EXPECT_EQ(Get("orders").rotation_period, 3600);
  ASSERT_TRUE(store_->SetRotationPeriod("orders", std::nullopt).ok());
  EXPECT_EQ(Get("orders").rotation_period, std::nullopt);

  EXPECT_EQ(store_->SetRotationPeriod("orders", 0).error().code(), "invalid_rotation_period");
  EXPECT_EQ(store_->SetRotationPeriod("orders", -5).error().code(), "invalid_rotation_period");
  EXPECT_EQ(store_->SetRotationPeriod("nobody", 60).error().code(), "key_not_found");
}

TEST_F(SqliteKeyStoreTest, DueForDestruction_ListsOnlyScheduledVersionsAtOrPastDeadline) {
  for (const char* name : {"alpha", "beta"}) {
    Create(MakeKey(name));
    ASSERT_TRUE(store_->AddPrimaryVersion(name, 1, MakeVersion(name, 2, 2000)).ok());
    ASSERT_TRUE(store_->AddPrimaryVersion(name, 2, MakeVersion(name, 3, 3000)).ok());
  }
  const auto schedule = [&](const char* name, std::uint32_t version, VersionState state,
                            std::optional<std::int64_t> destroy_after) {
    ASSERT_TRUE(store_->UpdateVersionState(name, version, state, destroy_after, std::nullopt).ok());
  };
  schedule("beta", 1, VersionState::kScheduledForDestruction, 500);    // past: due
  schedule("alpha", 2, VersionState::kScheduledForDestruction, 1000);  // exactly now: due
  schedule("alpha", 1, VersionState::kScheduledForDestruction, 1001);  // future: not due
  schedule("beta", 2, VersionState::kDisabled, 100);                   // not scheduled
  schedule("alpha", 3, VersionState::kEnabled, std::nullopt);

  auto due = store_->DueForDestruction(1000);
  ASSERT_TRUE(due.ok()) << due.error().ToString();
  using Due = std::vector<std::pair<std::string, std::uint32_t>>;
  EXPECT_EQ(*due, (Due{{"alpha", 2}, {"beta", 1}}));
}

TEST_F(SqliteKeyStoreTest, Reopen_KeepsEverything_AfterClose) {
  Create(MakeKey("orders"));
  ASSERT_TRUE(store_->AddPrimaryVersion("orders", 1, MakeVersion("orders", 2, 2000)).ok());
  ASSERT_TRUE(store_->ReserveEncryptions("orders", 2, 77).ok());
  store_.reset();
  database_.reset();

  database_ = OpenDatabase();
  ASSERT_NE(database_, nullptr);
  auto reopened = SqliteKeyStore::Open(database_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  auto key = (*reopened)->GetKey("orders");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->primary_version, 2u);
  ASSERT_EQ(key->versions.size(), 2u);
  EXPECT_EQ(key->versions[1].encryptions_reserved, 77u);
}

// A future release that adds a second migration leaves version 2 recorded; this build knows only
// version 1 and must refuse the file rather than misread it. "kms.key_store" is the component
// name the store registers its schema under.
TEST_F(SqliteKeyStoreTest, Open_FailsWithSchemaTooNew_WhenDatabaseIsFromNewerRelease) {
  constexpr store::Migration kFuture[] = {
      {1, "SELECT 1;"},
      {2, "CREATE TABLE key_tags (key_name TEXT, tag TEXT);"},
  };
  ASSERT_TRUE(store::Migrate(*database_, "kms.key_store", kFuture).ok());

  auto reopened = SqliteKeyStore::Open(database_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code(), "store_schema_too_new");
  EXPECT_EQ(reopened.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(SqliteKeyStoreTest, Schema_RefusesDeletingKeysOrVersions) {
  Create(MakeKey("orders"));
  for (const char* sql : {"DELETE FROM key_versions", "DELETE FROM master_keys",
                          "UPDATE master_keys SET name = 'renamed'"}) {
    Status changed = database_->WithConnection(
        [&](store::Connection& connection) { return connection.ExecScript(sql); });
    ASSERT_FALSE(changed.ok()) << sql;
    EXPECT_EQ(changed.error().code(), "store_constraint") << sql;
  }
  EXPECT_EQ(Get("orders").versions.size(), 1u);
}

TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_LosesNoRotation_FromFourThreadsSharingOneStore) {
  Create(MakeKey("orders"));
  constexpr int kThreads = 4;
  constexpr int kRotationsEach = 10;
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRotationsEach; ++i) {
        if (!RotateWithRetry(*store_, "orders")) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  MasterKey key = Get("orders");
  EXPECT_EQ(key.primary_version, 1u + kThreads * kRotationsEach);
  ASSERT_EQ(key.versions.size(), 1u + kThreads * kRotationsEach);
  for (std::size_t i = 0; i < key.versions.size(); ++i) {
    EXPECT_EQ(key.versions[i].version, i + 1);
  }
}

// Separate connections, as separate processes would have: SQLite's own locking and the busy
// timeout must serialise the writers, and compare-and-swap must turn every lost race into a
// retry rather than a lost update.
TEST_F(SqliteKeyStoreTest, AddPrimaryVersion_LosesNoRotation_FromFourConnections) {
  Create(MakeKey("orders"));
  constexpr int kThreads = 4;
  constexpr int kRotationsEach = 10;
  std::vector<std::unique_ptr<SqliteKeyStore>> stores;
  for (int t = 0; t < kThreads; ++t) {
    auto database = OpenDatabase();
    ASSERT_NE(database, nullptr);
    auto store = SqliteKeyStore::Open(database);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    stores.push_back(std::move(store).value());
  }

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRotationsEach; ++i) {
        if (!RotateWithRetry(*stores[t], "orders")) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  MasterKey key = Get("orders");
  EXPECT_EQ(key.primary_version, 1u + kThreads * kRotationsEach);
  EXPECT_EQ(key.versions.size(), 1u + kThreads * kRotationsEach);
}

}  // namespace
}  // namespace weftkit::kms
