#include "kms/sqlite_key_store.h"

#include <algorithm>
#include <limits>
#include <map>

#include "kms/envelope.h"
#include "store/migration.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::kms {
namespace {

using store::Connection;
using store::Statement;

constexpr std::string_view kComponent = "kms.key_store";

// Released migrations never change; a schema change is a new entry at the end.
constexpr store::Migration kMigrations[] = {
    {1, R"sql(
  CREATE TABLE master_keys (
    name                TEXT    NOT NULL PRIMARY KEY,
    algorithm           TEXT    NOT NULL,
    primary_version     INTEGER NOT NULL CHECK (primary_version BETWEEN 1 AND 4294967295),
    min_decrypt_version INTEGER NOT NULL
                        CHECK (min_decrypt_version BETWEEN 1 AND primary_version),
    created_at          INTEGER NOT NULL,
    rotated_at          INTEGER,
    rotation_period     INTEGER CHECK (rotation_period IS NULL OR rotation_period > 0),
    description         TEXT    NOT NULL DEFAULT ''
  ) STRICT;

  CREATE TABLE key_versions (
    key_name             TEXT    NOT NULL REFERENCES master_keys (name),
    version              INTEGER NOT NULL CHECK (version BETWEEN 1 AND 4294967295),
    state                TEXT    NOT NULL CHECK (state IN ('enabled', 'disabled',
                                   'scheduled_for_destruction', 'destroyed')),
    hsm_label            TEXT    NOT NULL UNIQUE,
    created_at           INTEGER NOT NULL,
    destroy_after        INTEGER,
    destroyed_at         INTEGER,
    encryptions_reserved INTEGER NOT NULL DEFAULT 0 CHECK (encryptions_reserved >= 0),
    PRIMARY KEY (key_name, version)
  ) STRICT;

  CREATE INDEX key_versions_by_destroy_after ON key_versions (state, destroy_after);

  -- A key name identifies wrapped DEKs forever, so a name must never come back with other key
  -- material behind it: keys are never deleted or renamed, and versions never deleted.
  CREATE TRIGGER master_keys_never_deleted BEFORE DELETE ON master_keys
  BEGIN SELECT RAISE(ABORT, 'master keys are never deleted'); END;
  CREATE TRIGGER master_keys_never_renamed BEFORE UPDATE OF name ON master_keys
  BEGIN SELECT RAISE(ABORT, 'master keys are never renamed'); END;
  CREATE TRIGGER key_versions_never_deleted BEFORE DELETE ON key_versions
  BEGIN SELECT RAISE(ABORT, 'key versions are never deleted'); END;
)sql"},
};

// Column order shared by ReadKeyRow and ReadVersionRow. Whole statements are spelled out, so
// every SQL text is a constant.
constexpr const char* kSelectKeyByName =
    "SELECT name, algorithm, primary_version, min_decrypt_version, created_at, rotated_at, "
    "rotation_period, description FROM master_keys WHERE name = ?1";
constexpr const char* kSelectAllKeys =
    "SELECT name, algorithm, primary_version, min_decrypt_version, created_at, rotated_at, "
    "rotation_period, description FROM master_keys ORDER BY name";
constexpr const char* kSelectVersionsOfKey =
    "SELECT key_name, version, state, hsm_label, created_at, destroy_after, destroyed_at, "
    "encryptions_reserved FROM key_versions WHERE key_name = ?1 ORDER BY version";
constexpr const char* kSelectAllVersions =
    "SELECT key_name, version, state, hsm_label, created_at, destroy_after, destroyed_at, "
    "encryptions_reserved FROM key_versions ORDER BY key_name, version";

Error KeyNotFound(const std::string& name) {
  return Error(ErrorKind::kNotFound, "key_not_found", "no master key named " + name);
}

Error InvalidArgument(const char* code, std::string detail) {
  return Error(ErrorKind::kInvalidArgument, code, std::move(detail));
}

Error Corrupt(const std::string& what) {
  return Error(ErrorKind::kInternal, "store_corrupt", "key store row holds " + what);
}

Result<std::uint32_t> VersionColumn(const Statement& row, int column) {
  const std::int64_t value = row.ColumnInt64(column);
  if (value < 1 || value > std::numeric_limits<std::uint32_t>::max()) {
    return Corrupt("a version number out of range");
  }
  return static_cast<std::uint32_t>(value);
}

Result<MasterKey> ReadKeyRow(const Statement& row) {
  MasterKey key;
  key.name = row.ColumnText(0);
  key.algorithm = row.ColumnText(1);
  WK_ASSIGN_OR_RETURN(key.primary_version, VersionColumn(row, 2));
  WK_ASSIGN_OR_RETURN(key.min_decrypt_version, VersionColumn(row, 3));
  key.created_at = row.ColumnInt64(4);
  key.rotated_at = row.ColumnOptionalInt64(5);
  key.rotation_period = row.ColumnOptionalInt64(6);
  key.description = row.ColumnText(7);
  return key;
}

// Reads columns 1..7 of a key_versions row as selected above; column 0 (the key name) is the
// caller's.
Result<KeyVersion> ReadVersionRow(const Statement& row) {
  KeyVersion version;
  WK_ASSIGN_OR_RETURN(version.version, VersionColumn(row, 1));
  std::optional<VersionState> state = ParseVersionState(row.ColumnText(2));
  if (!state.has_value()) return Corrupt("an unknown version state");
  version.state = *state;
  version.hsm_label = row.ColumnText(3);
  version.created_at = row.ColumnInt64(4);
  version.destroy_after = row.ColumnOptionalInt64(5);
  version.destroyed_at = row.ColumnOptionalInt64(6);
  const std::int64_t reserved = row.ColumnInt64(7);
  if (reserved < 0) return Corrupt("a negative encryption count");
  version.encryptions_reserved = static_cast<std::uint64_t>(reserved);
  return version;
}

// The current primary version of `name`, or kNotFound "key_not_found".
Result<std::uint32_t> PrimaryVersion(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(
      Statement query,
      Statement::Prepare(connection, "SELECT primary_version FROM master_keys WHERE name = ?1"));
  WK_RETURN_IF_ERROR(query.Bind(1, name));
  WK_ASSIGN_OR_RETURN(bool found, query.Step());
  if (!found) return KeyNotFound(name);
  return VersionColumn(query, 0);
}

Result<std::uint32_t> HighestVersion(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(connection,
                                                          "SELECT COALESCE(MAX(version), 0) "
                                                          "FROM key_versions WHERE key_name = ?1"));
  WK_RETURN_IF_ERROR(query.Bind(1, name));
  WK_RETURN_IF_ERROR(query.Step());
  return static_cast<std::uint32_t>(query.ColumnInt64(0));
}

