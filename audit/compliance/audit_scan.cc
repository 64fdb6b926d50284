#include "audit/compliance/audit_scan.h"

namespace weftkit::audit::compliance {
namespace {

// The first index whose entry's time is at or after `from_ms` (or `size` if none).
Result<std::uint64_t> FirstAtOrAfter(const AuditReader& reader, std::uint64_t size,
                                     std::int64_t from_ms) {
  std::uint64_t low = 0;
  std::uint64_t high = size;
  while (low < high) {
    std::uint64_t middle = low + (high - low) / 2;
    Result<std::vector<AuditEntry>> read = reader.Read(middle, 1);
    // Retention moved the oldest entries to archive files: they precede every live one.
    if (!read.ok() && read.error().code() == "audit_entry_archived") {
      low = middle + 1;
      continue;
    }
    WK_ASSIGN_OR_RETURN(std::vector<AuditEntry> probe, std::move(read));
    if (probe.empty())
      return Error(ErrorKind::kDataLoss, "audit_gap", "an entry below size is missing");
    if (probe.front().time_ms < from_ms) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  // When the entry before the period's first is archived, the period may reach into the
  // archives, which the live log cannot answer for: say so rather than report part of it.
  if (low > 0) {
    Result<std::vector<AuditEntry>> before = reader.Read(low - 1, 1);
    if (!before.ok() && before.error().code() == "audit_entry_archived") return before.error();
  }
  return low;
}

}  // namespace

Status ScanPeriod(const AuditReader& reader, std::int64_t from_ms, std::int64_t to_ms,
                  const std::function<void(const AuditEntry&)>& visit, const ScanLimits& limits) {
  WK_ASSIGN_OR_RETURN(std::uint64_t size, reader.Size());
  WK_ASSIGN_OR_RETURN(std::uint64_t next, FirstAtOrAfter(reader, size, from_ms - kTimeSkewMs));
  std::uint64_t scanned = 0;
  while (next < size) {
    WK_ASSIGN_OR_RETURN(std::vector<AuditEntry> page, reader.Read(next, limits.page_entries));
    if (page.empty()) break;
    for (const AuditEntry& entry : page) {
      if (entry.time_ms > to_ms + kTimeSkewMs) return OkStatus();
      if (++scanned > limits.max_entries) {
        return Error(
            ErrorKind::kResourceExhausted, "audit_scan_too_large",
            "the period holds more than " + std::to_string(limits.max_entries) + " audit entries");
      }
      if (entry.time_ms >= from_ms && entry.time_ms <= to_ms) visit(entry);
    }
    next += page.size();
  }
  return OkStatus();
}

}  // namespace weftkit::audit::compliance
