#include "audit/verifier.h"

#include <algorithm>

#include "audit/canonical_entry.h"
#include "audit/merkle_tree.h"

namespace weftkit::audit {
namespace {

constexpr const char* kFindingNames[] = {"none",
                                         "changed",
                                         "removed",
                                         "inserted",
                                         "truncated",
                                         "checkpoint_signature",
                                         "archive_corrupt",
                                         "archive_missing",
                                         "archive_misplaced"};

// What the pass over the entries keeps: each position's recomputed leaf hash and whether the
// chain link into it holds.
struct Walk {
  std::vector<Hash> leaves;
  std::vector<std::string> previous_hashes;
  std::optional<std::uint64_t> first_gap;  // first missing index
  std::optional<std::uint64_t> first_duplicate;
};

VerificationReport Found(Finding finding, std::uint64_t index, std::string detail) {
  VerificationReport report;
  report.finding = finding;
  report.first_bad_index = index;
  report.detail = std::move(detail);
  return report;
}

Result<Walk> WalkEntries(const EntryFetcher& fetch, std::size_t page_size) {
  Walk walk;
  std::uint64_t next = 0;
  while (true) {
    WK_ASSIGN_OR_RETURN(std::vector<AuditEntry> page, fetch(next, page_size));
    if (page.empty()) return walk;
    for (const AuditEntry& entry : page) {
      std::uint64_t position = walk.leaves.size();
      if (entry.index > position && !walk.first_gap) walk.first_gap = position;
      if (entry.index < position && !walk.first_duplicate) walk.first_duplicate = position;
      Result<Hash> leaf = EntryLeafHash(entry);
      walk.leaves.push_back(leaf.ok() ? *leaf : Hash{});
      walk.previous_hashes.push_back(entry.previous_hash);
      next = entry.index + 1;
    }
    if (walk.first_gap || walk.first_duplicate) return walk;
  }
}

bool LinkHolds(const Walk& walk, std::uint64_t position) {
  std::string expected = position == 0 ? "" : HashToHex(walk.leaves[position - 1]);
  return walk.previous_hashes[position] == expected;
}

// The first broken link, classified. Only links before `end` are considered: past a missing or
// repeated index the links break because of that, which is already the finding.
std::optional<VerificationReport> ChainFinding(const Walk& walk, std::uint64_t end) {
  for (std::uint64_t p = 0; p < end; ++p) {
    if (LinkHolds(walk, p)) continue;
    if (p >= 2 && walk.previous_hashes[p] == HashToHex(walk.leaves[p - 2])) {
      return Found(Finding::kInserted, p - 1,
                   "entry " + std::to_string(p) + " links to entry " + std::to_string(p - 2) +
                       ": the entry between them was inserted");
    }
    bool next_holds = p + 1 >= end || LinkHolds(walk, p + 1);
    if (p == 0 || !next_holds) {
      return Found(Finding::kChanged, p,
                   "entry " + std::to_string(p) + " was changed: its chain links break");
    }
    return Found(Finding::kChanged, p - 1,
                 "entry " + std::to_string(p - 1) + " was changed: entry " + std::to_string(p) +
                     " holds another hash for it");
  }
  return std::nullopt;
}

}  // namespace

const char* FindingName(Finding finding) { return kFindingNames[static_cast<int>(finding)]; }

Result<VerificationReport> VerifyAuditLog(const EntryFetcher& fetch,
                                          std::span<const Checkpoint> checkpoints,
                                          const CheckpointKeys& keys, VerifyOptions options) {
  std::vector<Checkpoint> sorted(checkpoints.begin(), checkpoints.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const Checkpoint& a, const Checkpoint& b) { return a.tree_size < b.tree_size; });
  for (const Checkpoint& checkpoint : sorted) {
    WK_ASSIGN_OR_RETURN(bool valid, VerifyCheckpointSignature(checkpoint, keys));
    if (!valid) {
      VerificationReport report;
      report.finding = Finding::kCheckpointSignature;
      report.detail = "the checkpoint of tree size " + std::to_string(checkpoint.tree_size) +
                      " does not verify under the published keys";
      return report;
    }
  }

  WK_ASSIGN_OR_RETURN(Walk walk, WalkEntries(fetch, std::max<std::size_t>(options.page_size, 1)));
  std::optional<VerificationReport> finding;
  if (walk.first_gap) {
    finding = Found(Finding::kRemoved, *walk.first_gap,
                    "entry " + std::to_string(*walk.first_gap) + " is missing");
  } else if (walk.first_duplicate) {
    finding = Found(Finding::kInserted, *walk.first_duplicate,
                    "entry " + std::to_string(*walk.first_duplicate) + " repeats an index");
  }
  std::optional<VerificationReport> chain =
      ChainFinding(walk, finding ? *finding->first_bad_index : walk.leaves.size());
  if (chain && (!finding || *chain->first_bad_index < *finding->first_bad_index)) finding = chain;

  VerificationReport report;
  std::uint64_t last_good = 0;
  for (const Checkpoint& checkpoint : sorted) {
    if (checkpoint.tree_size > walk.leaves.size()) {
      if (!finding) {
        finding = Found(Finding::kTruncated, walk.leaves.size(),
                        "a checkpoint covers " + std::to_string(checkpoint.tree_size) +
                            " entries but the log ends at " + std::to_string(walk.leaves.size()));
      }
      break;
    }
    Hash root = RootHash(std::span(walk.leaves).first(checkpoint.tree_size));
    if (root != checkpoint.root) {
      if (!finding) {
        finding = Found(Finding::kChanged, last_good,
                        "the entries from " + std::to_string(last_good) + " to " +
                            std::to_string(checkpoint.tree_size - 1) +
                            " no longer match their signed checkpoint");
      }
      break;
    }
    last_good = checkpoint.tree_size;
    ++report.checkpoints_verified;
  }
  if (finding) report = *finding;
  report.entries = walk.leaves.size();
  report.verified_tree_size = last_good;
  report.unanchored_entries =
      walk.leaves.size() - std::min<std::uint64_t>(last_good, walk.leaves.size());
  if (finding) {
    report.checkpoints_verified = 0;
    for (const Checkpoint& c : sorted) report.checkpoints_verified += c.tree_size <= last_good;
  }
  return report;
}

}  // namespace weftkit::audit