Status InsertKeyRow(Connection& connection, const MasterKey& key) {
  WK_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(connection,
                         "INSERT INTO master_keys (name, algorithm, primary_version, "
                         "min_decrypt_version, created_at, rotated_at, rotation_period, "
                         "description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, key.name));
  WK_RETURN_IF_ERROR(insert.Bind(2, key.algorithm));
  WK_RETURN_IF_ERROR(insert.Bind(3, std::int64_t{key.primary_version}));
  WK_RETURN_IF_ERROR(insert.Bind(4, std::int64_t{key.min_decrypt_version}));
  WK_RETURN_IF_ERROR(insert.Bind(5, key.created_at));
  WK_RETURN_IF_ERROR(insert.Bind(6, key.rotated_at));
  WK_RETURN_IF_ERROR(insert.Bind(7, key.rotation_period));
  WK_RETURN_IF_ERROR(insert.Bind(8, key.description));
  return insert.StepToEnd();
}

Status InsertVersionRow(Connection& connection, const std::string& name,
                        const KeyVersion& version) {
  if (version.encryptions_reserved > std::numeric_limits<std::int64_t>::max()) {
    return InvalidArgument("invalid_reservation", "encryption count above 2^63 - 1");
  }
  WK_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(connection,
                         "INSERT INTO key_versions (key_name, version, state, hsm_label, "
                         "created_at, destroy_after, destroyed_at, encryptions_reserved) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, name));
  WK_RETURN_IF_ERROR(insert.Bind(2, std::int64_t{version.version}));
  WK_RETURN_IF_ERROR(insert.Bind(3, VersionStateName(version.state)));
  WK_RETURN_IF_ERROR(insert.Bind(4, version.hsm_label));
  WK_RETURN_IF_ERROR(insert.Bind(5, version.created_at));
  WK_RETURN_IF_ERROR(insert.Bind(6, version.destroy_after));
  WK_RETURN_IF_ERROR(insert.Bind(7, version.destroyed_at));
  WK_RETURN_IF_ERROR(insert.Bind(8, static_cast<std::int64_t>(version.encryptions_reserved)));
  return insert.StepToEnd();
}

// The compare half of AddPrimaryVersion's compare-and-swap, run inside its transaction: the
// primary must still be `expected_primary`, and the new version must be above every existing one.
Status CheckRotation(Connection& connection, const std::string& name,
                     std::uint32_t expected_primary, std::uint32_t new_version) {
  WK_ASSIGN_OR_RETURN(std::uint32_t primary, PrimaryVersion(connection, name));
  if (primary != expected_primary) {
    return Error(ErrorKind::kConflict, "rotation_conflict",
                 "primary of " + name + " is " + std::to_string(primary) + ", expected " +
                     std::to_string(expected_primary));
  }
  WK_ASSIGN_OR_RETURN(std::uint32_t highest, HighestVersion(connection, name));
  if (new_version <= highest) {
    return InvalidArgument("invalid_version", "version " + std::to_string(new_version) +
                                                  " is not above " + std::to_string(highest));
  }
  return OkStatus();
}

// Makes `version` the primary of `name`; it became primary at its creation time.
Status Promote(Connection& connection, const std::string& name, const KeyVersion& version) {
  WK_ASSIGN_OR_RETURN(Statement promote,
                      Statement::Prepare(connection,
                                         "UPDATE master_keys SET primary_version = ?1, "
                                         "rotated_at = ?2 WHERE name = ?3"));
  WK_RETURN_IF_ERROR(promote.Bind(1, std::int64_t{version.version}));
  WK_RETURN_IF_ERROR(promote.Bind(2, version.created_at));
  WK_RETURN_IF_ERROR(promote.Bind(3, name));
  return promote.StepToEnd();
}

Status ValidateNewKey(const MasterKey& key) {
  WK_RETURN_IF_ERROR(ValidateKeyName(key.name));
  if (key.versions.empty()) return InvalidArgument("invalid_key", "a key needs a version");
  for (const KeyVersion& version : key.versions) {
    if (version.version == 0) return InvalidArgument("invalid_key", "version 0 is never valid");
  }
  const KeyVersion* primary = key.FindVersion(key.primary_version);
  if (primary == nullptr || primary->state != VersionState::kEnabled) {
    return InvalidArgument("invalid_key", "the primary version must be an enabled version");
  }
  if (key.min_decrypt_version < 1 || key.min_decrypt_version > key.primary_version) {
    return InvalidArgument("invalid_key", "min_decrypt_version must lie in 1..primary_version");
  }
  return OkStatus();
}

// After an UPDATE of one version matched no row: says whether the key or the version is missing.
Status MissingVersion(Connection& connection, const std::string& name, std::uint32_t version) {
  WK_RETURN_IF_ERROR(PrimaryVersion(connection, name));
  return Error(ErrorKind::kNotFound, "key_version_not_found",
               "master key " + name + " has no version " + std::to_string(version));
}

// Runs an UPDATE of one key_versions row whose last two parameters are (key_name, version).
Status UpdateOneVersion(Statement& update, Connection& connection, const std::string& name,
                        std::uint32_t version, int name_index) {
  WK_RETURN_IF_ERROR(update.Bind(name_index, name));
  WK_RETURN_IF_ERROR(update.Bind(name_index + 1, std::int64_t{version}));
  WK_RETURN_IF_ERROR(update.StepToEnd());
  if (connection.Changes() == 0) return MissingVersion(connection, name, version);
  return OkStatus();
}

Result<std::vector<KeyVersion>> LoadVersions(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(connection, kSelectVersionsOfKey));
  WK_RETURN_IF_ERROR(query.Bind(1, name));
  std::vector<KeyVersion> versions;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return versions;
    WK_ASSIGN_OR_RETURN(KeyVersion version, ReadVersionRow(query));
    versions.push_back(std::move(version));
  }
}

