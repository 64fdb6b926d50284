#include "audit/archive_verifier.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>

#include "audit/archive_file.h"
#include "audit/canonical_entry.h"

namespace weftkit::audit {
namespace {

namespace fs = std::filesystem;

// What the first pass keeps of one file; its entries are read again when the walk reaches them,
// so that only one archive's entries are in memory at a time.
struct ArchiveSummary {
  fs::path path;
  std::uint64_t first_index = 0;
  std::uint64_t end_index = 0;
  std::vector<Hash> compact_range;
  std::vector<Checkpoint> checkpoints;
};

VerificationReport FileFinding(Finding finding, std::optional<std::uint64_t> index,
                               const fs::path& path, std::string detail) {
  VerificationReport report;
  report.finding = finding;
  report.first_bad_index = index;
  report.file = path.filename().string();
  report.detail = std::move(detail);
  return report;
}

std::string RangeText(std::uint64_t first, std::uint64_t end) {
  return std::to_string(first) + ".." + std::to_string(end - 1);
}

// The first pass over one file: readable, digest, decodes, and its name states its range.
Result<ArchiveSummary> Summarize(const fs::path& path, VerificationReport& finding) {
  std::optional<ArchiveRange> named = ParseArchiveFileName(path.filename().string());
  std::optional<std::uint64_t> named_first;
  if (named) named_first = named->first_index;
  Result<std::vector<std::uint8_t>> bytes = ReadArchiveBytes(path);
  Result<ArchiveContents> contents =
      bytes.ok() ? DecodeArchive(*bytes) : Result<ArchiveContents>(bytes.error());
  if (!contents.ok()) {
    finding = FileFinding(Finding::kArchiveCorrupt, named_first, path, contents.error().detail());
    return contents.error();
  }
  if (!named || named->first_index != contents->first_index ||
      named->end_index != contents->end_index) {
    finding = FileFinding(Finding::kArchiveMisplaced, contents->first_index, path,
                          "the file holds entries " +
                              RangeText(contents->first_index, contents->end_index) +
                              ", which its name does not state (renamed or swapped)");
    return Error(ErrorKind::kDataLoss, "audit_archive_misplaced", finding.detail);
  }
  return ArchiveSummary{path, contents->first_index, contents->end_index,
                        std::move(contents->compact_range), std::move(contents->checkpoints)};
}

// Sorted by range; a gap before a file or before the live log is a missing file, an overlap a
// misplaced one.
std::optional<VerificationReport> CheckContinuity(const std::vector<ArchiveSummary>& archives,
                                                  std::uint64_t live_first) {
  std::uint64_t expected = 0;
  for (const ArchiveSummary& archive : archives) {
    if (archive.first_index > expected) {
      return FileFinding(Finding::kArchiveMissing, expected, archive.path,
                         "entries " + RangeText(expected, archive.first_index) +
                             " are in no archive file: the file before this one is missing");
    }
    if (archive.first_index < expected) {
      return FileFinding(Finding::kArchiveMisplaced, archive.first_index, archive.path,
                         "the file overlaps the one before it");
    }
    expected = archive.end_index;
  }
  if (live_first > expected) {
    VerificationReport report;
    report.finding = Finding::kArchiveMissing;
    report.first_bad_index = expected;
    report.detail = "entries " + RangeText(expected, live_first) +
                    " are neither in an archive file nor live: the newest archive is missing";
    return report;
  }
  return std::nullopt;
}

// Serves the walk: archived entries from the files (one decoded at a time), the rest live.
// Keeps every archived leaf hash, for the compact range check afterwards.
class SpanningFetcher {
 public:
  SpanningFetcher(const std::vector<ArchiveSummary>& archives, const LiveLog& live)
      : archives_(archives), live_(live) {}

  Result<std::vector<AuditEntry>> Fetch(std::uint64_t first, std::size_t limit) {
    auto archive = std::find_if(archives_.begin(), archives_.end(), [&](const ArchiveSummary& a) {
      return first >= a.first_index && first < a.end_index;
    });
    if (archive == archives_.end()) return live_.fetch(first, limit);
    WK_RETURN_IF_ERROR(Load(*archive));
    std::vector<AuditEntry> page;
    for (std::uint64_t i = first; i < archive->end_index && page.size() < limit; ++i) {
      const SealedEntry& sealed = current_->entries[i - archive->first_index];
      if (i == archived_leaves_.size()) archived_leaves_.push_back(sealed.leaf_hash);
      page.push_back(sealed.entry);
    }
    return page;
  }

