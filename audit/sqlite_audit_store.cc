#include "audit/sqlite_audit_store.h"

#include <algorithm>
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

// Retention: archive records, the archived entries' leaf hashes, and a delete trigger that lets
// through only entries a recorded archive covers.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE audit_archives (
  first_index INTEGER PRIMARY KEY CHECK (first_index >= 0),
  end_index INTEGER NOT NULL UNIQUE CHECK (end_index > first_index),
  file_name TEXT NOT NULL UNIQUE,
  sha256 TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TRIGGER audit_archives_append_only_update BEFORE UPDATE ON audit_archives
  BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
CREATE TRIGGER audit_archives_append_only_delete BEFORE DELETE ON audit_archives
  BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
CREATE TABLE audit_archived_leaves (
  idx INTEGER PRIMARY KEY CHECK (idx >= 0),
  leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32)
);
CREATE TRIGGER audit_archived_leaves_append_only_update BEFORE UPDATE ON audit_archived_leaves
  BEGIN SELECT RAISE(ABORT, 'archived leaf hashes are append-only'); END;
CREATE TRIGGER audit_archived_leaves_append_only_delete BEFORE DELETE ON audit_archived_leaves
  BEGIN SELECT RAISE(ABORT, 'archived leaf hashes are append-only'); END;
DROP TRIGGER audit_entries_append_only_delete;
CREATE TRIGGER audit_entries_delete_only_archived BEFORE DELETE ON audit_entries
  WHEN NOT EXISTS (SELECT 1 FROM audit_archives
                   WHERE OLD.idx >= first_index AND OLD.idx < end_index)
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only until archived'); END;
)sql";

constexpr std::array<store::Migration, 2> kMigrations = {{{1, kSchemaV1}, {2, kSchemaV2}}};

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

Result<std::uint64_t> LiveStartOn(Connection& c) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(c, "SELECT MAX(end_index) FROM audit_archives"));
  WK_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::uint64_t{0};
  return static_cast<std::uint64_t>(query.ColumnOptionalInt64(0).value_or(0));
}

Error NotLive(const std::string& detail) {
  return Error(ErrorKind::kFailedPrecondition, "audit_archive_not_live", detail);
}

// Inside RecordArchive's transaction: the range starts where the live log does, every entry of
// it is stored, and each stored leaf hash is the one the archive was written with.
Status CheckArchivable(Connection& c, const ArchiveRecord& archive,
                       std::span<const Hash> leaf_hashes) {
  WK_ASSIGN_OR_RETURN(std::uint64_t live_start, LiveStartOn(c));
  if (archive.first_index != live_start) {
    return NotLive("the archive starts at " + std::to_string(archive.first_index) +
                   ", the live log at " + std::to_string(live_start));
  }
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(c,
                                         "SELECT idx, leaf_hash FROM audit_entries WHERE idx >= ? "
                                         "AND idx < ? ORDER BY idx"));
  WK_RETURN_IF_ERROR(query.Bind(1, static_cast<std::int64_t>(archive.first_index)));
  WK_RETURN_IF_ERROR(query.Bind(2, static_cast<std::int64_t>(archive.end_index)));
  std::uint64_t expected = archive.first_index;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    if (static_cast<std::uint64_t>(query.ColumnInt64(0)) != expected) break;
    const Hash& leaf = leaf_hashes[expected - archive.first_index];
    std::vector<std::uint8_t> stored = query.ColumnBlob(1);
    if (!std::equal(stored.begin(), stored.end(), leaf.begin(), leaf.end())) {
      return Error(ErrorKind::kDataLoss, "audit_archive_mismatch",
                   "entry " + std::to_string(expected) + " differs from its archived copy");
    }
    ++expected;
  }
  if (expected != archive.end_index) {
    return NotLive("entry " + std::to_string(expected) + " of the range is not stored");
  }
  return OkStatus();
}

Status InsertArchive(Connection& c, const ArchiveRecord& archive) {
  WK_ASSIGN_OR_RETURN(Statement insert,
                      Statement::Prepare(c,
                                         "INSERT INTO audit_archives (first_index, end_index, "
                                         "file_name, sha256, created_ms) VALUES (?,?,?,?,?)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, static_cast<std::int64_t>(archive.first_index)));
  WK_RETURN_IF_ERROR(insert.Bind(2, static_cast<std::int64_t>(archive.end_index)));
  WK_RETURN_IF_ERROR(insert.Bind(3, archive.file_name));
  WK_RETURN_IF_ERROR(insert.Bind(4, HashToHex(archive.sha256)));
  WK_RETURN_IF_ERROR(insert.Bind(5, archive.created_ms));
  return insert.StepToEnd();
}

// The archived entries' leaf hashes, which must run from 0 without a gap. A gap or a malformed
// hash counts as inconsistent, like a live entry that disagrees.
Status LoadArchivedLeaves(Connection& c, SqliteAuditStore::LoadedTree& tree) {
  WK_ASSIGN_OR_RETURN(Statement query,
                      Statement::Prepare(c,
                                         "SELECT idx, leaf_hash FROM audit_archived_leaves "
                                         "ORDER BY idx"));
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return OkStatus();
    std::uint64_t index = static_cast<std::uint64_t>(query.ColumnInt64(0));
    std::vector<std::uint8_t> stored = query.ColumnBlob(1);
    Hash leaf{};
    bool consistent = index == tree.leaf_hashes.size() && stored.size() == leaf.size();
    if (stored.size() == leaf.size()) std::copy(stored.begin(), stored.end(), leaf.begin());
    if (!consistent) {
      if (!tree.first_inconsistent) tree.first_inconsistent = tree.leaf_hashes.size();
      ++tree.inconsistent_entries;
    }
    tree.leaf_hashes.push_back(leaf);
  }
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

Result<std::vector<SealedEntry>> SqliteAuditStore::ReadSealed(std::uint64_t first,
                                                              std::size_t limit) const {
  static const std::string kSelect =
      "SELECT " + std::string(kEntryColumns) +
      ", canonical, leaf_hash FROM audit_entries WHERE idx >= ? ORDER BY idx LIMIT ?";
  return reader_->WithConnection([&](Connection& c) -> Result<std::vector<SealedEntry>> {
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(c, kSelect));
    WK_RETURN_IF_ERROR(query.Bind(1, static_cast<std::int64_t>(first)));
    WK_RETURN_IF_ERROR(query.Bind(2, static_cast<std::int64_t>(limit)));
    std::vector<SealedEntry> out;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      SealedEntry sealed{EntryFromRow(query), query.ColumnBlob(17), {}};
      std::vector<std::uint8_t> leaf = query.ColumnBlob(18);
      // A stored hash of another length reads as zeros, which matches no entry's hash.
      if (leaf.size() == sealed.leaf_hash.size()) {
        std::copy(leaf.begin(), leaf.end(), sealed.leaf_hash.begin());
      }
      out.push_back(std::move(sealed));
    }
    return out;
  });
}

