#include "audit/sqlite_audit_store.h"

#include <array>

#include "audit/canonical_entry.h"
#include "store/migration.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::audit {
namespace {

using store::Connection;
using store::Statement;

constexpr const char* kComponent = "audit";

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE audit_entries (
  idx INTEGER PRIMARY KEY CHECK (idx >= 0),
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  peer TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  key_name TEXT NOT NULL,
  key_version INTEGER,
  policy_version INTEGER,
  decision TEXT NOT NULL,
  rule TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_code TEXT NOT NULL,
  previous_hash TEXT NOT NULL,
  canonical BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);
CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TABLE audit_checkpoints (
  tree_size INTEGER PRIMARY KEY CHECK (tree_size >= 0),
  root_hash TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  kid TEXT NOT NULL,
  signature BLOB NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_delete BEFORE DELETE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TABLE audit_signing_keys (
  kid TEXT PRIMARY KEY,
  hsm_label TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
)sql";

constexpr std::array<store::Migration, 1> kMigrations = {{{1, kSchemaV1}}};

constexpr std::string_view kEntryColumns =
    "idx, time_ms, request_id, principal, auth_method, peer, action, resource, key_name, "
    "key_version, policy_version, decision, rule, outcome, status, error_code, previous_hash";

Status BindEntry(Statement& insert, const SealedEntry& sealed) {
  const AuditEntry& e = sealed.entry;
  int i = 1;
  for (Status bound :
       {insert.Bind(i++, static_cast<std::int64_t>(e.index)), insert.Bind(i++, e.time_ms),
        insert.Bind(i++, e.request_id), insert.Bind(i++, e.principal),
        insert.Bind(i++, e.auth_method), insert.Bind(i++, e.peer), insert.Bind(i++, e.action),
        insert.Bind(i++, e.resource), insert.Bind(i++, e.key_name)}) {
    WK_RETURN_IF_ERROR(bound);
  }
  std::optional<std::int64_t> key_version;
  if (e.key_version) key_version = *e.key_version;
  std::optional<std::int64_t> policy_version;
  if (e.policy_version) policy_version = static_cast<std::int64_t>(*e.policy_version);
  for (Status bound :
       {insert.Bind(i++, key_version), insert.Bind(i++, policy_version),
        insert.Bind(i++, e.decision), insert.Bind(i++, e.rule), insert.Bind(i++, e.outcome),
        insert.Bind(i++, static_cast<std::int64_t>(e.status)), insert.Bind(i++, e.error_code),
        insert.Bind(i++, e.previous_hash),
        insert.Bind(i++, std::span<const std::uint8_t>(sealed.canonical)),
        insert.Bind(i++, std::span<const std::uint8_t>(sealed.leaf_hash))}) {
    WK_RETURN_IF_ERROR(bound);
  }
  return OkStatus();
}

AuditEntry EntryFromRow(const Statement& row) {
  AuditEntry e;
  int i = 0;
  e.index = static_cast<std::uint64_t>(row.ColumnInt64(i++));
  e.time_ms = row.ColumnInt64(i++);
  e.request_id = row.ColumnText(i++);
  e.principal = row.ColumnText(i++);
  e.auth_method = row.ColumnText(i++);
  e.peer = row.ColumnText(i++);
  e.action = row.ColumnText(i++);
  e.resource = row.ColumnText(i++);
  e.key_name = row.ColumnText(i++);
  if (auto v = row.ColumnOptionalInt64(i++)) e.key_version = static_cast<std::uint32_t>(*v);
  if (auto v = row.ColumnOptionalInt64(i++)) e.policy_version = static_cast<std::uint64_t>(*v);
  e.decision = row.ColumnText(i++);
  e.rule = row.ColumnText(i++);
  e.outcome = row.ColumnText(i++);
  e.status = static_cast<int>(row.ColumnInt64(i++));
  e.error_code = row.ColumnText(i++);
  e.previous_hash = row.ColumnText(i++);
  return e;
}

Checkpoint CheckpointFromRow(const Statement& row) {
  Checkpoint c;
  c.tree_size = static_cast<std::uint64_t>(row.ColumnInt64(0));
  // A malformed stored root reads as zeros, which no verifier accepts.
  c.root = HashFromHex(row.ColumnText(1)).ok() ? HashFromHex(row.ColumnText(1)).value() : Hash{};
  c.time_ms = row.ColumnInt64(2);
  c.kid = row.ColumnText(3);
  c.signature = row.ColumnBlob(4);
  return c;
}

Result<std::vector<Checkpoint>> QueryCheckpoints(store::Database& database, std::string_view sql,
                                                 std::optional<std::int64_t> bound,
                                                 std::int64_t limit) {
  return database.WithConnection([&](Connection& c) -> Result<std::vector<Checkpoint>> {
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(c, sql));
    WK_RETURN_IF_ERROR(query.Bind(1, bound));
    WK_RETURN_IF_ERROR(query.Bind(2, limit));
    std::vector<Checkpoint> out;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back(CheckpointFromRow(query));
    }
    return out;
  });
}

}  // namespace

