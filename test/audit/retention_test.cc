// Retention (audit/audit_archiver.h) against a real SQLite file and checkpoints signed in a fresh
// SoftHSM token: archiving moves ranges into files without changing the tree, its roots or its
// proofs; the log keeps working and restarts; verification spans files and live entries and
// names the file that was damaged, removed, truncated or swapped; an archiver interrupted
// between writing a file and deleting the rows leaves a state the next pass completes, with
// nothing lost and no file twice.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "audit/archive_file.h"
#include "audit/archive_verifier.h"
#include "audit/audit_archiver.h"
#include "audit/audit_log.h"
#include "audit/canonical_entry.h"
#include "audit/checkpoint_signer.h"
#include "audit/checkpointer.h"
#include "test/audit/audit_test_entries.h"
#include "test/support/softhsm_token.h"

namespace weftkit::audit {
namespace {

namespace fs = std::filesystem;
using test_entries::SampleEntry;

constexpr std::int64_t kNowMs = 1'780'000'100'000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm(2);
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    fs::create_directory(archive_dir());
    Open();
  }

  void TearDown() override { Close(); }

  void Open(const fs::path& db = {}) {
    auto store = SqliteAuditStore::Open(db.empty() ? db_path() : db);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    auto log = AuditLog::Open(std::move(store).value());
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(log).value();
    auto signer = CheckpointSigner::Open(*hsm_, log_->store());
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    signer_ = std::move(signer).value();
    keys_ = signer_->keys();
    checkpointer_ = std::make_unique<Checkpointer>(*log_, *signer_);
  }

  void Close() {
    checkpointer_.reset();
    signer_.reset();
    log_.reset();
  }

  std::unique_ptr<AuditArchiver> Archiver(std::optional<std::uint64_t> keep_entries = 0,
                                          std::uint64_t max_per_archive = 10) {
    RetentionOptions options;
    options.directory = archive_dir();
    options.keep_entries = keep_entries;
    options.max_entries_per_archive = max_per_archive;
    auto archiver = AuditArchiver::Create(*log_, options);
    EXPECT_TRUE(archiver.ok()) << archiver.error().ToString();
    return archiver.ok() ? std::move(archiver).value() : nullptr;
  }

  // `count` entries, a checkpoint after each `every` of them.
  void Append(int count, int every = 10) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(log_->Record(SampleEntry(next_sample_++)).ok());
      if ((i + 1) % every == 0) {
        ASSERT_TRUE(checkpointer_->CreateNow().ok());
      }
    }
  }

  // 30 entries with checkpoints at 10, 20, 30, archived into three files of ten.
  std::vector<ArchiveRecord> ArchiveThreeFiles() {
    Append(30);
    auto written = Archiver()->RunOnce(kNowMs);
    EXPECT_TRUE(written.ok()) << written.error().ToString();
    return written.ok() ? *written : std::vector<ArchiveRecord>();
  }

  VerificationReport VerifyAcross() {
    SqliteAuditStore& store = log_->store();
    LiveLog live;
    live.first_index = store.LiveStart().value();
    live.checkpoints = store.AllCheckpoints().value();
    live.fetch = [&store](std::uint64_t first, std::size_t limit) {
      return store.Read(first, limit);
    };
    std::vector<fs::path> files = ListArchiveFiles(archive_dir()).value();
    auto report = VerifyWithArchives(files, live, keys_, {.page_size = 7});
    EXPECT_TRUE(report.ok()) << report.error().ToString();
    return report.ok() ? *report : VerificationReport{};
  }

  std::vector<std::uint8_t> FileBytes(const fs::path& path) {
    return ReadArchiveBytes(path).value();
  }

  void WriteBytes(const fs::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

  fs::path db_path() const { return token_->dir() / "audit.db"; }
  fs::path archive_dir() const { return token_->dir() / "archive"; }
  fs::path FileOf(const ArchiveRecord& record) const { return archive_dir() / record.file_name; }

  int next_sample_ = 0;
  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<CheckpointSigner> signer_;
  std::unique_ptr<Checkpointer> checkpointer_;
  CheckpointKeys keys_;
};

