// AuditLog: the running audit log. Appends entries with group commit, keeps the Merkle tree's
// leaf hashes in memory for proofs, and serves reads.
//
// Group commit: callers of Record queue their entry and block; one writer thread takes every
// queued entry (up to max_batch), assigns indexes and previous hashes in queue order, and
// appends them in one SQLite transaction (WAL, synchronous=FULL), then wakes each caller with
// its outcome. While one group is being made durable the next one queues, so the number of
// fsyncs stays near the writer's pace rather than the request rate. If the transaction fails,
// every entry of the group fails with "audit_unavailable", nothing of it is in the log, and the
// next group continues from the same index.
//
// Thread safety: all members are thread-safe. The destructor stops the writer after it has
// written (or failed) everything queued.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/audit_sink.h"
#include "audit/merkle_tree.h"
#include "audit/sqlite_audit_store.h"
#include "common/error.h"

namespace weftkit::audit {

struct AuditLogOptions {
  // The most entries one transaction appends.
  std::size_t max_batch = 512;
  // The most detached entries (RecordDetached) waiting at once. Beyond it they are dropped,
  // logged and counted, so that a flood of refused requests cannot grow memory without bound
  // while the store is slow. Entries of Record are never dropped: their callers wait.
  std::size_t max_detached_queue = 100000;
};

class AuditLog final : public AuditSink, public AuditReader {
 public:
  // Loads the tree from `store` (recomputing every leaf hash from the stored fields; a log whose
  // stored hashes or chain disagree is logged as an error, and served as it is, so that an
  // operator can investigate with the verifier) and starts the writer thread.
  // Fails with the store's errors or kInvalidArgument "invalid_audit_options".
  static Result<std::unique_ptr<AuditLog>> Open(std::unique_ptr<SqliteAuditStore> store,
                                                AuditLogOptions options = {});

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog() override;

  // AuditSink.
  Result<std::uint64_t> Record(AuditEntry entry) override;
  void RecordDetached(AuditEntry entry) override;
  bool Healthy() const override { return healthy_.load(); }

  // AuditReader. Read fails with kNotFound "audit_entry_archived" when `first` is below
  // LiveStart(): those entries are in archive files (docs/audit.md, "Retention").
  Result<std::uint64_t> Size() const override;
  Result<std::vector<AuditEntry>> Read(std::uint64_t first, std::size_t limit) const override;
  Result<std::uint64_t> WaitForSizeAbove(std::uint64_t size,
                                         std::chrono::milliseconds timeout) const override;

  // The current size and its root, read together.
  struct TreeHead {
    std::uint64_t tree_size = 0;
    Hash root{};
  };
  TreeHead Head() const;
  // The root of the first `tree_size` entries; kInvalidArgument "audit_bad_proof_request" if
  // tree_size is above Size().
  Result<Hash> RootAt(std::uint64_t tree_size) const;
  // Proofs over the durable entries, with merkle_tree.h's errors.
  Result<std::vector<Hash>> InclusionProofFor(std::uint64_t index, std::uint64_t tree_size) const;
  Result<std::vector<Hash>> ConsistencyProofFor(std::uint64_t first, std::uint64_t second) const;
  // The leaf hash of durable entry `index` (archived or live).
  Result<Hash> LeafHashAt(std::uint64_t index) const;
  // The leaf hashes of entries [first, end); kInvalidArgument "audit_bad_proof_request" unless
  // first <= end <= Size().
  Result<std::vector<Hash>> LeafHashes(std::uint64_t first, std::uint64_t end) const;
  // The Merkle compact range of the first `tree_size` entries, with RootAt's errors.
  Result<std::vector<Hash>> CompactRangeAt(std::uint64_t tree_size) const;

  // The first entry still in the database; entries below it are archived.
  std::uint64_t LiveStart() const { return live_start_.load(); }
  // Called by the archiver once the store has deleted the entries below `end`.
  void NoteArchived(std::uint64_t end);

  SqliteAuditStore& store() { return *store_; }

  // Detached entries dropped because max_detached_queue was reached, since Open.
  std::uint64_t detached_dropped() const;

 private:
  struct Pending {
    AuditEntry entry;
    std::optional<std::promise<Result<std::uint64_t>>> done;  // empty when detached
  };

  AuditLog(std::unique_ptr<SqliteAuditStore> store, AuditLogOptions options,
           std::vector<Hash> leaves, std::uint64_t live_start);

  void Enqueue(Pending pending);
  void WriterLoop();
  // Seals and appends one group; answers every pending entry of it.
  void CommitGroup(std::vector<Pending>& group);

  const std::unique_ptr<SqliteAuditStore> store_;
  const AuditLogOptions options_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<Pending> queue_;           // guarded by queue_mutex_
  std::size_t detached_queued_ = 0;     // detached entries in queue_; guarded by queue_mutex_
  std::uint64_t detached_dropped_ = 0;  // guarded by queue_mutex_
  bool stopping_ = false;               // guarded by queue_mutex_

  mutable std::shared_mutex tree_mutex_;
  std::vector<Hash> leaves_;  // durable entries' leaf hashes; guarded by tree_mutex_
  mutable std::mutex size_mutex_;
  mutable std::condition_variable size_grew_;

  std::atomic<std::uint64_t> live_start_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> closed_{false};  // set once the writer has stopped
  std::thread writer_;               // last member: started once everything above exists
};

}  // namespace weftkit::audit
