// The group-commit writer against a real SQLite file: entries come back in order with a valid
// chain, survive a reopen, are committed once each under concurrency, and a store that cannot
// write fails the caller ("audit_unavailable") instead of losing the entry silently.
#include "audit/audit_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "audit/canonical_entry.h"
#include "audit/verifier.h"
#include "test/audit/audit_test_entries.h"
#include "test/support/temp_dir.h"

namespace weftkit::audit {
namespace {

using test_entries::SampleEntry;

class AuditLogTest : public ::testing::Test {
 protected:
  std::filesystem::path db_path() const { return dir_.path() / "audit.db"; }

  std::unique_ptr<AuditLog> OpenLog(std::chrono::milliseconds busy = std::chrono::seconds(5)) {
    store::OpenOptions options;
    options.busy_timeout = busy;
    auto store = SqliteAuditStore::Open(db_path(), options);
    EXPECT_TRUE(store.ok()) << store.error().ToString();
    auto log = AuditLog::Open(std::move(store).value());
    EXPECT_TRUE(log.ok()) << log.error().ToString();
    return std::move(log).value();
  }

  // A raw connection, as someone editing the file would hold it.
  sqlite3* RawConnection() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    return db;
  }

  weftkit::testing::TempDir dir_;
};

VerificationReport VerifyChain(const AuditLog& log) {
  auto fetch = [&log](std::uint64_t first, std::size_t limit) { return log.Read(first, limit); };
  return VerifyAuditLog(fetch, {}, {}).value();
}

TEST_F(AuditLogTest, Record_AssignsIndexesAndChainsEntries_InOrder) {
  auto log = OpenLog();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(log->Record(SampleEntry(i)).value(), std::uint64_t(i));

  std::vector<AuditEntry> entries = log->Read(0, 100).value();
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].previous_hash, "");
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(entries[i].index, std::uint64_t(i));
    EXPECT_EQ(entries[i].previous_hash, HashToHex(EntryLeafHash(entries[i - 1]).value()));
    EXPECT_EQ(entries[i].request_id, SampleEntry(i).request_id);
    EXPECT_EQ(entries[i].key_version, SampleEntry(i).key_version);
    EXPECT_EQ(entries[i].policy_version, SampleEntry(i).policy_version);
  }
  EXPECT_TRUE(VerifyChain(*log).ok());
}

TEST_F(AuditLogTest, Open_ContinuesTheChain_AfterReopen) {
  Hash root_before;
  {
    auto log = OpenLog();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Record(SampleEntry(i)).ok());
    root_before = log->Head().root;
  }
  auto log = OpenLog();
  EXPECT_EQ(log->Size().value(), 3u);
  EXPECT_EQ(log->RootAt(3).value(), root_before);
  EXPECT_EQ(log->Record(SampleEntry(3)).value(), 3u);
  EXPECT_TRUE(VerifyChain(*log).ok());
}

TEST_F(AuditLogTest, Record_CommitsEveryEntryOnce_FromEightConcurrentWriters) {
  auto log = OpenLog();
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 250;
  std::vector<std::vector<std::uint64_t>> indexes(kWriters);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto index = log->Record(SampleEntry(w * kPerWriter + i));
        if (index.ok()) indexes[w].push_back(*index);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::set<std::uint64_t> all;
  for (const auto& list : indexes) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), std::size_t(kWriters * kPerWriter));
  EXPECT_EQ(*all.rbegin(), std::uint64_t(kWriters * kPerWriter - 1));
  EXPECT_EQ(log->Size().value(), std::uint64_t(kWriters * kPerWriter));
  EXPECT_TRUE(VerifyChain(*log).ok());
  // Reported, not asserted: the rate depends on the disk's fsync.
  std::printf("[ throughput ] %d durable entries from %d writers in %.3f s: %.0f entries/s\n",
              kWriters * kPerWriter, kWriters, seconds, kWriters * kPerWriter / seconds);
}

TEST_F(AuditLogTest, Record_FailsWithAuditUnavailable_WhileTheStoreCannotWrite) {
  auto log = OpenLog(std::chrono::milliseconds(50));
  ASSERT_TRUE(log->Record(SampleEntry(0)).ok());

  // Another process holds the write lock past the busy timeout.
  sqlite3* other = RawConnection();
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  Result<std::uint64_t> refused = log->Record(SampleEntry(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), "audit_unavailable");
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUnavailable);
  EXPECT_FALSE(log->Healthy());
  EXPECT_EQ(log->Size().value(), 1u);

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(log->Record(SampleEntry(2)).value(), 1u);
  EXPECT_TRUE(log->Healthy());
  EXPECT_TRUE(VerifyChain(*log).ok());
}

TEST_F(AuditLogTest, Store_RefusesUpdateAndDelete_ThroughItsTriggers) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Record(SampleEntry(0)).ok());
  sqlite3* db = RawConnection();
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_entries SET principal = 'x'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_entries", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(log->Read(0, 10).value().size(), 1u);
}

TEST_F(AuditLogTest, WaitForSizeAbove_ReturnsOnceAnEntryIsDurable) {
  auto log = OpenLog();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(log->Record(SampleEntry(0)).ok());
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(log->WaitForSizeAbove(0, std::chrono::seconds(10)).value(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  writer.join();
  EXPECT_EQ(log->WaitForSizeAbove(1, std::chrono::milliseconds(20)).value(), 1u);
}

TEST_F(AuditLogTest, Proofs_VerifyAgainstTheLogsRoots) {
  auto log = OpenLog();
  for (int i = 0; i < 13; ++i) ASSERT_TRUE(log->Record(SampleEntry(i)).ok());
  Hash root13 = log->RootAt(13).value();
  Hash root6 = log->RootAt(6).value();
  for (std::uint64_t i = 0; i < 13; ++i) {
    auto proof = log->InclusionProofFor(i, 13).value();
    EXPECT_TRUE(VerifyInclusion(log->LeafHashAt(i).value(), i, 13, proof, root13));
  }
  auto consistency = log->ConsistencyProofFor(6, 13).value();
  EXPECT_TRUE(VerifyConsistency(6, 13, root6, root13, consistency));
  EXPECT_EQ(log->RootAt(14).error().code(), "audit_bad_proof_request");
  EXPECT_EQ(log->LeafHashAt(13).error().code(), "audit_entry_not_found");
}

}  // namespace
}  // namespace weftkit::audit