  const std::vector<Hash>& archived_leaves() const { return archived_leaves_; }

 private:
  Status Load(const ArchiveSummary& archive) {
    if (current_ && current_->first_index == archive.first_index) return OkStatus();
    WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadArchiveBytes(archive.path));
    WK_ASSIGN_OR_RETURN(ArchiveContents contents, DecodeArchive(bytes));
    current_ = std::move(contents);
    return OkStatus();
  }

  const std::vector<ArchiveSummary>& archives_;
  const LiveLog& live_;
  std::optional<ArchiveContents> current_;
  std::vector<Hash> archived_leaves_;
};

// Each archive's compact range must be that of the entries up to its end: it is what lets a
// later verifier start from that file without the older ones.
std::optional<VerificationReport> CheckCompactRanges(const std::vector<ArchiveSummary>& archives,
                                                     std::span<const Hash> leaves) {
  for (const ArchiveSummary& archive : archives) {
    if (archive.end_index > leaves.size()) break;
    if (CompactRange(leaves.first(archive.end_index)) != archive.compact_range) {
      return FileFinding(Finding::kArchiveCorrupt, archive.first_index, archive.path,
                         "the file's compact range does not match its entries");
    }
  }
  return std::nullopt;
}

void NameFile(VerificationReport& report, const std::vector<ArchiveSummary>& archives) {
  if (!report.first_bad_index || !report.file.empty()) return;
  for (const ArchiveSummary& archive : archives) {
    if (*report.first_bad_index >= archive.first_index &&
        *report.first_bad_index < archive.end_index) {
      report.file = archive.path.filename().string();
    }
  }
}

// A checkpoint kept both live and in an archive is checked once.
std::vector<Checkpoint> Distinct(std::vector<Checkpoint> checkpoints) {
  auto key = [](const Checkpoint& c) {
    return std::tie(c.tree_size, c.root, c.time_ms, c.kid, c.signature);
  };
  std::sort(checkpoints.begin(), checkpoints.end(),
            [&](const Checkpoint& a, const Checkpoint& b) { return key(a) < key(b); });
  checkpoints.erase(
      std::unique(checkpoints.begin(), checkpoints.end(),
                  [&](const Checkpoint& a, const Checkpoint& b) { return key(a) == key(b); }),
      checkpoints.end());
  return checkpoints;
}

}  // namespace

Result<std::vector<fs::path>> ListArchiveFiles(const fs::path& directory) {
  std::error_code error;
  std::vector<fs::path> files;
  for (const fs::directory_entry& item : fs::directory_iterator(directory, error)) {
    if (item.is_regular_file(error) && item.path().extension() == ".wkar") {
      files.push_back(item.path());
    }
  }
  if (error) {
    return Error(ErrorKind::kNotFound, "audit_archive_unreadable",
                 "cannot list " + directory.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<VerificationReport> VerifyWithArchives(std::span<const fs::path> archives,
                                              const LiveLog& live, const CheckpointKeys& keys,
                                              VerifyOptions options) {
  std::vector<ArchiveSummary> summaries;
  std::vector<Checkpoint> checkpoints = live.checkpoints;
  for (const fs::path& path : archives) {
    VerificationReport finding;
    Result<ArchiveSummary> summary = Summarize(path, finding);
    if (!summary.ok()) return finding;
    checkpoints.insert(checkpoints.end(), summary->checkpoints.begin(), summary->checkpoints.end());
    summaries.push_back(std::move(summary).value());
  }
  std::sort(summaries.begin(), summaries.end(),
            [](const ArchiveSummary& a, const ArchiveSummary& b) {
              return a.first_index < b.first_index;
            });
  if (auto finding = CheckContinuity(summaries, live.first_index)) return *finding;

  SpanningFetcher fetcher(summaries, live);
  WK_ASSIGN_OR_RETURN(VerificationReport report,
                      VerifyAuditLog([&](std::uint64_t first,
                                         std::size_t limit) { return fetcher.Fetch(first, limit); },
                                     Distinct(std::move(checkpoints)), keys, options));
  if (report.ok()) {
    if (auto finding = CheckCompactRanges(summaries, fetcher.archived_leaves())) {
      return *finding;
    }
  }
  NameFile(report, summaries);
  return report;
}

}  // namespace weftkit::audit