Result<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(
    const std::filesystem::path& path, const store::OpenOptions& options) {
  WK_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> writer,
                      store::Database::Open(path, options));
  WK_RETURN_IF_ERROR(store::Migrate(*writer, kComponent, kMigrations));
  WK_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> reader,
                      store::Database::Open(path, options));
  return std::unique_ptr<SqliteAuditStore>(
      new SqliteAuditStore(std::move(writer), std::move(reader)));
}

Status SqliteAuditStore::Append(std::span<const SealedEntry> entries) {
  static const std::string kInsert = "INSERT INTO audit_entries (" + std::string(kEntryColumns) +
                                     ", canonical, leaf_hash) VALUES "
                                     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  return store::InWriteTransaction(*writer_, [&](Connection& c) -> Status {
    WK_ASSIGN_OR_RETURN(Statement insert, Statement::Prepare(c, kInsert));
    for (const SealedEntry& sealed : entries) {
      WK_RETURN_IF_ERROR(BindEntry(insert, sealed));
      WK_RETURN_IF_ERROR(insert.StepToEnd());
      insert.Reset();
    }
    return OkStatus();
  });
}

Result<std::vector<AuditEntry>> SqliteAuditStore::Read(std::uint64_t first,
                                                       std::size_t limit) const {
  static const std::string kSelect = "SELECT " + std::string(kEntryColumns) +
                                     " FROM audit_entries WHERE idx >= ? ORDER BY idx LIMIT ?";
  return reader_->WithConnection([&](Connection& c) -> Result<std::vector<AuditEntry>> {
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(c, kSelect));
    WK_RETURN_IF_ERROR(query.Bind(1, static_cast<std::int64_t>(first)));
    WK_RETURN_IF_ERROR(query.Bind(2, static_cast<std::int64_t>(limit)));
    std::vector<AuditEntry> out;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back(EntryFromRow(query));
    }
    return out;
  });
}

Result<SqliteAuditStore::LoadedTree> SqliteAuditStore::LoadTree() const {
  static const std::string kSelect =
      "SELECT " + std::string(kEntryColumns) + ", leaf_hash FROM audit_entries ORDER BY idx";
  return reader_->WithConnection([&](Connection& c) -> Result<LoadedTree> {
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(c, kSelect));
    LoadedTree tree;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      AuditEntry entry = EntryFromRow(query);
      std::vector<std::uint8_t> stored = query.ColumnBlob(17);
      Result<Hash> leaf = EntryLeafHash(entry);
      std::string expected_previous =
          tree.leaf_hashes.empty() ? "" : HashToHex(tree.leaf_hashes.back());
      bool consistent = leaf.ok() && entry.index == tree.leaf_hashes.size() &&
                        entry.previous_hash == expected_previous &&
                        std::equal(stored.begin(), stored.end(), leaf->begin(), leaf->end());
      if (!consistent) {
        if (!tree.first_inconsistent) tree.first_inconsistent = tree.leaf_hashes.size();
        ++tree.inconsistent_entries;
      }
      tree.leaf_hashes.push_back(leaf.ok() ? *leaf : Hash{});
    }
    return tree;
  });
}