Result<MasterKey> LoadKey(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(connection, kSelectKeyByName));
  WK_RETURN_IF_ERROR(query.Bind(1, name));
  WK_ASSIGN_OR_RETURN(bool found, query.Step());
  if (!found) return KeyNotFound(name);
  WK_ASSIGN_OR_RETURN(MasterKey key, ReadKeyRow(query));
  WK_ASSIGN_OR_RETURN(key.versions, LoadVersions(connection, name));
  return key;
}

Result<std::vector<MasterKey>> LoadAllKeys(Connection& connection) {
  WK_ASSIGN_OR_RETURN(Statement keys, Statement::Prepare(connection, kSelectAllKeys));
  std::vector<MasterKey> result;
  std::map<std::string, std::size_t> index_by_name;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, keys.Step());
    if (!row) break;
    WK_ASSIGN_OR_RETURN(MasterKey key, ReadKeyRow(keys));
    index_by_name.emplace(key.name, result.size());
    result.push_back(std::move(key));
  }

  WK_ASSIGN_OR_RETURN(Statement versions, Statement::Prepare(connection, kSelectAllVersions));
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, versions.Step());
    if (!row) return result;
    auto owner = index_by_name.find(versions.ColumnText(0));
    if (owner == index_by_name.end()) return Corrupt("a version of a missing key");
    WK_ASSIGN_OR_RETURN(KeyVersion version, ReadVersionRow(versions));
    result[owner->second].versions.push_back(std::move(version));
  }
}

}  // namespace

