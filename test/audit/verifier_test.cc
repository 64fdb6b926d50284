// Tampering with the audit database file itself, as someone with write access to the disk
// would (dropping the append-only triggers, then UPDATE, DELETE, INSERT through SQLite's C
// API), must make verification fail and name the entry that was touched. The checkpoints are
// signed by a real key in a fresh SoftHSM token.
#include "audit/verifier.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/canonical_entry.h"
#include "audit/checkpoint_signer.h"
#include "audit/checkpointer.h"
#include "test/audit/audit_test_entries.h"
#include "test/support/softhsm_token.h"

namespace weftkit::audit {
namespace {

using test_entries::SampleEntry;

class VerifierTest : public ::testing::Test {
 protected:
  static constexpr int kEntries = 20;

  // 20 entries with checkpoints at sizes 10 and 20.
  void SetUp() override {
    hsm_.reset();
    token_.reset();
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm(2);
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    auto store = SqliteAuditStore::Open(db_path());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    auto log = AuditLog::Open(std::move(store).value());
    ASSERT_TRUE(log.ok());
    auto signer = CheckpointSigner::Open(*hsm_, (*log)->store());
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    keys_ = (*signer)->keys();
    Checkpointer checkpointer(**log, **signer);
    for (int i = 0; i < kEntries; ++i) {
      ASSERT_TRUE((*log)->Record(SampleEntry(i)).ok());
      if (i + 1 == 10 || i + 1 == kEntries) {
        ASSERT_TRUE(checkpointer.CreateNow().ok());
      }
    }
  }

  std::filesystem::path db_path() const { return token_->dir() / "audit.db"; }

  // Runs `sql` on the file as an attacker would: triggers dropped first.
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    std::string script =
        "DROP TRIGGER IF EXISTS audit_entries_append_only_update;"
        "DROP TRIGGER IF EXISTS audit_entries_append_only_delete;"
        "DROP TRIGGER IF EXISTS audit_entries_delete_only_archived;"
        "DROP TRIGGER IF EXISTS audit_checkpoints_append_only_update;" +
        sql;
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db, script.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
  }

