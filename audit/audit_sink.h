// AuditSink: where the server's request hook sends the audit entry of every operation.
//
// Separate from the log itself so that the server module (and its tests) depend only on this
// small interface.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <cstdint>

#include "audit/audit_entry.h"
#include "common/error.h"

namespace weftkit::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Appends `entry` (its index and previous_hash are assigned here) and returns its index once
  // it is durable. Blocks the calling thread until then. Fails with kUnavailable
  // "audit_unavailable" if the store cannot write it; the entry is then not in the log.
  virtual Result<std::uint64_t> Record(AuditEntry entry) = 0;

  // Appends `entry` without waiting, for threads that must not block (the I/O threads, for
  // requests refused before they reached a handler). A failure is logged and counted, not
  // returned.
  virtual void RecordDetached(AuditEntry entry) = 0;

  // False from a failed write until the next successful one. The server refuses operations
  // while it is false, so that nothing takes effect that could not be audited.
  virtual bool Healthy() const = 0;
};

}  // namespace weftkit::audit
