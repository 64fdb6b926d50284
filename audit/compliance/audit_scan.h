// Reading the whole audit log (or a range of it) page by page, for compliance exports that must
// look at every entry of a period without holding the log in memory.
//
// Thread safety: as the reader's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "audit/audit_reader.h"

namespace weftkit::audit::compliance {

inline constexpr std::int64_t kTimeSkewMs = 60'000;

struct ScanLimits {
  std::size_t page_entries = 1000;
  // A scan that would read more fails with kResourceExhausted "audit_scan_too_large", so that
  // one request cannot tie up a worker for minutes; narrow the period or raise the limit.
  std::uint64_t max_entries = 1'000'000;
};

// Calls `visit` for each entry whose time_ms lies in [from_ms, to_ms], in index order. Entry
// times grow with the index except where concurrent operations finished out of order, which is
// far less than kTimeSkewMs apart; so the scan starts at the first entry at or after
// from_ms - kTimeSkewMs (found by binary search), filters every entry by its own time, and
// stops at the first entry after to_ms + kTimeSkewMs. Fails with the reader's errors.
Status ScanPeriod(const AuditReader& reader, std::int64_t from_ms, std::int64_t to_ms,
                  const std::function<void(const AuditEntry&)>& visit,
                  const ScanLimits& limits = {});

}  // namespace weftkit::audit::compliance