TEST_F(RetentionTest, ArchiveUpTo_KeepsTheTreeRootsAndProofs_AndTheLogKeepsWorking) {
  Append(30);
  Hash root_at_30 = log_->RootAt(30).value();
  Hash root_at_10 = log_->RootAt(10).value();
  std::vector<Hash> proof_before = log_->InclusionProofFor(3, 30).value();

  Result<ArchiveRecord> record = Archiver()->ArchiveUpTo(20, kNowMs);
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  EXPECT_EQ(record->file_name, ArchiveFileName(0, 20));
  EXPECT_TRUE(fs::is_regular_file(FileOf(*record)));
  EXPECT_EQ(fs::status(FileOf(*record)).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(log_->LiveStart(), 20u);

  // The rows are gone from the database, the tree is not.
  EXPECT_EQ(log_->store().Read(0, 5).value().front().index, 20u);
  EXPECT_EQ(log_->RootAt(30).value(), root_at_30);
  std::vector<Hash> proof_after = log_->InclusionProofFor(3, 30).value();
  EXPECT_EQ(proof_after, proof_before);
  EXPECT_TRUE(VerifyInclusion(log_->LeafHashAt(3).value(), 3, 30, proof_after, root_at_30));
  EXPECT_TRUE(
      VerifyConsistency(10, 30, root_at_10, root_at_30, log_->ConsistencyProofFor(10, 30).value()));

  // Reading an archived position says so; live reads continue.
  Result<std::vector<AuditEntry>> archived = log_->Read(5, 10);
  ASSERT_FALSE(archived.ok());
  EXPECT_EQ(archived.error().code(), "audit_entry_archived");
  EXPECT_EQ(log_->Read(20, 1).value().front().index, 20u);

  // The archiving left its own entry, and new entries chain on.
  EXPECT_TRUE(log_->store().HasEntry("audit.archive", "audit/" + record->file_name).value());
  Append(5, 5);
  VerificationReport report = VerifyAcross();
  EXPECT_TRUE(report.ok()) << report.detail;
  EXPECT_EQ(report.entries, log_->Size().value());
}

TEST_F(RetentionTest, Reopen_LoadsTheSameTree_AfterArchiving) {
  ArchiveThreeFiles();
  AuditLog::TreeHead before = log_->Head();
  Close();
  Open();
  EXPECT_EQ(log_->LiveStart(), 30u);
  AuditLog::TreeHead after = log_->Head();
  EXPECT_EQ(after.tree_size, before.tree_size);
  EXPECT_EQ(after.root, before.root);
  Append(3, 3);
  EXPECT_TRUE(VerifyAcross().ok());
}

TEST_F(RetentionTest, RunOnce_EndsEveryFileAtASignedCheckpoint_WithinTheBound) {
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  ASSERT_EQ(written.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(written[i].first_index, 10u * i);
    EXPECT_EQ(written[i].end_index, 10u * (i + 1));
    ArchiveContents contents = DecodeArchive(FileBytes(FileOf(written[i]))).value();
    ASSERT_EQ(contents.checkpoints.size(), 1u);
    EXPECT_EQ(contents.checkpoints[0].tree_size, written[i].end_index);
    EXPECT_EQ(RootFromCompactRange(contents.compact_range), contents.checkpoints[0].root);
  }
  // A second pass finds nothing new to do and writes no second copy.
  EXPECT_TRUE(Archiver()->RunOnce(kNowMs).value().empty());
  EXPECT_EQ(ListArchiveFiles(archive_dir()).value().size(), 3u);
  EXPECT_EQ(log_->store().Archives().value().size(), 3u);
}

TEST_F(RetentionTest, RunOnce_KeepsTheNewestEntriesLive) {
  Append(30);
  // 30 - 12 = 18 may go; the newest checkpoint at or below it is 10.
  std::vector<ArchiveRecord> written = Archiver(12, 1000)->RunOnce(kNowMs).value();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].end_index, 10u);
}

TEST_F(RetentionTest, RunOnce_ArchivesEntriesOlderThanKeepFor) {
  Append(30);
  RetentionOptions options;
  options.directory = archive_dir();
  options.keep_for = std::chrono::seconds(1);
  // SampleEntry(n) is at 1'780'000'000'000 + n ms: entries 0..24 are older than one second.
  auto archiver = AuditArchiver::Create(*log_, options).value();
  std::vector<ArchiveRecord> written = archiver->RunOnce(1'780'000'001'025).value();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].end_index, 20u);
}

TEST_F(RetentionTest, ArchiveUpTo_Fails_BetweenCheckpoints) {
  Append(30);
  Result<ArchiveRecord> record = Archiver()->ArchiveUpTo(15, kNowMs);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.error().code(), "audit_archive_not_at_checkpoint");
  EXPECT_EQ(log_->LiveStart(), 0u);
  EXPECT_TRUE(ListArchiveFiles(archive_dir()).value().empty());
}

TEST_F(RetentionTest, Create_Fails_WithoutWhatToKeepOrWithoutADirectory) {
  RetentionOptions options;
  options.directory = archive_dir();
  EXPECT_EQ(AuditArchiver::Create(*log_, options).error().code(), "invalid_retention_options");
  options.keep_entries = 1;
  options.directory = archive_dir() / "absent";
  EXPECT_EQ(AuditArchiver::Create(*log_, options).error().code(), "invalid_retention_options");
}

