// Transaction: RAII over BEGIN ... COMMIT, rolled back unless committed.
//
// Writes use BEGIN IMMEDIATE, which takes the database's write lock at once: a transaction that
// reads and then writes cannot fail half-way with SQLITE_BUSY because another process upgraded
// first, and it sees no change between its read and its write. Reads that need one consistent
// snapshot across several statements use a deferred BEGIN.
//
// Ownership and thread safety: like a Statement, a Transaction must end inside the
// Database::WithConnection call whose Connection it was begun on. Move-only.
#pragma once

#include <type_traits>

#include "common/error.h"
#include "store/connection.h"
#include "store/database.h"

namespace weftkit::store {

class Transaction {
 public:
  // BEGIN IMMEDIATE. Fails with "store_busy" if another process holds the write lock for longer
  // than the busy timeout, or with another mapped SQLite error (including when a transaction is
  // already open on the connection).
  static Result<Transaction> BeginWrite(Connection& connection);
  // BEGIN (deferred): a read snapshot that starts with the first read.
  static Result<Transaction> BeginRead(Connection& connection);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back if Commit() was not called or failed.
  ~Transaction();

  // COMMIT. On success the changes are durable (synchronous=FULL). On failure the transaction
  // is rolled back by the destructor at the latest; calling Commit twice is a bug and fails.
  Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  static Result<Transaction> Begin(Connection& connection, const char* sql);

  Connection* connection_;  // null once committed or moved from
};

// Runs `body(Connection&)`, which returns a Status or Result<T>, inside one BEGIN IMMEDIATE
// transaction under `database`'s lock. Commits if `body` succeeds and returns its result (or the
// commit's error); rolls back and returns the error if it fails. Thread-safe.
template <typename F>
std::invoke_result_t<F, Connection&> InWriteTransaction(Database& database, F&& body) {
  using R = std::invoke_result_t<F, Connection&>;
  return database.WithConnection([&](Connection& connection) -> R {
    auto transaction = Transaction::BeginWrite(connection);
    if (!transaction.ok()) return transaction.error();
    R result = body(connection);
    if (!result.ok()) return result;
    Status committed = transaction->Commit();
    if (!committed.ok()) return committed.error();
    return result;
  });
}

// Runs `body(Connection&)` in one read snapshot under `database`'s lock and returns its result.
// Thread-safe.
template <typename F>
std::invoke_result_t<F, Connection&> InReadTransaction(Database& database, F&& body) {
  using R = std::invoke_result_t<F, Connection&>;
  return database.WithConnection([&](Connection& connection) -> R {
    auto transaction = Transaction::BeginRead(connection);
    if (!transaction.ok()) return transaction.error();
    // The snapshot only read, so ending it with the destructor's rollback loses nothing.
    return body(connection);
  });
}

}  // namespace weftkit::store
