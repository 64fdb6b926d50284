// TokenRevocations: the ids (jti) of API tokens revoked before they expired.
//
// Each revocation is a row of jwt_revocations in SQLite, written durably before Revoke returns,
// and an entry of an in-memory set that the verifier consults on every request without touching
// the store. Open() reloads the set, so revocations survive a restart. A row is kept until the
// revoked token would have expired anyway (expires_at); after that the token's own exp claim
// refuses it, and PurgeExpired() drops the row.
//
// kmsd is one process per database; revocations written by another process would be seen only
// after Reload(), so a future multi-node deployment needs a change feed or a periodic Reload.
//
// Thread safety: all members are thread-safe. IsRevoked takes a shared lock only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.h"
#include "store/database.h"

namespace weftkit::auth {

// Checks that `jti` has the form this server issues: 16 random bytes, base64url (22 characters).
// Fails with kInvalidArgument "invalid_jti".
Status ValidateJti(std::string_view jti);

class TokenRevocations {
 public:
  // Migrates the "jwt" schema, purges rows whose expires_at has passed and loads the rest.
  // `now` is the clock in Unix seconds. Fails with the store's error.
  static Result<std::unique_ptr<TokenRevocations>> Open(std::shared_ptr<store::Database> database,
                                                        std::function<std::int64_t()> now);

  TokenRevocations(const TokenRevocations&) = delete;
  TokenRevocations& operator=(const TokenRevocations&) = delete;

  // Revokes `jti` until `expires_at`, recording who did it. `expires_at` must be no earlier
  // than the last instant a token with this id could still verify (its exp plus the leeway);
  // TokenService::Revoke uses the latest any token can have. Revoking an id that is already
  // revoked succeeds and keeps the first record. Fails with "invalid_jti" or the store's error;
  // on failure the id is not revoked.
  Status Revoke(std::string_view jti, std::int64_t expires_at, std::string_view revoked_by);

  // Whether `jti` is revoked. Memory only.
  bool IsRevoked(std::string_view jti) const;

  // Deletes rows (and set entries) whose expires_at has passed.
  Status PurgeExpired();

  // Re-reads the set from the store, picking up revocations made by other processes.
  Status Reload();

  // The number of revocations held in memory.
  std::size_t size() const;

 private:
  TokenRevocations(std::shared_ptr<store::Database> database, std::function<std::int64_t()> now)
      : database_(std::move(database)), now_(std::move(now)) {}

  const std::shared_ptr<store::Database> database_;
  const std::function<std::int64_t()> now_;

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::int64_t> expires_at_by_jti_;  // guarded by mutex_
};

}  // namespace weftkit::auth
