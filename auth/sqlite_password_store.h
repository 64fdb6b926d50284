// SqlitePasswordStore: the PasswordStore kept in the embedded SQLite database.
//
// Tables (component "scram" in schema_migrations):
//   scram_users          one row per user: salt, iterations, StoredKey, ServerKey, the
//                        must-change flag and when the row was last written.
//   scram_failures       one row per name with recent failures (user or not): count, time of
//                        the last failure, refused-until time, all Unix milliseconds. Kept in
//                        the database so that a restart does not unlock an account.
//   scram_server_secret  one row: the 32-byte secret behind fake salts, made at first open.
// Every write is one BEGIN IMMEDIATE transaction, durable when it returns.
//
// StoredKey and ServerKey are stored as RFC 5802 intends (they do not reveal the password), in a
// database file of mode 0600. TODO(#8): wrap them and the fake-salt secret under an HSM key, so
// that a stolen database file alone cannot be used to impersonate the server to SCRAM clients.
//
// Thread safety: thread-safe; calls are serialised through the shared Database's lock.
#pragma once

#include <memory>
#include <utility>

#include "auth/scram_password_store.h"
#include "store/database.h"

namespace weftkit::auth {

class SqlitePasswordStore final : public PasswordStore {
 public:
  // Applies the "scram" migrations, creates the fake-salt secret if the database has none, and
  // returns a store that uses `database`. Fails with "store_schema_too_new", a mapped SQLite
  // error, or "random_unavailable". Shares ownership of `database`.
  static Result<std::unique_ptr<SqlitePasswordStore>> Open(
      std::shared_ptr<store::Database> database);

  Status PutCredentials(const std::string& user, const ScramCredentials& credentials,
                        bool must_change_password) override;
  Result<bool> CreateFirstUser(const std::string& user, const ScramCredentials& credentials,
                               bool must_change_password) override;
  Result<std::optional<ScramUser>> GetUser(const std::string& user) override;
  Status DeleteUser(const std::string& user) override;
  Result<FailureState> GetFailureState(const std::string& name) override;
  Result<FailureState> RecordFailure(const std::string& name, std::int64_t now_ms,
                                     const ThrottlePolicy& policy) override;
  Status ResetFailures(const std::string& name) override;
  Result<std::vector<std::uint8_t>> FakeSalt(std::string_view name) override;

 private:
  SqlitePasswordStore(std::shared_ptr<store::Database> database, SecretBytes fake_salt_secret)
      : database_(std::move(database)), fake_salt_secret_(std::move(fake_salt_secret)) {}

  const std::shared_ptr<store::Database> database_;
  const SecretBytes fake_salt_secret_;
};

}  // namespace weftkit::auth
