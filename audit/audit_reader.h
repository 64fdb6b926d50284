// AuditReader: read access to the audit log, for the consumers that did not write it (SIEM
// formats and streaming, compliance exports, the audit routes, the verifier's live source).
//
// Entries are numbered from 0 without gaps; an entry, once readable, never changes. A reader
// never sees a partly committed group: Size() moves forward only when a whole group commit is
// durable, and every entry below Size() can be read.
//
// Thread safety: implementations are thread-safe; readers do not block the writer (the SQLite
// store reads through its own connection in WAL mode).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "audit/audit_entry.h"
#include "common/error.h"

namespace weftkit::audit {

class AuditReader {
 public:
  virtual ~AuditReader() = default;

  // The number of durable entries: the index the next entry will get. Fails with the store's
  // error (kUnavailable "audit_unavailable" when the store cannot be read).
  virtual Result<std::uint64_t> Size() const = 0;

  // Up to `limit` entries with index >= `first`, in index order. Fewer (possibly none) when
  // the log ends sooner; never an error for `first` at or past the end. Fails with the store's
  // error.
  virtual Result<std::vector<AuditEntry>> Read(std::uint64_t first, std::size_t limit) const = 0;

  // Blocks until Size() > `size` or `timeout` passes, then returns Size(). Streaming consumers
  // call it with the size they have read up to, to follow the log without polling. Returns
  // early (with the unchanged size) when the reader is shutting down.
  virtual Result<std::uint64_t> WaitForSizeAbove(std::uint64_t size,
                                                 std::chrono::milliseconds timeout) const = 0;
};

}  // namespace weftkit::audit
