#include "audit/audit_log.h"

#include <algorithm>
#include <string>
#include <utility>

#include "audit/canonical_entry.h"
#include "common/log.h"

namespace weftkit::audit {
namespace {

Error Unavailable(const std::string& detail) {
  return Error(ErrorKind::kUnavailable, "audit_unavailable", detail);
}

Error Archived(std::uint64_t first, std::uint64_t live_start) {
  return Error(ErrorKind::kNotFound, "audit_entry_archived",
               "entry " + std::to_string(first) + " is archived; the live log starts at " +
                   std::to_string(live_start));
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(std::unique_ptr<SqliteAuditStore> store,
                                                 AuditLogOptions options) {
  if (store == nullptr || options.max_batch == 0 || options.max_detached_queue == 0) {
    return Error(ErrorKind::kInvalidArgument, "invalid_audit_options",
                 "the audit log needs a store, a positive max_batch and max_detached_queue");
  }
  WK_ASSIGN_OR_RETURN(SqliteAuditStore::LoadedTree tree, store->LoadTree());
  WK_ASSIGN_OR_RETURN(std::uint64_t live_start, store->LiveStart());
  if (tree.inconsistent_entries > 0) {
    log::Error("audit_log_inconsistent",
               {{"path", store->path().string()},
                {"entries", std::to_string(tree.inconsistent_entries)},
                {"first_index", std::to_string(*tree.first_inconsistent)}});
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(std::move(store), options, std::move(tree.leaf_hashes), live_start));
}

AuditLog::AuditLog(std::unique_ptr<SqliteAuditStore> store, AuditLogOptions options,
                   std::vector<Hash> leaves, std::uint64_t live_start)
    : store_(std::move(store)),
      options_(options),
      leaves_(std::move(leaves)),
      live_start_(live_start),
      writer_([this] { WriterLoop(); }) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  writer_.join();
  closed_ = true;
  std::lock_guard<std::mutex> lock(size_mutex_);
  size_grew_.notify_all();
}

Result<std::uint64_t> AuditLog::Record(AuditEntry entry) {
  std::promise<Result<std::uint64_t>> promise;
  std::future<Result<std::uint64_t>> outcome = promise.get_future();
  Enqueue({std::move(entry), std::move(promise)});
  return outcome.get();
}

void AuditLog::RecordDetached(AuditEntry entry) { Enqueue({std::move(entry), std::nullopt}); }

void AuditLog::Enqueue(Pending pending) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (!pending.done && detached_queued_ >= options_.max_detached_queue) {
      // Logged every 1000th time: the flood that causes this must not also flood the log.
      if (detached_dropped_++ % 1000 == 0) {
        log::Error("audit_detached_entry_dropped", {{"dropped", std::to_string(detached_dropped_)},
                                                    {"request_id", pending.entry.request_id}});
      }
      return;
    }
    if (!stopping_) {
      if (!pending.done) ++detached_queued_;
      queue_.push_back(std::move(pending));
      queue_ready_.notify_one();
      return;
    }
  }
  if (pending.done) pending.done->set_value(Unavailable("the audit log is shutting down"));
}

void AuditLog::WriterLoop() {
  std::vector<Pending> group;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued was written
      while (!queue_.empty() && group.size() < options_.max_batch) {
        if (!queue_.front().done) --detached_queued_;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
}

void AuditLog::CommitGroup(std::vector<Pending>& group) {
  std::uint64_t next;
  Hash previous{};
  {
    std::shared_lock<std::shared_mutex> lock(tree_mutex_);
    next = leaves_.size();
    if (next > 0) previous = leaves_.back();
  }

  std::vector<SealedEntry> sealed;
  sealed.reserve(group.size());
  for (Pending& pending : group) {
    AuditEntry entry = pending.entry;
    entry.index = next + sealed.size();
    entry.previous_hash = entry.index == 0 ? "" : HashToHex(previous);
    // Cannot fail: the index and previous hash were just set consistently and statuses come
    // from the server.
    std::vector<std::uint8_t> canonical = CanonicalBytes(entry).value();
    previous = LeafHash(canonical);
    sealed.push_back({std::move(entry), std::move(canonical), previous});
  }

  Status appended = store_->Append(sealed);
  if (!appended.ok()) {
    healthy_ = false;
    log::Error("audit_append_failed", {{"entries", std::to_string(group.size())},
                                       {"code", appended.error().code()},
                                       {"detail", appended.error().detail()}});
    for (Pending& pending : group) {
      if (pending.done) pending.done->set_value(Unavailable(appended.error().ToString()));
    }
    return;
  }

  {
    std::unique_lock<std::shared_mutex> lock(tree_mutex_);
    for (const SealedEntry& s : sealed) leaves_.push_back(s.leaf_hash);
  }
  healthy_ = true;
  {
    std::lock_guard<std::mutex> lock(size_mutex_);
    size_grew_.notify_all();
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done->set_value(sealed[i].entry.index);
  }
}

std::uint64_t AuditLog::detached_dropped() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return detached_dropped_;
}

