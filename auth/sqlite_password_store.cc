#include "auth/sqlite_password_store.h"

#include <openssl/crypto.h>

#include "common/base64.h"
#include "common/time_util.h"
#include "store/migration.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::auth {
namespace {

using store::Connection;
using store::Statement;

constexpr std::string_view kComponent = "scram";
constexpr std::size_t kSecretSize = 32;
// Domain separation: the fake-salt secret is used for nothing else, but the label makes sure
// its HMACs can never collide with another use added later.
constexpr std::string_view kFakeSaltLabel = "weftkit scram fake salt\n";

// Released migrations never change; a schema change is a new entry at the end.
constexpr store::Migration kMigrations[] = {
    {1, R"sql(
  CREATE TABLE scram_users (
    name                 TEXT    NOT NULL PRIMARY KEY,
    salt                 BLOB    NOT NULL CHECK (length(salt) >= 16),
    iterations           INTEGER NOT NULL CHECK (iterations BETWEEN 4096 AND 10000000),
    stored_key           BLOB    NOT NULL CHECK (length(stored_key) = 32),
    server_key           BLOB    NOT NULL CHECK (length(server_key) = 32),
    must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
    updated_at           INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE scram_failures (
    name             TEXT    NOT NULL PRIMARY KEY,
    failures         INTEGER NOT NULL CHECK (failures >= 1),
    last_failure_ms  INTEGER NOT NULL,
    refused_until_ms INTEGER NOT NULL CHECK (refused_until_ms >= last_failure_ms)
  ) STRICT;
  CREATE INDEX scram_failures_by_refused_until ON scram_failures (refused_until_ms);

  CREATE TABLE scram_server_secret (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    secret BLOB    NOT NULL CHECK (length(secret) = 32)
  ) STRICT;
)sql"},
};

// Copies a blob column into secure memory and wipes the ordinary-heap copy.
SecretBytes SecretColumn(const Statement& row, int column) {
  std::vector<std::uint8_t> blob = row.ColumnBlob(column);
  SecretBytes secret = SecretBytes::CopyOf(blob);
  OPENSSL_cleanse(blob.data(), blob.size());
  return secret;
}

Result<SecretBytes> LoadOrCreateSecret(Connection& connection) {
  WK_ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(connection, "SELECT secret FROM scram_server_secret WHERE id = 1"));
  WK_ASSIGN_OR_RETURN(bool found, select.Step());
  if (found) return SecretColumn(select, 0);

  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> fresh, RandomBytes(kSecretSize));
  SecretBytes secret = SecretBytes::CopyOf(fresh);
  OPENSSL_cleanse(fresh.data(), fresh.size());
  WK_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(connection,
                         "INSERT INTO scram_server_secret (id, secret) VALUES (1, ?1)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, secret.expose()));
  WK_RETURN_IF_ERROR(insert.StepToEnd());
  return secret;
}

Status UpsertUser(Connection& connection, const std::string& user,
                  const ScramCredentials& credentials, bool must_change_password) {
  WK_ASSIGN_OR_RETURN(
      Statement upsert,
      Statement::Prepare(connection,
                         "INSERT INTO scram_users (name, salt, iterations, stored_key, "
                         "server_key, must_change_password, updated_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET "
                         "salt = ?2, iterations = ?3, stored_key = ?4, server_key = ?5, "
                         "must_change_password = ?6, updated_at = ?7"));
  WK_RETURN_IF_ERROR(upsert.Bind(1, user));
  WK_RETURN_IF_ERROR(upsert.Bind(2, std::span<const std::uint8_t>(credentials.salt)));
  WK_RETURN_IF_ERROR(upsert.Bind(3, std::int64_t{credentials.iterations}));
  WK_RETURN_IF_ERROR(upsert.Bind(4, credentials.stored_key.expose()));
  WK_RETURN_IF_ERROR(upsert.Bind(5, credentials.server_key.expose()));
  WK_RETURN_IF_ERROR(upsert.Bind(6, std::int64_t{must_change_password ? 1 : 0}));
  WK_RETURN_IF_ERROR(upsert.Bind(7, UnixNow()));
  return upsert.StepToEnd();
}

Status DeleteFailures(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(Statement remove, Statement::Prepare(connection,
                                                           "DELETE FROM scram_failures "
                                                           "WHERE name = ?1"));
  WK_RETURN_IF_ERROR(remove.Bind(1, name));
  return remove.StepToEnd();
}

Result<FailureState> ReadFailures(Connection& connection, const std::string& name) {
  WK_ASSIGN_OR_RETURN(Statement select,
                      Statement::Prepare(connection,
                                         "SELECT failures, last_failure_ms, refused_until_ms "
                                         "FROM scram_failures WHERE name = ?1"));
  WK_RETURN_IF_ERROR(select.Bind(1, name));
  WK_ASSIGN_OR_RETURN(bool found, select.Step());
  FailureState state;
  if (!found) return state;
  state.failures = static_cast<int>(select.ColumnInt64(0));
  state.last_failure_ms = select.ColumnInt64(1);
  state.refused_until_ms = select.ColumnInt64(2);
  return state;
}

Status WriteFailures(Connection& connection, const std::string& name, const FailureState& state) {
  WK_ASSIGN_OR_RETURN(
      Statement upsert,
      Statement::Prepare(connection,
                         "INSERT INTO scram_failures (name, failures, last_failure_ms, "
                         "refused_until_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE "
                         "SET failures = ?2, last_failure_ms = ?3, refused_until_ms = ?4"));
  WK_RETURN_IF_ERROR(upsert.Bind(1, name));
  WK_RETURN_IF_ERROR(upsert.Bind(2, std::int64_t{state.failures}));
  WK_RETURN_IF_ERROR(upsert.Bind(3, state.last_failure_ms));
  WK_RETURN_IF_ERROR(upsert.Bind(4, state.refused_until_ms));
  return upsert.StepToEnd();
}

// Deletes the records IsStale() would call stale: their refusal ended a failure window ago.
Status DeleteStaleFailures(Connection& connection, std::int64_t now_ms,
                           const ThrottlePolicy& policy) {
  WK_ASSIGN_OR_RETURN(Statement remove, Statement::Prepare(connection,
                                                           "DELETE FROM scram_failures "
                                                           "WHERE refused_until_ms <= ?1"));
  WK_RETURN_IF_ERROR(remove.Bind(1, now_ms - policy.failure_window.count()));
  return remove.StepToEnd();
}

Error InvalidUserName() {
  return Error(ErrorKind::kInvalidArgument, "invalid_user_name", "user name not allowed");
}

}  // namespace

