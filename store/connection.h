// Connection: one open SQLite connection, reachable only while its Database's lock is held.
//
// A Connection is owned by a Database and handed out by Database::WithConnection, so holding a
// Connection& means holding the database's writer lock. Statements and transactions take a
// Connection& for the same reason: they cannot be made without the lock.
//
// Thread safety: not synchronised itself; the owning Database serialises every use.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/error.h"

struct sqlite3;

namespace weftkit::store {

class Database;

class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs `sql`, one or more statements separated by ';', discarding any rows. For constant text
  // only (schema scripts, pragmas): it cannot bind values, so data must never be placed in it.
  Status ExecScript(std::string_view sql);

  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  std::int64_t Changes() const;

  // True while a transaction is open (SQLite is not in autocommit mode).
  bool InTransaction() const;

  // The underlying handle, for the store module's own classes. Not owned by the caller.
  sqlite3* handle() const { return db_; }

 private:
  friend class Database;
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
};

}  // namespace weftkit::store
