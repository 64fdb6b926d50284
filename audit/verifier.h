// Verification of an audit log by someone who does not trust the server or the file: recompute
// every entry's leaf hash from its fields, follow the hash chain, rebuild the Merkle tree and
// compare it with every signed checkpoint, and name the first entry that was changed, removed
// or inserted.
//
// How a finding is classified (the first one in index order is reported):
//   removed   entry indexes jump (a row was deleted): first_bad_index is the first missing one;
//             or the log is shorter than a signed checkpoint ("truncated").
//   inserted  an entry's previous_hash is the leaf hash of the entry two before it: the entry
//             between was slipped in. first_bad_index is the inserted entry.
//   changed   an entry's previous_hash does not match the entry before it. If the next link
//             holds, the entry before was changed; otherwise this entry itself was (its
//             previous_hash, or its index by renumbering). A change whose chain was rewritten
//             to match is caught only by the first checkpoint whose root differs:
//             first_bad_index is then the size of the last checkpoint that still verified
//             (the change lies between it and the failing checkpoint's size).
//   checkpoint_signature  a checkpoint does not verify under the published keys.
// With archives (archive_verifier.h), three more, each naming the file:
//   archive_corrupt    a file is damaged: bad digest, truncated, unreadable, or its contents
//                      disagree with themselves (a stored hash, a link, the compact range).
//   archive_missing    entries are in no archive and not live: a file was removed.
//   archive_misplaced  a file's name states another range than its header (files renamed or
//                      swapped), or two files overlap.
// Entries after the newest checkpoint are covered by the chain only (unanchored_entries).
//
// Thread safety: pure functions over their arguments; the fetch callback is called from the
// calling thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_entry.h"
#include "audit/checkpoint.h"
#include "common/error.h"

namespace weftkit::audit {

enum class Finding {
  kNone,
  kChanged,
  kRemoved,
  kInserted,
  kTruncated,
  kCheckpointSignature,
  kArchiveCorrupt,
  kArchiveMissing,
  kArchiveMisplaced,
};

// "none", "changed", "removed", "inserted", "truncated", "checkpoint_signature",
// "archive_corrupt", "archive_missing", "archive_misplaced".
const char* FindingName(Finding finding);

struct VerificationReport {
  Finding finding = Finding::kNone;
  std::optional<std::uint64_t> first_bad_index;
  std::string detail;  // one sentence for people
  std::string file;    // the archive file the finding is in; empty for the live log
  std::uint64_t entries = 0;
  std::uint64_t checkpoints_verified = 0;
  std::uint64_t verified_tree_size = 0;  // size of the newest checkpoint that verified
  std::uint64_t unanchored_entries = 0;  // entries after the newest checkpoint

  bool ok() const { return finding == Finding::kNone; }
};

// Returns up to `limit` entries from index `first` on, in order; an empty vector at the end.
// AuditReader::Read and an HTTP client of GET /v1/audit/entries both fit.
using EntryFetcher =
    std::function<Result<std::vector<AuditEntry>>(std::uint64_t first, std::size_t limit)>;

struct VerifyOptions {
  std::size_t page_size = 1000;
};

// Verifies the entries `fetch` yields against `checkpoints` (any order) signed by `keys`.
// A finding is a successful result with ok() false; an error means the verification could
// not run (the fetch failed).
Result<VerificationReport> VerifyAuditLog(const EntryFetcher& fetch,
                                          std::span<const Checkpoint> checkpoints,
                                          const CheckpointKeys& keys, VerifyOptions options = {});

}  // namespace weftkit::audit