Result<std::unique_ptr<SqliteKeyStore>> SqliteKeyStore::Open(
    std::shared_ptr<store::Database> database) {
  if (database == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "key store opened without a database");
  }
  WK_RETURN_IF_ERROR(store::Migrate(*database, kComponent, kMigrations));
  return std::unique_ptr<SqliteKeyStore>(new SqliteKeyStore(std::move(database)));
}

Status SqliteKeyStore::CreateKey(const MasterKey& key) {
  WK_RETURN_IF_ERROR(ValidateNewKey(key));
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    if (PrimaryVersion(connection, key.name).ok()) {
      return Error(ErrorKind::kAlreadyExists, "key_exists",
                   "a master key named " + key.name + " exists");
    }
    WK_RETURN_IF_ERROR(InsertKeyRow(connection, key));
    for (const KeyVersion& version : key.versions) {
      WK_RETURN_IF_ERROR(InsertVersionRow(connection, key.name, version));
    }
    return OkStatus();
  });
}

Result<MasterKey> SqliteKeyStore::GetKey(const std::string& name) {
  return store::InReadTransaction(
      *database_, [&](Connection& connection) { return LoadKey(connection, name); });
}

Result<std::vector<MasterKey>> SqliteKeyStore::ListKeys() {
  return store::InReadTransaction(*database_, LoadAllKeys);
}

Status SqliteKeyStore::AddPrimaryVersion(const std::string& name, std::uint32_t expected_primary,
                                         const KeyVersion& version) {
  if (version.state != VersionState::kEnabled) {
    return InvalidArgument("invalid_version", "a new primary version must be enabled");
  }
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_RETURN_IF_ERROR(CheckRotation(connection, name, expected_primary, version.version));
    WK_RETURN_IF_ERROR(InsertVersionRow(connection, name, version));
    return Promote(connection, name, version);
  });
}

