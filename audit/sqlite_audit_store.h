// SqliteAuditStore: the audit log on disk, in its own SQLite database file.
//
// Tables (component "audit", docs/audit.md):
//   audit_entries(idx PRIMARY KEY, the AuditEntry fields, canonical BLOB, leaf_hash BLOB)
//   audit_checkpoints(tree_size PRIMARY KEY, root_hash, time_ms, kid, signature)
//   audit_signing_keys(kid PRIMARY KEY, hsm_label, created_ms)
//   audit_archives(first_index PRIMARY KEY, end_index, file_name, sha256, created_ms)
//   audit_archived_leaves(idx PRIMARY KEY, leaf_hash BLOB)
// Triggers refuse UPDATE and DELETE on entries, checkpoints, archives and archived leaves: the
// server itself can only append, and delete an entry only once a recorded archive covers it
// (RecordArchive). Someone with write access to the file can drop the triggers; that is what
// the Merkle tree, the hash chain and the signed checkpoints are for.
//
// Retention (docs/audit.md, "Retention"): archived entries leave audit_entries, but their 32-byte
// leaf hashes stay in audit_archived_leaves, so that the tree, its roots and every inclusion and
// consistency proof are unchanged after archiving and after a restart.
//
// The file is opened twice: one connection appends (the group-commit writer's), the other
// reads, so that reads for proofs and exports never wait behind a commit (WAL mode lets them
// run side by side).
//
// Thread safety: all members are thread-safe; each connection is serialised by its Database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_entry.h"
#include "audit/checkpoint.h"
#include "audit/merkle_tree.h"
#include "common/error.h"
#include "store/database.h"

namespace weftkit::audit {

// An entry ready to append: its fields (index and previous_hash assigned), canonical bytes and
// leaf hash.
struct SealedEntry {
  AuditEntry entry;
  std::vector<std::uint8_t> canonical;
  Hash leaf_hash{};
};

// A checkpoint signing key as recorded.
struct CheckpointKeyRecord {
  std::string kid;
  std::string hsm_label;
  std::int64_t created_ms = 0;
};

// An archive file as the database records it (archive_file.h has the file itself).
struct ArchiveRecord {
  std::uint64_t first_index = 0;
  std::uint64_t end_index = 0;  // one past the last archived entry
  std::string file_name;        // in the archive directory
  Hash sha256{};                // the file's digest
  std::int64_t created_ms = 0;
};

class SqliteAuditStore {
 public:
  // Opens (creating with mode 0600) the database at `path` and migrates the "audit" schema.
  // Fails with store::Database::Open's or Migrate's errors.
  static Result<std::unique_ptr<SqliteAuditStore>> Open(const std::filesystem::path& path,
                                                        const store::OpenOptions& options = {});

  // Appends `entries`, whose indexes must continue the log without a gap, in one BEGIN
  // IMMEDIATE transaction: durable when this returns OK (synchronous=FULL), absent otherwise.
  Status Append(std::span<const SealedEntry> entries);

  // The stored entries with index >= first, at most `limit`, in order. Archived entries are
  // not stored here any more: a read from below LiveStart() starts at LiveStart().
  Result<std::vector<AuditEntry>> Read(std::uint64_t first, std::size_t limit) const;
  // The same with the canonical bytes and leaf hash exactly as stored, for archiving.
  Result<std::vector<SealedEntry>> ReadSealed(std::uint64_t first, std::size_t limit) const;

  // The index of the first entry still stored here: the end of the newest archive, or 0.
  Result<std::uint64_t> LiveStart() const;
  // Every recorded archive, oldest first.
  Result<std::vector<ArchiveRecord>> Archives() const;
  // The smallest stored index whose time_ms is at or after `time_ms`, if any.
  Result<std::optional<std::uint64_t>> FirstEntryAtOrAfter(std::int64_t time_ms) const;
  // Whether a stored entry has this action and resource (the archiver's own entries).
  Result<bool> HasEntry(std::string_view action, std::string_view resource) const;

  // In one BEGIN IMMEDIATE transaction: records `archive`, keeps `leaf_hashes` (those of entries
  // first_index..end_index-1) and deletes those entries. Fails, changing nothing, with
  // kFailedPrecondition "audit_archive_not_live" unless first_index is LiveStart() and every
  // entry of the range is stored, or kDataLoss "audit_archive_mismatch" if a stored leaf hash
  // differs from `leaf_hashes`; or with a mapped SQLite error.
  Status RecordArchive(const ArchiveRecord& archive, std::span<const Hash> leaf_hashes);

  // Every entry's leaf hash in index order: the archived entries' kept hashes, then every live
  // entry's recomputed from its stored fields (never the stored leaf_hash column, which an
  // editor of the file could leave stale); and the number of entries whose stored hash or chain
  // link disagrees (0 for an untouched log).
  struct LoadedTree {
    std::vector<Hash> leaf_hashes;
    std::uint64_t inconsistent_entries = 0;
    std::optional<std::uint64_t> first_inconsistent;
  };
  Result<LoadedTree> LoadTree() const;

  Status AddCheckpoint(const Checkpoint& checkpoint);
  // Up to `limit` checkpoints, newest first, with tree_size < `before_size` when set.
  Result<std::vector<Checkpoint>> ListCheckpoints(std::optional<std::uint64_t> before_size,
                                                  std::size_t limit) const;
  // Every checkpoint, oldest first (for verification).
  Result<std::vector<Checkpoint>> AllCheckpoints() const;

  Status AddCheckpointKey(const CheckpointKeyRecord& key);
  Result<std::vector<CheckpointKeyRecord>> CheckpointKeysRecorded() const;

  // For /readyz: reads the schema through the writer's connection.
  Status Ping();

  const std::filesystem::path& path() const { return writer_->path(); }

 private:
  SqliteAuditStore(std::unique_ptr<store::Database> writer, std::unique_ptr<store::Database> reader)
      : writer_(std::move(writer)), reader_(std::move(reader)) {}

  const std::unique_ptr<store::Database> writer_;
  const std::unique_ptr<store::Database> reader_;
};

}  // namespace weftkit::audit