Result<std::uint64_t> AuditLog::Size() const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  return static_cast<std::uint64_t>(leaves_.size());
}

Result<std::vector<AuditEntry>> AuditLog::Read(std::uint64_t first, std::size_t limit) const {
  // Bounded by the durable size, so a reader never sees rows of a group still being answered.
  WK_ASSIGN_OR_RETURN(std::uint64_t size, Size());
  if (first < live_start_.load()) return Archived(first, live_start_.load());
  if (first >= size) return std::vector<AuditEntry>();
  std::size_t available = static_cast<std::size_t>(size - first);
  Result<std::vector<AuditEntry>> entries = store_->Read(first, std::min(limit, available));
  if (!entries.ok()) return Unavailable(entries.error().ToString());
  // The archiver may have deleted the range between the check above and the read (the store
  // knows before live_start_ does). A gap that no archive explains is returned as it is, for
  // the verifier to report.
  if (limit > 0 && (entries->empty() || entries->front().index != first)) {
    Result<std::uint64_t> live_start = store_->LiveStart();
    if (live_start.ok() && first < *live_start) return Archived(first, *live_start);
  }
  return entries;
}

Result<std::uint64_t> AuditLog::WaitForSizeAbove(std::uint64_t size,
                                                 std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(size_mutex_);
  size_grew_.wait_for(lock, timeout, [&] {
    std::shared_lock<std::shared_mutex> tree_lock(tree_mutex_);
    return leaves_.size() > size || closed_.load();
  });
  lock.unlock();
  return Size();
}

AuditLog::TreeHead AuditLog::Head() const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  return {leaves_.size(), RootHash(leaves_)};
}

Result<Hash> AuditLog::RootAt(std::uint64_t tree_size) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  if (tree_size > leaves_.size()) {
    return Error(ErrorKind::kInvalidArgument, "audit_bad_proof_request",
                 "tree size beyond the log");
  }
  return RootHash(std::span(leaves_).first(tree_size));
}

Result<std::vector<Hash>> AuditLog::InclusionProofFor(std::uint64_t index,
                                                      std::uint64_t tree_size) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  return InclusionProof(leaves_, index, tree_size);
}

Result<std::vector<Hash>> AuditLog::ConsistencyProofFor(std::uint64_t first,
                                                        std::uint64_t second) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  return ConsistencyProof(leaves_, first, second);
}

Result<Hash> AuditLog::LeafHashAt(std::uint64_t index) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  if (index >= leaves_.size()) {
    return Error(ErrorKind::kNotFound, "audit_entry_not_found", "no entry at that index");
  }
  return leaves_[index];
}

Result<std::vector<Hash>> AuditLog::LeafHashes(std::uint64_t first, std::uint64_t end) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  if (first > end || end > leaves_.size()) {
    return Error(ErrorKind::kInvalidArgument, "audit_bad_proof_request",
                 "leaf range beyond the log");
  }
  return std::vector<Hash>(leaves_.begin() + static_cast<std::ptrdiff_t>(first),
                           leaves_.begin() + static_cast<std::ptrdiff_t>(end));
}

Result<std::vector<Hash>> AuditLog::CompactRangeAt(std::uint64_t tree_size) const {
  std::shared_lock<std::shared_mutex> lock(tree_mutex_);
  if (tree_size > leaves_.size()) {
    return Error(ErrorKind::kInvalidArgument, "audit_bad_proof_request",
                 "tree size beyond the log");
  }
  return CompactRange(std::span(leaves_).first(tree_size));
}

void AuditLog::NoteArchived(std::uint64_t end) {
  std::uint64_t current = live_start_.load();
  while (end > current && !live_start_.compare_exchange_weak(current, end)) {
  }
}

}  // namespace weftkit::audit