Status SqliteKeyStore::UpdateVersionState(const std::string& name, std::uint32_t version,
                                          VersionState state,
                                          std::optional<std::int64_t> destroy_after,
                                          std::optional<std::int64_t> destroyed_at) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement update,
                        Statement::Prepare(connection,
                                           "UPDATE key_versions SET state = ?1, destroy_after = "
                                           "?2, destroyed_at = ?3 WHERE key_name = ?4 AND "
                                           "version = ?5"));
    WK_RETURN_IF_ERROR(update.Bind(1, VersionStateName(state)));
    WK_RETURN_IF_ERROR(update.Bind(2, destroy_after));
    WK_RETURN_IF_ERROR(update.Bind(3, destroyed_at));
    return UpdateOneVersion(update, connection, name, version, 4);
  });
}

Status SqliteKeyStore::ReserveEncryptions(const std::string& name, std::uint32_t version,
                                          std::uint64_t reserved) {
  if (reserved > std::numeric_limits<std::int64_t>::max()) {
    return InvalidArgument("invalid_reservation", "encryption count above 2^63 - 1");
  }
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    // MAX() in SQL makes "never lower" hold even against a caller with a stale count.
    WK_ASSIGN_OR_RETURN(Statement update,
                        Statement::Prepare(connection,
                                           "UPDATE key_versions SET encryptions_reserved = "
                                           "MAX(encryptions_reserved, ?1) WHERE key_name = ?2 "
                                           "AND version = ?3"));
    WK_RETURN_IF_ERROR(update.Bind(1, static_cast<std::int64_t>(reserved)));
    return UpdateOneVersion(update, connection, name, version, 2);
  });
}

Status SqliteKeyStore::SetMinDecryptVersion(const std::string& name, std::uint32_t version) {
  if (version == 0) return InvalidArgument("invalid_version", "version 0 is never valid");
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(std::uint32_t primary, PrimaryVersion(connection, name));
    if (version > primary) {
      return Error(ErrorKind::kFailedPrecondition, "min_decrypt_above_primary",
                   "minimum decryption version " + std::to_string(version) +
                       " is above the primary " + std::to_string(primary));
    }
    WK_ASSIGN_OR_RETURN(Statement update,
                        Statement::Prepare(connection,
                                           "UPDATE master_keys SET min_decrypt_version = ?1 "
                                           "WHERE name = ?2"));
    WK_RETURN_IF_ERROR(update.Bind(1, std::int64_t{version}));
    WK_RETURN_IF_ERROR(update.Bind(2, name));
    return update.StepToEnd();
  });
}

Status SqliteKeyStore::SetRotationPeriod(const std::string& name,
                                         std::optional<std::int64_t> seconds) {
  if (seconds.has_value() && *seconds <= 0) {
    return InvalidArgument("invalid_rotation_period", "rotation period must be positive");
  }
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement update,
                        Statement::Prepare(connection,
                                           "UPDATE master_keys SET rotation_period = ?1 "
                                           "WHERE name = ?2"));
    WK_RETURN_IF_ERROR(update.Bind(1, seconds));
    WK_RETURN_IF_ERROR(update.Bind(2, name));
    WK_RETURN_IF_ERROR(update.StepToEnd());
    if (connection.Changes() == 0) return KeyNotFound(name);
    return OkStatus();
  });
}

Result<std::vector<std::pair<std::string, std::uint32_t>>> SqliteKeyStore::DueForDestruction(
    std::int64_t now) {
  using Due = std::vector<std::pair<std::string, std::uint32_t>>;
  return store::InReadTransaction(*database_, [&](Connection& connection) -> Result<Due> {
    WK_ASSIGN_OR_RETURN(Statement query,
                        Statement::Prepare(connection,
                                           "SELECT key_name, version FROM key_versions "
                                           "WHERE state = 'scheduled_for_destruction' AND "
                                           "destroy_after <= ?1 ORDER BY key_name, version"));
    WK_RETURN_IF_ERROR(query.Bind(1, now));
    Due due;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return due;
      WK_ASSIGN_OR_RETURN(std::uint32_t version, VersionColumn(query, 1));
      due.emplace_back(query.ColumnText(0), version);
    }
  });
}

}  // namespace weftkit::kms