  // Verifies the file as it is now, through a fresh store.
  VerificationReport Verify() {
    auto store = SqliteAuditStore::Open(db_path());
    EXPECT_TRUE(store.ok());
    SqliteAuditStore& s = **store;
    std::vector<Checkpoint> checkpoints = s.AllCheckpoints().value();
    auto fetch = [&s](std::uint64_t first, std::size_t limit) { return s.Read(first, limit); };
    auto report = VerifyAuditLog(fetch, checkpoints, keys_, {.page_size = 7});
    EXPECT_TRUE(report.ok()) << report.error().ToString();
    return report.value();
  }

  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  CheckpointKeys keys_;
};

TEST_F(VerifierTest, Verify_FindsNothing_InAnUntouchedLog) {
  VerificationReport report = Verify();
  EXPECT_TRUE(report.ok()) << report.detail;
  EXPECT_EQ(report.entries, std::uint64_t(kEntries));
  EXPECT_EQ(report.checkpoints_verified, 2u);
  EXPECT_EQ(report.verified_tree_size, std::uint64_t(kEntries));
  EXPECT_EQ(report.unanchored_entries, 0u);
}

TEST_F(VerifierTest, Verify_NamesTheChangedEntry_AfterAnUpdateOfAnyField) {
  for (const char* column : {"principal", "action", "status", "time_ms", "key_version"}) {
    SetUp();  // a fresh, untouched log for each column
    Tamper(std::string("UPDATE audit_entries SET ") + column + " = 1 WHERE idx = 7;");
    VerificationReport report = Verify();
    EXPECT_EQ(report.finding, Finding::kChanged) << column;
    EXPECT_EQ(report.first_bad_index, 7u) << column << ": " << report.detail;
  }
}

TEST_F(VerifierTest, Verify_NamesTheChangedEntry_WhenItsOwnLinkWasEdited) {
  Tamper("UPDATE audit_entries SET previous_hash = '" + std::string(64, 'b') + "' WHERE idx = 12;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kChanged);
  EXPECT_EQ(report.first_bad_index, 12u) << report.detail;
}

TEST_F(VerifierTest, Verify_UsesTheCheckpoint_WhenTheLastEntryWasChanged) {
  // No later entry links to entry 19: only the signed root of size 20 can tell.
  Tamper("UPDATE audit_entries SET principal = 'someone-else' WHERE idx = 19;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kChanged);
  EXPECT_EQ(report.first_bad_index, 10u) << report.detail;  // after the last good checkpoint
  EXPECT_EQ(report.verified_tree_size, 10u);
}

TEST_F(VerifierTest, Verify_NamesTheRemovedEntry_AfterADelete) {
  Tamper("DELETE FROM audit_entries WHERE idx = 5;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kRemoved);
  EXPECT_EQ(report.first_bad_index, 5u) << report.detail;
}

TEST_F(VerifierTest, Verify_ReportsTruncation_AfterTheTailWasDeleted) {
  Tamper("DELETE FROM audit_entries WHERE idx >= 15;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kTruncated);
  EXPECT_EQ(report.first_bad_index, 15u) << report.detail;
}

TEST_F(VerifierTest, Verify_NamesTheInsertedEntry_AfterAnInsertInTheMiddle) {
  // The strongest forger: shifts every later entry up by one and inserts an entry whose
  // previous hash and stored hashes are all correct for its position.
  auto store = SqliteAuditStore::Open(db_path());
  ASSERT_TRUE(store.ok());
  std::vector<AuditEntry> entries = (*store)->Read(0, 100).value();
  AuditEntry forged = SampleEntry(99);
  forged.index = 8;
  forged.previous_hash = HashToHex(EntryLeafHash(entries[7]).value());
  std::string leaf = HashToHex(EntryLeafHash(forged).value());
  store->reset();
  Tamper(
      "UPDATE audit_entries SET idx = idx + 1000 WHERE idx >= 8;"
      "UPDATE audit_entries SET idx = idx - 999 WHERE idx >= 1000;"
      "INSERT INTO audit_entries SELECT 8, time_ms, 'forged', principal, auth_method, peer, "
      "action, resource, key_name, key_version, policy_version, decision, rule, outcome, status, "
      "error_code, '" +
      forged.previous_hash + "', canonical, X'" + leaf + "' FROM audit_entries WHERE idx = 9;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kInserted);
  EXPECT_EQ(report.first_bad_index, 8u) << report.detail;
}

TEST_F(VerifierTest, Verify_ReportsACheckpointSignature_WhenACheckpointWasRewritten) {
  Tamper("UPDATE audit_checkpoints SET root_hash = '" + std::string(64, '0') +
         "' WHERE tree_size = 10;");
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kCheckpointSignature) << report.detail;
}

TEST_F(VerifierTest, Verify_CatchesARewrittenChain_AtTheFirstFailingCheckpoint) {
  // An editor who changes entry 3 and recomputes every later previous_hash keeps the chain
  // whole; the signed root of size 10 still differs.
  auto store = SqliteAuditStore::Open(db_path());
  ASSERT_TRUE(store.ok());
  std::vector<AuditEntry> entries = (*store)->Read(0, 100).value();
  entries[3].principal = "someone-else";
  for (std::size_t i = 4; i < entries.size(); ++i) {
    entries[i].previous_hash = HashToHex(EntryLeafHash(entries[i - 1]).value());
  }
  auto fetch = [&entries](std::uint64_t first, std::size_t limit) {
    std::vector<AuditEntry> page;
    for (std::uint64_t i = first; i < entries.size() && page.size() < limit; ++i) {
      page.push_back(entries[i]);
    }
    return Result<std::vector<AuditEntry>>(page);
  };
  VerificationReport report =
      VerifyAuditLog(fetch, (*store)->AllCheckpoints().value(), keys_).value();
  EXPECT_EQ(report.finding, Finding::kChanged);
  EXPECT_EQ(report.first_bad_index, 0u) << report.detail;
  EXPECT_EQ(report.verified_tree_size, 0u);
}

TEST_F(VerifierTest, Verify_RefusesCheckpoints_SignedByAnUnpublishedKey) {
  keys_.clear();
  VerificationReport report = Verify();
  EXPECT_EQ(report.finding, Finding::kCheckpointSignature);
}

TEST_F(VerifierTest, CheckpointJson_RoundTripsAndStillVerifies) {
  auto store = SqliteAuditStore::Open(db_path());
  ASSERT_TRUE(store.ok());
  Checkpoint checkpoint = (*store)->AllCheckpoints().value().back();
  Checkpoint parsed = CheckpointFromJson(CheckpointToJson(checkpoint)).value();
  EXPECT_TRUE(VerifyCheckpointSignature(parsed, keys_).value());
  parsed.tree_size += 1;
  EXPECT_FALSE(VerifyCheckpointSignature(parsed, keys_).value());
  nlohmann::json bad = CheckpointToJson(checkpoint);
  bad["signature"] = "AAAA";
  EXPECT_EQ(CheckpointFromJson(bad).error().code(), "audit_bad_checkpoint");
}

TEST_F(VerifierTest, CheckpointSigner_ReopensWithTheSameKey_AndPublishesIt) {
  auto store = SqliteAuditStore::Open(db_path());
  ASSERT_TRUE(store.ok());
  auto signer = CheckpointSigner::Open(*hsm_, **store);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ((*signer)->keys().size(), 1u);
  EXPECT_EQ((*signer)->keys().begin()->first, keys_.begin()->first);
  auto parsed = CheckpointKeysFromJwkSet(nlohmann::json::parse((*signer)->JwkSet().dump()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->begin()->first, keys_.begin()->first);
}

}  // namespace
}  // namespace weftkit::audit
