// PasswordStore: where SCRAM credentials, failure counts and the fake-salt secret live.
//
// The interface keeps the SCRAM server independent of SQLite (DESIGN.md decision 5);
// SqlitePasswordStore is the implementation. Passwords are never stored, only what
// scram_credentials.h describes.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scram_credentials.h"
#include "auth/scram_throttle.h"
#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::auth {

// A user as stored: credentials, and whether the password is a one-time password that must be
// changed before the account may do anything else.
struct ScramUser {
  ScramCredentials credentials;
  bool must_change_password = false;
};

// User names that can be given a password: 1 to 64 characters of [A-Za-z0-9._@-], starting with
// a letter or digit. Narrower than what SCRAM can carry, so names are safe in URLs, principals
// ("user:<name>") and logs. Clients may still send any SCRAM user name; unknown ones fail as a
// wrong password would.
bool IsValidUserName(std::string_view name);

class PasswordStore {
 public:
  virtual ~PasswordStore() = default;

  // Creates or replaces `user`'s credentials and clears its failure record (an administrator
  // setting a password also unlocks the account). Fails with kInvalidArgument
  // "invalid_user_name", or a store error.
  virtual Status PutCredentials(const std::string& user, const ScramCredentials& credentials,
                                bool must_change_password) = 0;

  // Stores `user` only if the store holds no user at all, atomically: returns true if it did,
  // false if some user already existed. For the first administrator.
  virtual Result<bool> CreateFirstUser(const std::string& user, const ScramCredentials& credentials,
                                       bool must_change_password) = 0;

  // The stored user, or nullopt if there is none of that name.
  virtual Result<std::optional<ScramUser>> GetUser(const std::string& user) = 0;

  // Removes `user` and its failure record; kNotFound "user_not_found" if there is none.
  virtual Status DeleteUser(const std::string& user) = 0;

  // The failure record of `name` (existing user or not); all zero if there is none.
  virtual Result<FailureState> GetFailureState(const std::string& name) = 0;

  // Adds one failure for `name` at `now_ms` under `policy` in one transaction and returns the
  // new state. Also drops stale records of other names, so the table does not grow without
  // bound.
  virtual Result<FailureState> RecordFailure(const std::string& name, std::int64_t now_ms,
                                             const ThrottlePolicy& policy) = 0;

  // Forgets `name`'s failures (after a successful login).
  virtual Status ResetFailures(const std::string& name) = 0;

  // A salt of kScramSaltSize bytes for a name that has no user: HMAC-SHA-256 of the name under
  // a secret kept in the store, so it is the same on every attempt and across restarts, and
  // cannot be told apart from a real random salt without the secret.
  virtual Result<std::vector<std::uint8_t>> FakeSalt(std::string_view name) = 0;

  // Derives credentials for `password` (which must pass CheckPassword) with a fresh salt and
  // stores them as PutCredentials does. Fails as CheckPassword, DeriveScramCredentials or
  // PutCredentials do.
  Status SetPassword(const std::string& user, const SecretBytes& password, std::uint32_t iterations,
                     bool must_change_password = false);
};

}  // namespace weftkit::auth
