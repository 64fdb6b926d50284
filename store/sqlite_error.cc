#include "store/sqlite_error.h"

#include <sqlite3.h>

#include <string>

namespace weftkit::store {
namespace {

struct CodeMapping {
  int primary_code;
  ErrorKind kind;
  const char* code;
};

// Primary result codes (the low byte of an extended code) that callers can act on. Constraint
// failures are handled apart because their kind depends on the extended code.
constexpr CodeMapping kMappings[] = {
    {SQLITE_BUSY, ErrorKind::kUnavailable, "store_busy"},
    {SQLITE_LOCKED, ErrorKind::kUnavailable, "store_busy"},
    {SQLITE_FULL, ErrorKind::kUnavailable, "store_full"},
    {SQLITE_READONLY, ErrorKind::kUnavailable, "store_read_only"},
    {SQLITE_CORRUPT, ErrorKind::kInternal, "store_corrupt"},
    {SQLITE_NOTADB, ErrorKind::kInternal, "store_corrupt"},
};

ErrorKind ConstraintKind(int rc) {
  // A duplicate key means "this already exists"; a failed CHECK, NOT NULL or foreign key means
  // the row contradicts what is stored, which a re-read can explain.
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return ErrorKind::kAlreadyExists;
  }
  return ErrorKind::kConflict;
}

}  // namespace

Error SqliteError(int rc, sqlite3* db, std::string_view operation) {
  std::string detail = std::string(operation) + ": " + sqlite3_errstr(rc);
  if (db != nullptr) detail += " (" + std::string(sqlite3_errmsg(db)) + ")";

  const int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT) {
    return Error(ConstraintKind(rc), "store_constraint", std::move(detail));
  }
  for (const CodeMapping& mapping : kMappings) {
    if (mapping.primary_code == primary) {
      return Error(mapping.kind, mapping.code, std::move(detail));
    }
  }
  return Error(ErrorKind::kInternal, "store_error", std::move(detail));
}

}  // namespace weftkit::store
