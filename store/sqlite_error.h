// Translation of SQLite result codes into the project's one Error type.
//
// Used by every class of the store module; other modules never see SQLite result codes. The
// detail names the operation and SQLite's own description of the failure (which names tables,
// columns and constraints but never bound values). Thread-safe.
#pragma once

#include <string_view>

#include "common/error.h"

struct sqlite3;

namespace weftkit::store {

// Maps the (possibly extended) result code `rc` of `operation` to an Error:
//   SQLITE_BUSY, SQLITE_LOCKED               -> kUnavailable "store_busy"
//   SQLITE_FULL                              -> kUnavailable "store_full"
//   SQLITE_READONLY                          -> kUnavailable "store_read_only"
//   SQLITE_CORRUPT, SQLITE_NOTADB            -> kInternal "store_corrupt" (a server fault: 500)
//   SQLITE_CONSTRAINT (unique, primary key)  -> kAlreadyExists "store_constraint"
//   SQLITE_CONSTRAINT (any other)            -> kConflict "store_constraint"
//   anything else                            -> kInternal "store_error"
// `db` may be null; when set, its latest error message is appended to the detail.
Error SqliteError(int rc, sqlite3* db, std::string_view operation);

}  // namespace weftkit::store