TEST_F(RetentionTest, Store_RefusesToDeleteEntriesNoArchiveCovers) {
  Append(10);
  std::vector<Hash> leaves = log_->LeafHashes(0, 10).value();
  // An archive record that does not start where the live log does.
  ArchiveRecord late{5, 10, ArchiveFileName(5, 10), {}, kNowMs};
  Status refused = log_->store().RecordArchive(late, std::span(leaves).subspan(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), "audit_archive_not_live");
  // Leaf hashes that are not the stored ones.
  std::vector<Hash> wrong = leaves;
  wrong[4][0] ^= 1;
  Status mismatch = log_->store().RecordArchive({0, 10, ArchiveFileName(0, 10), {}, kNowMs}, wrong);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code(), "audit_archive_mismatch");
  EXPECT_EQ(log_->store().LiveStart().value(), 0u);
  EXPECT_EQ(log_->store().Read(0, 100).value().size(), 10u);
}

TEST_F(RetentionTest, Verify_FindsNothing_AcrossUntouchedArchivesAndLiveEntries) {
  ArchiveThreeFiles();
  Append(7, 7);
  VerificationReport report = VerifyAcross();
  EXPECT_TRUE(report.ok()) << report.detail;
  EXPECT_EQ(report.entries, log_->Size().value());
  EXPECT_EQ(report.verified_tree_size, log_->Size().value());
}

TEST_F(RetentionTest, Verify_NamesTheFile_WhenAByteIsFlipped) {
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  std::vector<std::uint8_t> original = FileBytes(FileOf(written[1]));
  // The header, the compressed payload and the digest.
  for (std::size_t offset : {std::size_t{13}, original.size() / 2, original.size() - 1}) {
    std::vector<std::uint8_t> damaged = original;
    damaged[offset] ^= 0x40;
    WriteBytes(FileOf(written[1]), damaged);
    VerificationReport report = VerifyAcross();
    EXPECT_EQ(report.finding, Finding::kArchiveCorrupt) << offset;
    EXPECT_EQ(report.file, written[1].file_name) << offset << ": " << report.detail;
  }
}

TEST_F(RetentionTest, Verify_NamesTheFile_WhenItIsTruncated) {
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  std::vector<std::uint8_t> original = FileBytes(FileOf(written[2]));
  for (std::size_t length : {std::size_t{0}, std::size_t{40}, original.size() - 1}) {
    WriteBytes(FileOf(written[2]), std::span(original).first(length));
    VerificationReport report = VerifyAcross();
    EXPECT_EQ(report.finding, Finding::kArchiveCorrupt) << length;
    EXPECT_EQ(report.file, written[2].file_name) << length;
  }
}

TEST_F(RetentionTest, Verify_SaysWhichEntriesAreMissing_WhenAFileIsDeleted) {
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  fs::remove(FileOf(written[1]));
  VerificationReport middle = VerifyAcross();
  EXPECT_EQ(middle.finding, Finding::kArchiveMissing);
  EXPECT_EQ(middle.first_bad_index, 10u);
  EXPECT_EQ(middle.file, written[2].file_name) << middle.detail;  // the file after the gap

  fs::remove(FileOf(written[2]));
  VerificationReport newest = VerifyAcross();
  EXPECT_EQ(newest.finding, Finding::kArchiveMissing);
  EXPECT_EQ(newest.first_bad_index, 10u) << newest.detail;
}

TEST_F(RetentionTest, Verify_NamesTheFile_WhenTwoFilesAreSwapped) {
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  fs::path spare = archive_dir() / "swap";
  fs::rename(FileOf(written[0]), spare);
  fs::rename(FileOf(written[1]), FileOf(written[0]));
  fs::rename(spare, FileOf(written[1]));
  VerificationReport report = VerifyAcross();
  EXPECT_EQ(report.finding, Finding::kArchiveMisplaced);
  EXPECT_EQ(report.file, written[0].file_name) << report.detail;
}

TEST_F(RetentionTest, Verify_NamesTheEntryAndFile_WhenAnArchiveIsRewrittenConsistently) {
  // An editor who changes entry 14 and rewrites the chain and digest of the whole file: only
  // the link into the next file and the signed checkpoints can tell.
  std::vector<ArchiveRecord> written = ArchiveThreeFiles();
  ArchiveContents contents = DecodeArchive(FileBytes(FileOf(written[1]))).value();
  Hash previous = contents.previous_leaf;
  for (SealedEntry& sealed : contents.entries) {
    if (sealed.entry.index == 14) sealed.entry.principal = "someone-else";
    sealed.entry.previous_hash = HashToHex(previous);
    sealed.canonical = CanonicalBytes(sealed.entry).value();
    sealed.leaf_hash = LeafHash(sealed.canonical);
    previous = sealed.leaf_hash;
  }
  WriteBytes(FileOf(written[1]), EncodeArchive(contents).value());
  VerificationReport report = VerifyAcross();
  EXPECT_EQ(report.finding, Finding::kChanged) << report.detail;
  ASSERT_TRUE(report.first_bad_index.has_value());
  EXPECT_GE(*report.first_bad_index, 10u);
  EXPECT_LT(*report.first_bad_index, 20u);
  EXPECT_EQ(report.file, written[1].file_name);
}

