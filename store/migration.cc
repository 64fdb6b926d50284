#include "store/migration.h"

#include <string>

#include "common/time_util.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::store {
namespace {

constexpr std::string_view kCreateMigrationsTable = R"sql(
  CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version)
  ) STRICT;
)sql";

Status CheckMigrationList(std::string_view component, std::span<const Migration> migrations) {
  if (component.empty()) {
    return Error(ErrorKind::kInternal, "store_bad_migrations", "empty component name");
  }
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<std::int64_t>(i + 1)) {
      return Error(ErrorKind::kInternal, "store_bad_migrations",
                   std::string(component) + ": migration " + std::to_string(i + 1) +
                       " has version " + std::to_string(migrations[i].version));
    }
  }
  return OkStatus();
}

Result<std::int64_t> RecordedVersion(Connection& connection, std::string_view component) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(connection,
                                         "SELECT COALESCE(MAX(version), 0) FROM schema_migrations "
                                         "WHERE component = ?1"));
  WK_RETURN_IF_ERROR(query.Bind(1, component));
  WK_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::int64_t{0};
  return query.ColumnInt64(0);
}

Status Apply(Connection& connection, std::string_view component, const Migration& migration) {
  WK_RETURN_IF_ERROR(connection.ExecScript(migration.sql));

  WK_ASSIGN_OR_RETURN(Statement record,
                      Statement::Prepare(connection,
                                         "INSERT INTO schema_migrations "
                                         "(component, version, applied_at) VALUES (?1, ?2, ?3)"));
  WK_RETURN_IF_ERROR(record.Bind(1, component));
  WK_RETURN_IF_ERROR(record.Bind(2, migration.version));
  WK_RETURN_IF_ERROR(record.Bind(3, UnixNow()));
  return record.StepToEnd();
}

Status MigrateLocked(Connection& connection, std::string_view component,
                     std::span<const Migration> migrations) {
  WK_ASSIGN_OR_RETURN(Transaction transaction, Transaction::BeginWrite(connection));
  WK_RETURN_IF_ERROR(connection.ExecScript(kCreateMigrationsTable));

  WK_ASSIGN_OR_RETURN(std::int64_t current, RecordedVersion(connection, component));
  const auto known = static_cast<std::int64_t>(migrations.size());
  if (current > known) {
    return Error(ErrorKind::kFailedPrecondition, "store_schema_too_new",
                 std::string(component) + " schema is at version " + std::to_string(current) +
                     ", this build knows up to " + std::to_string(known));
  }

  for (std::int64_t version = current + 1; version <= known; ++version) {
    WK_RETURN_IF_ERROR(Apply(connection, component, migrations[version - 1]));
  }
  return transaction.Commit();
}

}  // namespace

Status Migrate(Database& database, std::string_view component,
               std::span<const Migration> migrations) {
  WK_RETURN_IF_ERROR(CheckMigrationList(component, migrations));
  return database.WithConnection(
      [&](Connection& connection) { return MigrateLocked(connection, component, migrations); });
}

Result<std::int64_t> SchemaVersion(Database& database, std::string_view component) {
  return database.WithConnection([&](Connection& connection) -> Result<std::int64_t> {
    // Read-only: a database that was never migrated has no schema_migrations table yet.
    WK_ASSIGN_OR_RETURN(Transaction transaction, Transaction::BeginRead(connection));
    WK_ASSIGN_OR_RETURN(Statement exists,
                        Statement::Prepare(connection,
                                           "SELECT 1 FROM sqlite_schema WHERE type = 'table' "
                                           "AND name = 'schema_migrations'"));
    WK_ASSIGN_OR_RETURN(bool has_table, exists.Step());
    if (!has_table) return std::int64_t{0};
    return RecordedVersion(connection, component);
  });
}

}  // namespace weftkit::store
