// AuditArchiver: audit log retention. Moves the oldest range of the live log into a compressed
// archive file (archive_file.h) and deletes it from the database, without changing the log's
// tree, roots or proofs (docs/audit.md, "Retention").
//
// A range [a, b) is archived only when a is where the live log starts and b is the size of a
// stored signed checkpoint, so every archive ends on a tree head the HSM has signed. One
// archive goes through these steps, each durable before the next:
//   1. read the entries exactly as stored and check them against the log's leaf hashes;
//   2. write ".<name>.tmp" (mode 0600), fsync it, rename it to <name>, fsync the directory;
//   3. read the file back and check that it decodes to what was written;
//   4. in one transaction: record the archive, keep the 32-byte leaf hashes, delete the rows;
//   5. append an "audit.archive" entry naming the file.
// A crash before 4 leaves the rows live and at most an unrecorded file (or a temporary one),
// which the next pass deletes before writing the range again (it deletes no other file); a crash
// between 4 and 5 leaves an archive without its entry, which the next pass appends. So a pass after
// any crash loses nothing and leaves one file per archived range.
//
// Thread safety: RunOnce and ArchiveUpTo are serialised by a mutex; the log keeps serving while
// they run (readers of an archived position get "audit_entry_archived").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/archive_file.h"
#include "audit/audit_log.h"
#include "audit/sqlite_audit_store.h"
#include "common/error.h"

namespace weftkit::audit {

struct RetentionOptions {
  // Where archive files go; must exist. Every file is resolved under it before any I/O.
  std::filesystem::path directory;
  // Entries older than this may be archived.
  std::optional<std::chrono::seconds> keep_for;
  // Entries beyond the newest `keep_entries` may be archived.
  std::optional<std::uint64_t> keep_entries;
  // The most entries one archive file holds (a range ends at a checkpoint, so one file can hold
  // more when no checkpoint falls inside this bound).
  std::uint64_t max_entries_per_archive = 100000;
};

class AuditArchiver {
 public:
  // `log` must outlive the archiver. Fails with kInvalidArgument "invalid_retention_options"
  // unless the directory exists and at least one of keep_for and keep_entries is set.
  static Result<std::unique_ptr<AuditArchiver>> Create(AuditLog& log, RetentionOptions options);

  // One pass: finishes what a crash interrupted, then archives every range the options allow,
  // oldest first. Returns the archives written. Fails with the store's or the file system's
  // error; what was archived before the failure stays archived.
  Result<std::vector<ArchiveRecord>> RunOnce(std::int64_t now_ms);

  // Archives [LiveStart(), end) now. `end` must be the size of a stored checkpoint above
  // LiveStart(), else kFailedPrecondition "audit_archive_not_at_checkpoint".
  Result<ArchiveRecord> ArchiveUpTo(std::uint64_t end, std::int64_t now_ms);

  // The path of a recorded archive's file.
  std::filesystem::path PathOf(const ArchiveRecord& record) const {
    return directory_ / record.file_name;
  }

 private:
  AuditArchiver(AuditLog& log, RetentionOptions options, std::filesystem::path directory)
      : log_(log), options_(std::move(options)), directory_(std::move(directory)) {}

  Status Recover();
  Result<std::optional<std::uint64_t>> NextEnd(std::int64_t now_ms);
  Result<ArchiveRecord> Archive(std::uint64_t end, std::int64_t now_ms);
  Result<ArchiveContents> Contents(std::uint64_t start, std::uint64_t end,
                                   std::span<const Checkpoint> checkpoints, std::int64_t now_ms);
  Status WriteAndReadBack(const std::string& name, std::span<const std::uint8_t> bytes);
  Result<std::filesystem::path> Resolve(const std::string& name) const;
  Status RecordEntry(const ArchiveRecord& record);

  AuditLog& log_;
  const RetentionOptions options_;
  const std::filesystem::path directory_;  // canonical
  std::mutex mutex_;
};

}  // namespace weftkit::audit
