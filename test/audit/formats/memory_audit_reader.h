// An AuditReader over a vector in memory, for pure-logic tests of the export and stream routes
// and of compliance reports. Appends wake waiters, as the SQLite store's group commit does.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "audit/audit_reader.h"

namespace weftkit::audit::testing {

class MemoryAuditReader : public AuditReader {
 public:
  // Appends `entry` with the next index.
  void Append(AuditEntry entry) {
    {
      std::lock_guard lock(mutex_);
      entry.index = entries_.size();
      entries_.push_back(std::move(entry));
    }
    changed_.notify_all();
  }

  // Makes every read fail with `error` (or succeed again with nullopt).
  void FailWith(std::optional<Error> error) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(error);
  }

  Result<std::uint64_t> Size() const override {
    std::lock_guard lock(mutex_);
    if (failure_) return *failure_;
    return entries_.size();
  }

  Result<std::vector<AuditEntry>> Read(std::uint64_t first, std::size_t limit) const override {
    std::lock_guard lock(mutex_);
    if (failure_) return *failure_;
    std::vector<AuditEntry> out;
    for (std::uint64_t i = first; i < entries_.size() && out.size() < limit; ++i) {
      out.push_back(entries_[i]);
    }
    return out;
  }

  Result<std::uint64_t> WaitForSizeAbove(std::uint64_t size,
                                         std::chrono::milliseconds timeout) const override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return entries_.size() > size; });
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<AuditEntry> entries_;
  std::optional<Error> failure_;
};

}  // namespace weftkit::audit::testing
