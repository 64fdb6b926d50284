// The mapping from SQLite result codes to Error decides retries and HTTP statuses, so each row of
// the table is pinned here, including extended codes that must fall under their primary code.
// SQLITE_BUSY, SQLITE_FULL and SQLITE_READONLY also come from real connections in
// test/faults/store_fault_test.cc (a lock held by another process, a full and a read-only tmpfs
// under the real kmsd). TODO(#8): produce SQLITE_IOERR from a real connection too, through a
// fault-injecting VFS.
#include "store/sqlite_error.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace weftkit::store {
namespace {

struct Mapping {
  int rc;
  ErrorKind kind;
  const char* code;
};

TEST(SqliteErrorTest, SqliteError_MapsEachResultCode) {
  const Mapping mappings[] = {
      {SQLITE_BUSY, ErrorKind::kUnavailable, "store_busy"},
      {SQLITE_BUSY_SNAPSHOT, ErrorKind::kUnavailable, "store_busy"},
      {SQLITE_LOCKED, ErrorKind::kUnavailable, "store_busy"},
      {SQLITE_FULL, ErrorKind::kUnavailable, "store_full"},
      {SQLITE_READONLY, ErrorKind::kUnavailable, "store_read_only"},
      {SQLITE_READONLY_DBMOVED, ErrorKind::kUnavailable, "store_read_only"},
      {SQLITE_CORRUPT, ErrorKind::kInternal, "store_corrupt"},
      {SQLITE_NOTADB, ErrorKind::kInternal, "store_corrupt"},
      {SQLITE_CONSTRAINT_UNIQUE, ErrorKind::kAlreadyExists, "store_constraint"},
      {SQLITE_CONSTRAINT_PRIMARYKEY, ErrorKind::kAlreadyExists, "store_constraint"},
      {SQLITE_CONSTRAINT_CHECK, ErrorKind::kConflict, "store_constraint"},
      {SQLITE_CONSTRAINT_FOREIGNKEY, ErrorKind::kConflict, "store_constraint"},
      {SQLITE_CONSTRAINT_TRIGGER, ErrorKind::kConflict, "store_constraint"},
      {SQLITE_IOERR, ErrorKind::kInternal, "store_error"},
      {SQLITE_ERROR, ErrorKind::kInternal, "store_error"},
      {SQLITE_MISUSE, ErrorKind::kInternal, "store_error"},
  };
  for (const Mapping& mapping : mappings) {
    Error error = SqliteError(mapping.rc, nullptr, "step");
    EXPECT_EQ(error.kind(), mapping.kind) << mapping.rc;
    EXPECT_EQ(error.code(), mapping.code) << mapping.rc;
  }
}

TEST(SqliteErrorTest, SqliteError_DetailNamesOperationAndSqliteReason) {
  Error error = SqliteError(SQLITE_FULL, nullptr, "commit");
  EXPECT_NE(error.detail().find("commit"), std::string::npos);
  EXPECT_NE(error.detail().find(sqlite3_errstr(SQLITE_FULL)), std::string::npos);
}

}  // namespace
}  // namespace weftkit::store
