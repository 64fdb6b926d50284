#include "audit/audit_archiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/archive_file.h"
#include "audit/canonical_entry.h"
#include "common/log.h"
#include "common/path_jail.h"

namespace weftkit::audit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kArchiveAction = "audit.archive";
constexpr std::string_view kTempSuffix = ".tmp";

Error FileError(const std::string& what, const fs::path& path) {
  return Error(ErrorKind::kUnavailable, "audit_archive_io",
               what + " " + path.string() + ": " + std::strerror(errno));
}

// Closes a file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status WriteAll(int fd, std::span<const std::uint8_t> bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return FileError("cannot write", path);
    bytes = bytes.subspan(static_cast<std::size_t>(written));
  }
  return OkStatus();
}

Status FsyncPath(const fs::path& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) return FileError("cannot open", path);
  if (::fsync(fd.get()) != 0) return FileError("cannot fsync", path);
  return OkStatus();
}

// Writes `bytes` to `temp`, makes it durable, renames it to `target` and makes the rename
// durable: after a crash either `target` is whole or it does not exist.
Status WriteDurably(const fs::path& temp, const fs::path& target,
                    std::span<const std::uint8_t> bytes) {
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return FileError("cannot create", temp);
    WK_RETURN_IF_ERROR(WriteAll(fd.get(), bytes, temp));
    if (::fsync(fd.get()) != 0) return FileError("cannot fsync", temp);
    if (::close(fd.release()) != 0) return FileError("cannot close", temp);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) return FileError("cannot rename", temp);
  return FsyncPath(target.parent_path(), O_RDONLY | O_DIRECTORY);
}

// The checks of step 1: the stored rows are the entries the log's tree was built from.
Status CheckStoredRange(const std::vector<SealedEntry>& entries, std::uint64_t first,
                        std::span<const Hash> leaves) {
  if (entries.size() != leaves.size()) {
    return Error(ErrorKind::kDataLoss, "audit_archive_mismatch",
                 "the database holds " + std::to_string(entries.size()) + " of the " +
                     std::to_string(leaves.size()) + " entries to archive");
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const SealedEntry& sealed = entries[i];
    Result<std::vector<std::uint8_t>> canonical = CanonicalBytes(sealed.entry);
    if (sealed.entry.index != first + i || !canonical.ok() || *canonical != sealed.canonical ||
        LeafHash(sealed.canonical) != leaves[i] || sealed.leaf_hash != leaves[i]) {
      return Error(ErrorKind::kDataLoss, "audit_archive_mismatch",
                   "stored entry " + std::to_string(first + i) +
                       " does not match the log's tree; run weftkit-audit-verify");
    }
  }
  return OkStatus();
}

bool IsTemporary(const std::string& name) {
  return name.size() > 1 && name.front() == '.' && name.ends_with(kTempSuffix) &&
         ParseArchiveFileName(name.substr(1, name.size() - 1 - kTempSuffix.size())).has_value();
}

}  // namespace

Result<std::unique_ptr<AuditArchiver>> AuditArchiver::Create(AuditLog& log,
                                                             RetentionOptions options) {
  std::error_code error;
  if (!fs::is_directory(options.directory, error)) {
    return Error(ErrorKind::kInvalidArgument, "invalid_retention_options",
                 "the archive directory " + options.directory.string() + " does not exist");
  }
  if (!options.keep_for && !options.keep_entries) {
    return Error(ErrorKind::kInvalidArgument, "invalid_retention_options",
                 "retention needs keep_for, keep_entries or both");
  }
  if (options.max_entries_per_archive == 0) {
    return Error(ErrorKind::kInvalidArgument, "invalid_retention_options",
                 "max_entries_per_archive must be positive");
  }
  fs::path directory = fs::canonical(options.directory, error);
  if (error) {
    return Error(ErrorKind::kInvalidArgument, "invalid_retention_options",
                 "cannot resolve " + options.directory.string());
  }
  return std::unique_ptr<AuditArchiver>(
      new AuditArchiver(log, std::move(options), std::move(directory)));
}

