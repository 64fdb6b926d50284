// SqliteKeyStore: the KeyStore kept in the embedded SQLite database.
//
// Tables (component "kms.key_store" in schema_migrations):
//   master_keys  one row per key name; names are never deleted or renamed, so never reused.
//   key_versions one row per version, kept after destruction as a record of what existed;
//                hsm_label is unique across all keys.
// Every mutating call is one BEGIN IMMEDIATE transaction, durable when it returns. Reads of a
// key and its versions come from one snapshot.
//
// Thread safety: thread-safe; calls are serialised through the shared Database's lock, and
// other processes using the same file are serialised by SQLite's locking.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "kms/key_store.h"
#include "store/database.h"

namespace weftkit::kms {

class SqliteKeyStore final : public KeyStore {
 public:
  // Applies the key store's migrations to `database` and returns a store that uses it.
  // Fails with "store_schema_too_new" if the database was written by a newer version, or with
  // a mapped SQLite error. Shares ownership of `database` with its other users.
  static Result<std::unique_ptr<SqliteKeyStore>> Open(std::shared_ptr<store::Database> database);

  // Besides kAlreadyExists "key_exists" for a used name, fails with kInvalidArgument
  // "invalid_key_name" or "invalid_key" if the key is not storable as given: it needs at least
  // one version (all >= 1), a primary_version naming an enabled one of them, and
  // 1 <= min_decrypt_version <= primary_version. A duplicate hsm_label fails with
  // kAlreadyExists "store_constraint".
  Status CreateKey(const MasterKey& key) override;

  // kNotFound "key_not_found" if no key has that name.
  Result<MasterKey> GetKey(const std::string& name) override;

  Result<std::vector<MasterKey>> ListKeys() override;

  // kNotFound "key_not_found"; kConflict "rotation_conflict" if the primary is no longer
  // `expected_primary`; kInvalidArgument "invalid_version" if `version` is not enabled or not
  // above every existing version.
  Status AddPrimaryVersion(const std::string& name, std::uint32_t expected_primary,
                           const KeyVersion& version) override;

  // kNotFound "key_not_found" or "key_version_not_found". Stores the state as given: the rules
  // of which transitions are allowed belong to the key service.
  Status UpdateVersionState(const std::string& name, std::uint32_t version, VersionState state,
                            std::optional<std::int64_t> destroy_after,
                            std::optional<std::int64_t> destroyed_at) override;

  // kNotFound as above; kInvalidArgument "invalid_reservation" above 2^63 - 1.
  Status ReserveEncryptions(const std::string& name, std::uint32_t version,
                            std::uint64_t reserved) override;

  // kNotFound "key_not_found"; kInvalidArgument "invalid_version" for 0; kFailedPrecondition
  // "min_decrypt_above_primary" above the current primary, which must always stay decryptable.
  Status SetMinDecryptVersion(const std::string& name, std::uint32_t version) override;

  // kNotFound "key_not_found"; kInvalidArgument "invalid_rotation_period" unless positive.
  Status SetRotationPeriod(const std::string& name, std::optional<std::int64_t> seconds) override;

  // Ordered by key name, then version.
  Result<std::vector<std::pair<std::string, std::uint32_t>>> DueForDestruction(
      std::int64_t now) override;

 private:
  explicit SqliteKeyStore(std::shared_ptr<store::Database> database)
      : database_(std::move(database)) {}

  const std::shared_ptr<store::Database> database_;
};

}  // namespace weftkit::kms