Result<std::unique_ptr<SqlitePasswordStore>> SqlitePasswordStore::Open(
    std::shared_ptr<store::Database> database) {
  WK_RETURN_IF_ERROR(store::Migrate(*database, kComponent, kMigrations));
  WK_ASSIGN_OR_RETURN(SecretBytes secret, store::InWriteTransaction(*database, LoadOrCreateSecret));
  if (secret.size() != kSecretSize) {
    return Error(ErrorKind::kInternal, "store_corrupt", "fake-salt secret has the wrong size");
  }
  return std::unique_ptr<SqlitePasswordStore>(
      new SqlitePasswordStore(std::move(database), std::move(secret)));
}

Status SqlitePasswordStore::PutCredentials(const std::string& user,
                                           const ScramCredentials& credentials,
                                           bool must_change_password) {
  if (!IsValidUserName(user)) return InvalidUserName();
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_RETURN_IF_ERROR(UpsertUser(connection, user, credentials, must_change_password));
    return DeleteFailures(connection, user);
  });
}

Result<bool> SqlitePasswordStore::CreateFirstUser(const std::string& user,
                                                  const ScramCredentials& credentials,
                                                  bool must_change_password) {
  if (!IsValidUserName(user)) return InvalidUserName();
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Result<bool> {
    WK_ASSIGN_OR_RETURN(Statement any, Statement::Prepare(connection,
                                                          "SELECT EXISTS (SELECT 1 FROM "
                                                          "scram_users)"));
    WK_RETURN_IF_ERROR(any.Step());
    if (any.ColumnInt64(0) != 0) return false;
    WK_RETURN_IF_ERROR(UpsertUser(connection, user, credentials, must_change_password));
    return true;
  });
}

Result<std::optional<ScramUser>> SqlitePasswordStore::GetUser(const std::string& user) {
  return database_->WithConnection([&](Connection& connection) -> Result<std::optional<ScramUser>> {
    WK_ASSIGN_OR_RETURN(Statement select,
                        Statement::Prepare(connection,
                                           "SELECT salt, iterations, stored_key, server_key, "
                                           "must_change_password FROM scram_users "
                                           "WHERE name = ?1"));
    WK_RETURN_IF_ERROR(select.Bind(1, user));
    WK_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return std::optional<ScramUser>();
    ScramUser stored;
    stored.credentials.salt = select.ColumnBlob(0);
    stored.credentials.iterations = static_cast<std::uint32_t>(select.ColumnInt64(1));
    stored.credentials.stored_key = SecretColumn(select, 2);
    stored.credentials.server_key = SecretColumn(select, 3);
    stored.must_change_password = select.ColumnInt64(4) != 0;
    return std::optional<ScramUser>(std::move(stored));
  });
}

Status SqlitePasswordStore::DeleteUser(const std::string& user) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement remove, Statement::Prepare(connection,
                                                             "DELETE FROM scram_users "
                                                             "WHERE name = ?1"));
    WK_RETURN_IF_ERROR(remove.Bind(1, user));
    WK_RETURN_IF_ERROR(remove.StepToEnd());
    if (connection.Changes() == 0) {
      return Error(ErrorKind::kNotFound, "user_not_found", "no SCRAM user " + user);
    }
    return DeleteFailures(connection, user);
  });
}

Result<FailureState> SqlitePasswordStore::GetFailureState(const std::string& name) {
  return database_->WithConnection(
      [&](Connection& connection) { return ReadFailures(connection, name); });
}

Result<FailureState> SqlitePasswordStore::RecordFailure(const std::string& name,
                                                        std::int64_t now_ms,
                                                        const ThrottlePolicy& policy) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Result<FailureState> {
    WK_ASSIGN_OR_RETURN(FailureState previous, ReadFailures(connection, name));
    FailureState next = AfterFailure(previous, now_ms, policy);
    WK_RETURN_IF_ERROR(DeleteStaleFailures(connection, now_ms, policy));
    WK_RETURN_IF_ERROR(WriteFailures(connection, name, next));
    return next;
  });
}

Status SqlitePasswordStore::ResetFailures(const std::string& name) {
  return store::InWriteTransaction(
      *database_, [&](Connection& connection) { return DeleteFailures(connection, name); });
}

Result<std::vector<std::uint8_t>> SqlitePasswordStore::FakeSalt(std::string_view name) {
  std::string input = std::string(kFakeSaltLabel) + std::string(name);
  WK_ASSIGN_OR_RETURN(SecretBytes mac, HmacSha256(fake_salt_secret_.expose(), AsBytes(input)));
  std::span<const std::uint8_t> bytes = mac.expose().first(kScramSaltSize);
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace weftkit::auth
