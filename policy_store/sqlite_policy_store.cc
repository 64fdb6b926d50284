#include "policy_store/sqlite_policy_store.h"

#include "store/migration.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::policy_store {
namespace {

using store::Connection;
using store::Statement;

// Released migrations never change; a schema change is a new entry at the end.
constexpr store::Migration kMigrations[] = {
    {1, R"sql(
  CREATE TABLE policy_versions (
    scope            TEXT    NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    content          TEXT    NOT NULL,
    content_hash     TEXT    NOT NULL CHECK (length(content_hash) = 64),
    author           TEXT    NOT NULL,
    published_at     INTEGER NOT NULL,
    comment          TEXT    NOT NULL DEFAULT '',
    based_on         INTEGER NOT NULL CHECK (based_on = version - 1),
    rolled_back_from INTEGER CHECK (rolled_back_from IS NULL OR rolled_back_from < version),
    kid              TEXT    NOT NULL,
    signature        TEXT    NOT NULL,
    PRIMARY KEY (scope, version)
  ) STRICT, WITHOUT ROWID;

  -- A published version is what engines verified and enforced: it never changes or disappears.
  CREATE TRIGGER policy_versions_never_updated BEFORE UPDATE ON policy_versions
  BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;
  CREATE TRIGGER policy_versions_never_deleted BEFORE DELETE ON policy_versions
  BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;

  CREATE TABLE policy_signing_keys (
    kid        TEXT    NOT NULL PRIMARY KEY,
    hsm_label  TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TRIGGER policy_signing_keys_never_deleted BEFORE DELETE ON policy_signing_keys
  BEGIN SELECT RAISE(ABORT, 'signing keys are never deleted'); END;

  CREATE TABLE policy_fleet_reports (
    scope       TEXT    NOT NULL,
    principal   TEXT    NOT NULL,
    instance    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (scope, principal, instance)
  ) STRICT, WITHOUT ROWID;
)sql"},
};

constexpr const char* kVersionColumns =
    "scope, version, content, content_hash, author, published_at, comment, based_on, "
    "rolled_back_from, kid, signature";

PolicyVersion ReadVersion(const Statement& row) {
  PolicyVersion version;
  version.scope = row.ColumnText(0);
  version.version = row.ColumnInt64(1);
  version.content = row.ColumnText(2);
  version.content_hash = row.ColumnText(3);
  version.author = row.ColumnText(4);
  version.published_at = row.ColumnInt64(5);
  version.comment = row.ColumnText(6);
  version.based_on = row.ColumnInt64(7);
  version.rolled_back_from = row.ColumnOptionalInt64(8);
  version.kid = row.ColumnText(9);
  version.signature = row.ColumnText(10);
  return version;
}

// Runs a prepared SELECT of version rows and collects them.
Result<std::vector<PolicyVersion>> CollectVersions(Statement& select) {
  std::vector<PolicyVersion> versions;
  for (;;) {
    WK_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return versions;
    versions.push_back(ReadVersion(select));
  }
}

Result<std::optional<PolicyVersion>> SelectLatest(Connection& connection,
                                                  const std::string& scope) {
  WK_ASSIGN_OR_RETURN(Statement select,
                      Statement::Prepare(connection, std::string("SELECT ") + kVersionColumns +
                                                         " FROM policy_versions WHERE scope = ?1 "
                                                         "ORDER BY version DESC LIMIT 1"));
  WK_RETURN_IF_ERROR(select.Bind(1, scope));
  WK_ASSIGN_OR_RETURN(std::vector<PolicyVersion> rows, CollectVersions(select));
  if (rows.empty()) return std::optional<PolicyVersion>();
  return std::optional<PolicyVersion>(std::move(rows.front()));
}

Status InsertRow(Connection& connection, const PolicyVersion& v) {
  WK_ASSIGN_OR_RETURN(Statement insert,
                      Statement::Prepare(connection, std::string("INSERT INTO policy_versions (") +
                                                         kVersionColumns +
                                                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                                         "?8, ?9, ?10, ?11)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, v.scope));
  WK_RETURN_IF_ERROR(insert.Bind(2, v.version));
  WK_RETURN_IF_ERROR(insert.Bind(3, v.content));
  WK_RETURN_IF_ERROR(insert.Bind(4, v.content_hash));
  WK_RETURN_IF_ERROR(insert.Bind(5, v.author));
  WK_RETURN_IF_ERROR(insert.Bind(6, v.published_at));
  WK_RETURN_IF_ERROR(insert.Bind(7, v.comment));
  WK_RETURN_IF_ERROR(insert.Bind(8, v.based_on));
  WK_RETURN_IF_ERROR(insert.Bind(9, v.rolled_back_from));
  WK_RETURN_IF_ERROR(insert.Bind(10, v.kid));
  WK_RETURN_IF_ERROR(insert.Bind(11, v.signature));
  return insert.StepToEnd();
}

Status CheckBase(const std::optional<PolicyVersion>& latest, const PolicyVersion& next) {
  std::int64_t current = latest ? latest->version : 0;
  if (current != next.based_on) {
    return Error(ErrorKind::kConflict, "policy_version_conflict",
                 next.scope + " is at version " + std::to_string(current) + ", not " +
                     std::to_string(next.based_on));
  }
  if (latest && latest->content_hash == next.content_hash) {
    return Error(ErrorKind::kFailedPrecondition, "policy_unchanged",
                 next.scope + " version " + std::to_string(current) + " has this content");
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<SqlitePolicyStore>> SqlitePolicyStore::Open(
    std::shared_ptr<store::Database> database) {
  if (database == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "policy store opened without a database");
  }
  WK_RETURN_IF_ERROR(store::Migrate(*database, "policy", kMigrations));
  return std::unique_ptr<SqlitePolicyStore>(new SqlitePolicyStore(std::move(database)));
}

Status SqlitePolicyStore::Insert(const PolicyVersion& version) {
  if (version.version != version.based_on + 1) {
    return Error(ErrorKind::kInternal, "store_error", "a new version must follow its base");
  }
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(std::optional<PolicyVersion> latest,
                        SelectLatest(connection, version.scope));
    WK_RETURN_IF_ERROR(CheckBase(latest, version));
    return InsertRow(connection, version);
  });
}

Result<std::optional<PolicyVersion>> SqlitePolicyStore::Latest(const std::string& scope) {
  return database_->WithConnection(
      [&](Connection& connection) { return SelectLatest(connection, scope); });
}

Result<std::optional<PolicyVersion>> SqlitePolicyStore::Get(const std::string& scope,
                                                            std::int64_t version) {
  return database_->WithConnection(
      [&](Connection& connection) -> Result<std::optional<PolicyVersion>> {
        WK_ASSIGN_OR_RETURN(
            Statement select,
            Statement::Prepare(connection, std::string("SELECT ") + kVersionColumns +
                                               " FROM policy_versions WHERE scope = ?1 AND "
                                               "version = ?2"));
        WK_RETURN_IF_ERROR(select.Bind(1, scope));
        WK_RETURN_IF_ERROR(select.Bind(2, version));
        WK_ASSIGN_OR_RETURN(std::vector<PolicyVersion> rows, CollectVersions(select));
        if (rows.empty()) return std::optional<PolicyVersion>();
        return std::optional<PolicyVersion>(std::move(rows.front()));
      });
}

Result<std::vector<PolicyVersion>> SqlitePolicyStore::History(const std::string& scope,
                                                              std::int64_t before,
                                                              std::int64_t limit) {
  return database_->WithConnection(
      [&](Connection& connection) -> Result<std::vector<PolicyVersion>> {
        WK_ASSIGN_OR_RETURN(
            Statement select,
            Statement::Prepare(connection, std::string("SELECT ") + kVersionColumns +
                                               " FROM policy_versions WHERE scope = ?1 AND "
                                               "(?2 = 0 OR version < ?2) ORDER BY version DESC "
                                               "LIMIT ?3"));
        WK_RETURN_IF_ERROR(select.Bind(1, scope));
        WK_RETURN_IF_ERROR(select.Bind(2, before));
        WK_RETURN_IF_ERROR(select.Bind(3, limit));
        return CollectVersions(select);
      });
}

Result<std::vector<std::string>> SqlitePolicyStore::Scopes() {
  return database_->WithConnection([&](Connection& connection) -> Result<std::vector<std::string>> {
    WK_ASSIGN_OR_RETURN(Statement select,
                        Statement::Prepare(connection,
                                           "SELECT DISTINCT scope FROM policy_versions "
                                           "ORDER BY scope"));
    std::vector<std::string> scopes;
    for (;;) {
      WK_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) return scopes;
      scopes.push_back(select.ColumnText(0));
    }
  });
}

Result<std::vector<BundleKeyRecord>> SqlitePolicyStore::SigningKeys() {
  return database_->WithConnection(
      [&](Connection& connection) -> Result<std::vector<BundleKeyRecord>> {
        WK_ASSIGN_OR_RETURN(Statement select,
                            Statement::Prepare(connection,
                                               "SELECT kid, hsm_label, created_at FROM "
                                               "policy_signing_keys ORDER BY rowid"));
        std::vector<BundleKeyRecord> keys;
        for (;;) {
          WK_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) return keys;
          keys.push_back({select.ColumnText(0), select.ColumnText(1), select.ColumnInt64(2)});
        }
      });
}

Status SqlitePolicyStore::InsertSigningKey(const BundleKeyRecord& key) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement insert,
                        Statement::Prepare(connection,
                                           "INSERT INTO policy_signing_keys (kid, hsm_label, "
                                           "created_at) VALUES (?1, ?2, ?3)"));
    WK_RETURN_IF_ERROR(insert.Bind(1, key.kid));
    WK_RETURN_IF_ERROR(insert.Bind(2, key.hsm_label));
    WK_RETURN_IF_ERROR(insert.Bind(3, key.created_at));
    return insert.StepToEnd();
  });
}