TEST_F(RetentionTest, Verify_ReportsTheArchivedEntries_WhenNoArchivesAreGiven) {
  ArchiveThreeFiles();
  fs::remove_all(archive_dir());
  fs::create_directory(archive_dir());
  VerificationReport report = VerifyAcross();
  EXPECT_EQ(report.finding, Finding::kArchiveMissing);
  EXPECT_EQ(report.first_bad_index, 0u) << report.detail;
}

TEST_F(RetentionTest, RunOnce_Completes_AfterACrashBetweenTheFileAndTheRowDelete) {
  // The state a crash leaves after step 3 (file durable) and before step 4 (rows deleted): made
  // by the real archiver on a copy of the database, whose file then sits beside the original.
  Append(30);
  Close();
  fs::path copy = token_->dir() / "copy.db";
  fs::copy_file(db_path(), copy);
  Open(copy);
  ASSERT_TRUE(Archiver()->ArchiveUpTo(20, kNowMs).ok());
  Close();
  Open();
  ASSERT_EQ(log_->LiveStart(), 0u);
  ASSERT_TRUE(fs::exists(archive_dir() / ArchiveFileName(0, 20)));
  // A torn temporary file from an earlier crash lies there too.
  std::vector<std::uint8_t> torn(17, 0x42);
  WriteBytes(archive_dir() / ("." + ArchiveFileName(0, 10) + ".tmp"), torn);

  // Nothing is lost in this state: every entry is still live.
  EXPECT_EQ(log_->Read(0, 100).value().size(), 30u);

  std::vector<ArchiveRecord> written = Archiver(0, 10)->RunOnce(kNowMs).value();
  ASSERT_EQ(written.size(), 3u);
  std::vector<fs::path> files = ListArchiveFiles(archive_dir()).value();
  ASSERT_EQ(files.size(), 3u);  // the stray [0, 20) file was replaced, not kept beside
  EXPECT_FALSE(fs::exists(archive_dir() / ("." + ArchiveFileName(0, 10) + ".tmp")));
  EXPECT_EQ(log_->LiveStart(), 30u);
  VerificationReport report = VerifyAcross();
  EXPECT_TRUE(report.ok()) << report.detail;
}

TEST_F(RetentionTest, RunOnce_AppendsTheMissingEntry_AfterACrashBetweenTheDeleteAndTheEntry) {
  // Step 4 done, step 5 not: the archive is recorded and the rows are gone, but no
  // "audit.archive" entry names it.
  Append(10);
  ArchiveContents contents;
  contents.first_index = 0;
  contents.end_index = 10;
  contents.created_ms = kNowMs;
  contents.entries = log_->store().ReadSealed(0, 10).value();
  contents.compact_range = log_->CompactRangeAt(10).value();
  std::vector<std::uint8_t> bytes = EncodeArchive(contents).value();
  WriteBytes(archive_dir() / ArchiveFileName(0, 10), bytes);
  ArchiveRecord record{0, 10, ArchiveFileName(0, 10), ArchiveDigest(bytes).value(), kNowMs};
  ASSERT_TRUE(log_->store().RecordArchive(record, log_->LeafHashes(0, 10).value()).ok());
  Close();
  Open();
  ASSERT_FALSE(log_->store().HasEntry("audit.archive", "audit/" + record.file_name).value());

  EXPECT_TRUE(Archiver()->RunOnce(kNowMs).value().empty());
  EXPECT_TRUE(log_->store().HasEntry("audit.archive", "audit/" + record.file_name).value());
  EXPECT_EQ(ListArchiveFiles(archive_dir()).value().size(), 1u);
}

TEST_F(RetentionTest, RunOnce_LeavesAloneFilesItCannotHaveLeftBehind) {
  // An unrecorded file for entries that are already archived is no leftover of this log's
  // archiver (those always start at the live log): it is not deleted.
  ArchiveThreeFiles();
  fs::path foreign = archive_dir() / ArchiveFileName(0, 5);
  std::vector<std::uint8_t> bytes(64, 0x17);
  WriteBytes(foreign, bytes);
  ASSERT_TRUE(Archiver()->RunOnce(kNowMs).ok());
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_EQ(log_->store().Archives().value().size(), 3u);
}

}  // namespace
}  // namespace weftkit::audit