Status SqliteAuditStore::AddCheckpoint(const Checkpoint& checkpoint) {
  return store::InWriteTransaction(*writer_, [&](Connection& c) -> Status {
    WK_ASSIGN_OR_RETURN(Statement insert,
                        Statement::Prepare(c,
                                           "INSERT INTO audit_checkpoints (tree_size, root_hash, "
                                           "time_ms, kid, signature) VALUES (?,?,?,?,?)"));
    WK_RETURN_IF_ERROR(insert.Bind(1, static_cast<std::int64_t>(checkpoint.tree_size)));
    WK_RETURN_IF_ERROR(insert.Bind(2, HashToHex(checkpoint.root)));
    WK_RETURN_IF_ERROR(insert.Bind(3, checkpoint.time_ms));
    WK_RETURN_IF_ERROR(insert.Bind(4, checkpoint.kid));
    WK_RETURN_IF_ERROR(insert.Bind(5, std::span<const std::uint8_t>(checkpoint.signature)));
    return insert.StepToEnd();
  });
}

Result<std::vector<Checkpoint>> SqliteAuditStore::ListCheckpoints(
    std::optional<std::uint64_t> before_size, std::size_t limit) const {
  std::optional<std::int64_t> bound;
  if (before_size) bound = static_cast<std::int64_t>(*before_size);
  return QueryCheckpoints(*reader_,
                          "SELECT tree_size, root_hash, time_ms, kid, signature FROM "
                          "audit_checkpoints WHERE (?1 IS NULL OR tree_size < ?1) "
                          "ORDER BY tree_size DESC LIMIT ?2",
                          bound, static_cast<std::int64_t>(limit));
}

Result<std::vector<Checkpoint>> SqliteAuditStore::AllCheckpoints() const {
  return QueryCheckpoints(*reader_,
                          "SELECT tree_size, root_hash, time_ms, kid, signature FROM "
                          "audit_checkpoints WHERE ?1 IS NULL ORDER BY tree_size LIMIT ?2",
                          std::nullopt, -1);
}

Status SqliteAuditStore::AddCheckpointKey(const CheckpointKeyRecord& key) {
  return store::InWriteTransaction(*writer_, [&](Connection& c) -> Status {
    WK_ASSIGN_OR_RETURN(
        Statement insert,
        Statement::Prepare(
            c, "INSERT INTO audit_signing_keys (kid, hsm_label, created_ms) VALUES (?,?,?)"));
    WK_RETURN_IF_ERROR(insert.Bind(1, key.kid));
    WK_RETURN_IF_ERROR(insert.Bind(2, key.hsm_label));
    WK_RETURN_IF_ERROR(insert.Bind(3, key.created_ms));
    return insert.StepToEnd();
  });
}

Result<std::vector<CheckpointKeyRecord>> SqliteAuditStore::CheckpointKeysRecorded() const {
  return reader_->WithConnection([&](Connection& c) -> Result<std::vector<CheckpointKeyRecord>> {
    WK_ASSIGN_OR_RETURN(
        Statement query,
        Statement::Prepare(c,
                           "SELECT kid, hsm_label, created_ms FROM audit_signing_keys "
                           "ORDER BY created_ms, kid"));
    std::vector<CheckpointKeyRecord> out;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnInt64(2)});
    }
    return out;
  });
}

Status SqliteAuditStore::Ping() { return writer_->Ping(); }

}  // namespace weftkit::audit