Result<std::uint64_t> SqliteAuditStore::LiveStart() const {
  return reader_->WithConnection(
      [&](Connection& c) -> Result<std::uint64_t> { return LiveStartOn(c); });
}

Result<std::vector<ArchiveRecord>> SqliteAuditStore::Archives() const {
  return reader_->WithConnection([&](Connection& c) -> Result<std::vector<ArchiveRecord>> {
    WK_ASSIGN_OR_RETURN(Statement query,
                        Statement::Prepare(c,
                                           "SELECT first_index, end_index, file_name, sha256, "
                                           "created_ms FROM audit_archives ORDER BY first_index"));
    std::vector<ArchiveRecord> out;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      ArchiveRecord record;
      record.first_index = static_cast<std::uint64_t>(query.ColumnInt64(0));
      record.end_index = static_cast<std::uint64_t>(query.ColumnInt64(1));
      record.file_name = query.ColumnText(2);
      record.sha256 =
          HashFromHex(query.ColumnText(3)).ok() ? *HashFromHex(query.ColumnText(3)) : Hash{};
      record.created_ms = query.ColumnInt64(4);
      out.push_back(std::move(record));
    }
    return out;
  });
}

Result<std::optional<std::uint64_t>> SqliteAuditStore::FirstEntryAtOrAfter(
    std::int64_t time_ms) const {
  return reader_->WithConnection([&](Connection& c) -> Result<std::optional<std::uint64_t>> {
    WK_ASSIGN_OR_RETURN(Statement query,
                        Statement::Prepare(c,
                                           "SELECT idx FROM audit_entries WHERE time_ms >= ? "
                                           "ORDER BY idx LIMIT 1"));
    WK_RETURN_IF_ERROR(query.Bind(1, time_ms));
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(query.ColumnInt64(0)));
  });
}

Result<bool> SqliteAuditStore::HasEntry(std::string_view action, std::string_view resource) const {
  return reader_->WithConnection([&](Connection& c) -> Result<bool> {
    WK_ASSIGN_OR_RETURN(Statement query,
                        Statement::Prepare(c,
                                           "SELECT 1 FROM audit_entries WHERE action = ? AND "
                                           "resource = ? LIMIT 1"));
    WK_RETURN_IF_ERROR(query.Bind(1, action));
    WK_RETURN_IF_ERROR(query.Bind(2, resource));
    return query.Step();
  });
}

Status SqliteAuditStore::RecordArchive(const ArchiveRecord& archive,
                                       std::span<const Hash> leaf_hashes) {
  if (archive.end_index <= archive.first_index ||
      leaf_hashes.size() != archive.end_index - archive.first_index) {
    return Error(ErrorKind::kInvalidArgument, "audit_bad_archive",
                 "one leaf hash for every archived entry");
  }
  return store::InWriteTransaction(*writer_, [&](Connection& c) -> Status {
    WK_RETURN_IF_ERROR(CheckArchivable(c, archive, leaf_hashes));
    WK_RETURN_IF_ERROR(InsertArchive(c, archive));
    WK_ASSIGN_OR_RETURN(Statement keep,
                        Statement::Prepare(c,
                                           "INSERT INTO audit_archived_leaves (idx, leaf_hash) "
                                           "VALUES (?, ?)"));
    for (std::size_t i = 0; i < leaf_hashes.size(); ++i) {
      WK_RETURN_IF_ERROR(keep.Bind(1, static_cast<std::int64_t>(archive.first_index + i)));
      WK_RETURN_IF_ERROR(keep.Bind(2, std::span<const std::uint8_t>(leaf_hashes[i])));
      WK_RETURN_IF_ERROR(keep.StepToEnd());
      keep.Reset();
    }
    WK_ASSIGN_OR_RETURN(Statement remove,
                        Statement::Prepare(c, "DELETE FROM audit_entries WHERE idx < ?"));
    WK_RETURN_IF_ERROR(remove.Bind(1, static_cast<std::int64_t>(archive.end_index)));
    return remove.StepToEnd();
  });
}

Result<SqliteAuditStore::LoadedTree> SqliteAuditStore::LoadTree() const {
  static const std::string kSelect =
      "SELECT " + std::string(kEntryColumns) + ", leaf_hash FROM audit_entries ORDER BY idx";
  return reader_->WithConnection([&](Connection& c) -> Result<LoadedTree> {
    LoadedTree tree;
    WK_RETURN_IF_ERROR(LoadArchivedLeaves(c, tree));
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(c, kSelect));
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