Status SqlitePolicyStore::RecordReport(const std::string& scope, const FleetReport& report) {
  return store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(
        Statement upsert,
        Statement::Prepare(connection,
                           "INSERT INTO policy_fleet_reports (scope, principal, instance, version, "
                           "reported_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, "
                           "principal, instance) DO UPDATE SET version = excluded.version, "
                           "reported_at = excluded.reported_at"));
    WK_RETURN_IF_ERROR(upsert.Bind(1, scope));
    WK_RETURN_IF_ERROR(upsert.Bind(2, report.principal));
    WK_RETURN_IF_ERROR(upsert.Bind(3, report.instance));
    WK_RETURN_IF_ERROR(upsert.Bind(4, report.version));
    WK_RETURN_IF_ERROR(upsert.Bind(5, report.reported_at));
    return upsert.StepToEnd();
  });
}

Result<std::vector<FleetReport>> SqlitePolicyStore::Reports(const std::string& scope) {
  return database_->WithConnection([&](Connection& connection) -> Result<std::vector<FleetReport>> {
    WK_ASSIGN_OR_RETURN(Statement select,
                        Statement::Prepare(connection,
                                           "SELECT principal, instance, version, reported_at FROM "
                                           "policy_fleet_reports WHERE scope = ?1 ORDER BY "
                                           "principal, instance"));
    WK_RETURN_IF_ERROR(select.Bind(1, scope));
    std::vector<FleetReport> reports;
    for (;;) {
      WK_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) return reports;
      reports.push_back({select.ColumnText(0), select.ColumnText(1), select.ColumnInt64(2),
                         select.ColumnInt64(3)});
    }
  });
}

}  // namespace weftkit::policy_store