Result<std::vector<ArchiveRecord>> AuditArchiver::RunOnce(std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  WK_RETURN_IF_ERROR(Recover());
  std::vector<ArchiveRecord> written;
  while (true) {
    WK_ASSIGN_OR_RETURN(std::optional<std::uint64_t> end, NextEnd(now_ms));
    if (!end) return written;
    WK_ASSIGN_OR_RETURN(ArchiveRecord record, Archive(*end, now_ms));
    written.push_back(std::move(record));
  }
}

Result<ArchiveRecord> AuditArchiver::ArchiveUpTo(std::uint64_t end, std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  WK_RETURN_IF_ERROR(Recover());
  return Archive(end, now_ms);
}

Result<fs::path> AuditArchiver::Resolve(const std::string& name) const {
  return ResolveUnder(directory_, directory_ / name);
}

// Deletes leftovers of an interrupted pass: temporary files, and archive files that no record
// names and whose entries are all still live (so nothing is lost); then appends the audit entry
// the newest archive may lack. Any other file is left alone.
Status AuditArchiver::Recover() {
  WK_ASSIGN_OR_RETURN(std::vector<ArchiveRecord> records, log_.store().Archives());
  WK_ASSIGN_OR_RETURN(std::uint64_t live_start, log_.store().LiveStart());
  std::error_code error;
  for (const fs::directory_entry& item : fs::directory_iterator(directory_, error)) {
    std::string name = item.path().filename().string();
    bool recorded = std::any_of(records.begin(), records.end(),
                                [&](const ArchiveRecord& r) { return r.file_name == name; });
    std::optional<ArchiveRange> range = ParseArchiveFileName(name);
    bool leftover = IsTemporary(name) || (range && range->first_index >= live_start);
    if (recorded || !leftover) continue;
    WK_ASSIGN_OR_RETURN(fs::path path, Resolve(name));
    log::Warning("audit_archive_leftover_removed", {{"path", path.string()}});
    if (!fs::remove(path, error) || error) return FileError("cannot remove", path);
  }
  if (error) return FileError("cannot list", directory_);
  if (records.empty()) return OkStatus();
  WK_ASSIGN_OR_RETURN(bool has_entry,
                      log_.store().HasEntry(kArchiveAction, "audit/" + records.back().file_name));
  // Entries below the newest archive's end are archived themselves; its own entry comes later.
  if (has_entry) return OkStatus();
  return RecordEntry(records.back());
}

// The end of the next range to archive: the largest checkpoint size the options allow within
// max_entries_per_archive, else the smallest one they allow at all.
Result<std::optional<std::uint64_t>> AuditArchiver::NextEnd(std::int64_t now_ms) {
  std::uint64_t start = log_.LiveStart();
  AuditLog::TreeHead head = log_.Head();
  std::uint64_t limit = 0;
  if (options_.keep_entries && head.tree_size > *options_.keep_entries) {
    limit = head.tree_size - *options_.keep_entries;
  }
  if (options_.keep_for) {
    std::int64_t cutoff = now_ms - std::chrono::milliseconds(*options_.keep_for).count();
    WK_ASSIGN_OR_RETURN(std::optional<std::uint64_t> young,
                        log_.store().FirstEntryAtOrAfter(cutoff));
    limit = std::max(limit, young.value_or(head.tree_size));
  }
  if (limit <= start) return std::optional<std::uint64_t>();

  WK_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, log_.store().AllCheckpoints());
  std::optional<std::uint64_t> best;
  std::uint64_t bound = start + options_.max_entries_per_archive;
  for (const Checkpoint& c : checkpoints) {  // oldest first
    if (c.tree_size <= start || c.tree_size > limit) continue;
    if (!best || c.tree_size <= bound) best = c.tree_size;
    if (c.tree_size >= bound) break;
  }
  return best;
}

