// Versioned schema migrations, kept apart per component.
//
// Each module that stores data (the key store now; later auth, policy and audit) owns its tables
// and its list of migrations, and registers them under its own component name, so modules can
// evolve independently in one database file. Applied versions are recorded in
//
//   schema_migrations(component TEXT, version INTEGER, applied_at INTEGER,
//                     PRIMARY KEY (component, version))
//
// A database whose schema for a component is newer than the code knows is refused rather than
// used: older code could misread or damage rows written by newer code.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.h"
#include "store/database.h"

namespace weftkit::store {

// One step of a component's schema. Versions start at 1 and increase by one. Once released, a
// migration's SQL must never change: databases that already applied it will not run it again.
struct Migration {
  std::int64_t version;
  std::string_view sql;  // one or more constant statements; never data
};

// Brings `component`'s schema in `database` up to the last of `migrations`, applying the missing
// ones in order, all in one BEGIN IMMEDIATE transaction: either every pending step is applied and
// recorded, or none is.
// Fails with:
//   kInternal "store_bad_migrations" if `component` is empty or the versions are not 1, 2, 3...;
//   kFailedPrecondition "store_schema_too_new" if the database records a version for
//     `component` above the last one in `migrations`;
//   a mapped SQLite error if a script fails (the transaction is then rolled back).
// Thread-safe: serialised through the database lock; safe against other processes too.
Status Migrate(Database& database, std::string_view component,
               std::span<const Migration> migrations);

// The highest version of `component` recorded in `database`, or 0 if none is.
Result<std::int64_t> SchemaVersion(Database& database, std::string_view component);

}  // namespace weftkit::store