// Step 1: the rows of [start, end) as stored, checked against the tree, with what a verifier
// needs to go on from `end`.
Result<ArchiveContents> AuditArchiver::Contents(std::uint64_t start, std::uint64_t end,
                                                std::span<const Checkpoint> checkpoints,
                                                std::int64_t now_ms) {
  ArchiveContents contents;
  contents.first_index = start;
  contents.end_index = end;
  contents.created_ms = now_ms;
  WK_ASSIGN_OR_RETURN(std::vector<Hash> leaves, log_.LeafHashes(start, end));
  WK_ASSIGN_OR_RETURN(contents.entries,
                      log_.store().ReadSealed(start, static_cast<std::size_t>(end - start)));
  WK_RETURN_IF_ERROR(CheckStoredRange(contents.entries, start, leaves));
  if (start > 0) {
    WK_ASSIGN_OR_RETURN(contents.previous_leaf, log_.LeafHashAt(start - 1));
  }
  WK_ASSIGN_OR_RETURN(contents.compact_range, log_.CompactRangeAt(end));
  for (const Checkpoint& c : checkpoints) {
    if (c.tree_size > start && c.tree_size <= end) contents.checkpoints.push_back(c);
  }
  return contents;
}

// Steps 2 and 3: durable under its final name, then read back.
Status AuditArchiver::WriteAndReadBack(const std::string& name,
                                       std::span<const std::uint8_t> bytes) {
  WK_ASSIGN_OR_RETURN(fs::path target, Resolve(name));
  WK_ASSIGN_OR_RETURN(fs::path temp, Resolve("." + name + std::string(kTempSuffix)));
  WK_RETURN_IF_ERROR(WriteDurably(temp, target, bytes));
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> read_back, ReadArchiveBytes(target));
  if (!std::equal(read_back.begin(), read_back.end(), bytes.begin(), bytes.end()) ||
      !DecodeArchive(read_back).ok()) {
    return Error(ErrorKind::kDataLoss, "audit_archive_readback",
                 "the archive read back from " + target.string() + " is not what was written");
  }
  return OkStatus();
}

Result<ArchiveRecord> AuditArchiver::Archive(std::uint64_t end, std::int64_t now_ms) {
  std::uint64_t start = log_.LiveStart();
  WK_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, log_.store().AllCheckpoints());
  bool at_checkpoint =
      end > start && std::any_of(checkpoints.begin(), checkpoints.end(),
                                 [&](const Checkpoint& c) { return c.tree_size == end; });
  if (!at_checkpoint) {
    return Error(ErrorKind::kFailedPrecondition, "audit_archive_not_at_checkpoint",
                 "an archive ends at a signed checkpoint above " + std::to_string(start));
  }
  WK_ASSIGN_OR_RETURN(ArchiveContents contents, Contents(start, end, checkpoints, now_ms));
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, EncodeArchive(contents));
  ArchiveRecord record{start, end, ArchiveFileName(start, end), {}, now_ms};
  WK_ASSIGN_OR_RETURN(record.sha256, ArchiveDigest(bytes));
  WK_RETURN_IF_ERROR(WriteAndReadBack(record.file_name, bytes));

  // Step 4: only now do the rows go.
  WK_ASSIGN_OR_RETURN(std::vector<Hash> leaves, log_.LeafHashes(start, end));
  WK_RETURN_IF_ERROR(log_.store().RecordArchive(record, leaves));
  log_.NoteArchived(end);
  log::Info("audit_archived", {{"path", PathOf(record).string()},
                               {"first_index", std::to_string(start)},
                               {"end_index", std::to_string(end)},
                               {"bytes", std::to_string(bytes.size())}});

  // Step 5. A failure here is repaired by the next pass's Recover.
  Status entry = RecordEntry(record);
  if (!entry.ok()) log::Error("audit_archive_entry_failed", {{"code", entry.error().code()}});
  return record;
}

Status AuditArchiver::RecordEntry(const ArchiveRecord& record) {
  AuditEntry entry;
  entry.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  entry.principal = "kmsd";
  entry.auth_method = "none";
  entry.action = kArchiveAction;
  entry.resource = "audit/" + record.file_name;
  entry.outcome = "success";
  Result<std::uint64_t> index = log_.Record(std::move(entry));
  return index.ok() ? OkStatus() : index.error();
}

}  // namespace weftkit::audit
