// SIGKILL in the middle of sustained wrap and rotate traffic, then a restart on the same token
// and database: whatever kmsd acknowledged before it died must still be true afterwards.
//
// That is the durability promise a KMS makes: an engine that received a wrapped DEK may have
// encrypted data under it already, so losing the key version behind it loses the data. The
// checks after each restart:
//   - every wrap answered with 200 unwraps to the same plaintext under the same context;
//   - every rotation answered with 200 left its version in the key, enabled;
//   - PRAGMA integrity_check says ok, and every stored version has its HSM object (the HSM is
//     written before the store, so a crash can leave an unreferenced HSM object, never a version
//     without its key); and the server goes on rotating and wrapping after the crash;
//   - the audit log verifies (chain, tree, signed checkpoints) and holds a successful entry for
//     every acknowledged wrap and rotation: an entry is durable before its response is sent.
#include <cstdlib>
#include <random>
#include <set>

#include "audit/checkpoint.h"
#include "audit/sqlite_audit_store.h"
#include "audit/verifier.h"
#include "test/faults/fault_report.h"
#include "test/faults/store_inspector.h"
#include "test/faults/wrap_load.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using std::chrono::milliseconds;

class CrashTest : public KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
    // The checkpoint keys, taken before any crash, as a verifier keeps them apart from the log.
    auto keys = audit::CheckpointKeysFromJwkSet(Json(Call(*admin_, "GET", "/v1/audit/keys")));
    ASSERT_TRUE(keys.ok()) << keys.error().ToString();
    audit_keys_ = std::move(keys).value();
  }

  // One round: load, kill at a random moment, restart, check. Wraps and rotations acknowledged
  // in earlier rounds are checked again, so a later crash cannot undo an earlier promise.
  void CrashAndRecover(std::mt19937& random) {
    auto load = WrapLoad::Start(
        *kmsd_, {.key = "orders", .engine_threads = 3, .rotate_every = milliseconds(100)});
    // Let traffic build up, then kill at a moment the test does not choose.
    ASSERT_TRUE(WaitFor(
        [&] {
          return load->acknowledged_wraps().size() >= 20 &&
                 load->acknowledged_rotations().size() >= 3;
        },
        milliseconds(30000)))
        << "the load never got going";
    std::uniform_int_distribution<int> delay(0, 800);
    std::this_thread::sleep_for(milliseconds(delay(random)));
    kmsd_->Kill();
    load->Stop();

    std::vector<AcknowledgedWrap> wraps = load->acknowledged_wraps();
    std::vector<std::uint32_t> rotations = load->acknowledged_rotations();
    wraps_.insert(wraps_.end(), wraps.begin(), wraps.end());
    std::vector<std::string> ids = load->acknowledged_request_ids();
    acknowledged_ids_.insert(ids.begin(), ids.end());
    rotations_.insert(rotations_.end(), rotations.begin(), rotations.end());
    ReportMeasurement("crash_acknowledged_wraps", static_cast<double>(wraps.size()), "wraps");
    ReportMeasurement("crash_acknowledged_rotations", static_cast<double>(rotations.size()),
                      "rotations");

    kmsd_->Restart();
    engine_ = kmsd_->Client("engine");
    officer_ = kmsd_->Client("officer");
    ASSERT_NE(engine_, nullptr);
    ASSERT_NE(officer_, nullptr);

    std::vector<std::string> lost = UnwrapMismatches(*engine_, "orders", wraps_);
    EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged wraps lost, first: " << lost[0];
    ExpectRotationsKept();
    ExpectStoreSound();
    ExpectServiceGoesOn();
  }

  void ExpectRotationsKept() {
    HttpResponse key = Call(*officer_, "GET", "/v1/keys/orders");
    ASSERT_EQ(key.status, 200) << key.body;
    nlohmann::json body = Json(key);
    std::set<std::uint32_t> enabled;
    for (const auto& version : body["versions"]) {
      if (version["state"] == "enabled") enabled.insert(version["version"].get<std::uint32_t>());
    }
    for (std::uint32_t rotated : rotations_) {
      EXPECT_TRUE(enabled.count(rotated)) << "acknowledged rotation to v" << rotated << " is gone";
      EXPECT_GE(body["primary_version"].get<std::uint32_t>(), rotated);
    }
  }

  // Looks at the files with kmsd stopped, as an operator would, then starts it again.
  void ExpectStoreSound() {
    kmsd_->Stop();
    std::filesystem::path database = kmsd_->dir() / "kms.db";
    EXPECT_EQ(IntegrityCheck(database), "ok");
    std::vector<StoredVersion> versions = StoredVersions(database);
    EXPECT_FALSE(versions.empty());
    std::vector<std::string> missing = VersionsWithoutHsmObject(kmsd_->token(), versions);
    EXPECT_TRUE(missing.empty()) << "versions without an HSM key: " << missing[0];
    ExpectAuditLogSound();
    kmsd_->Restart();
    engine_ = kmsd_->Client("engine");
    officer_ = kmsd_->Client("officer");
    ASSERT_NE(engine_, nullptr);
    ASSERT_NE(officer_, nullptr);
  }

  // With kmsd stopped: the audit file verifies and records every acknowledged operation.
  void ExpectAuditLogSound() {
    auto store = audit::SqliteAuditStore::Open(kmsd_->dir() / "audit.db");
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    audit::SqliteAuditStore& s = **store;
    auto fetch = [&s](std::uint64_t first, std::size_t limit) { return s.Read(first, limit); };
    auto report = audit::VerifyAuditLog(fetch, s.AllCheckpoints().value(), audit_keys_);
    ASSERT_TRUE(report.ok()) << report.error().ToString();
    EXPECT_TRUE(report->ok()) << audit::FindingName(report->finding) << ": " << report->detail;

    std::set<std::string> recorded;
    for (std::uint64_t next = 0;;) {
      std::vector<audit::AuditEntry> page = s.Read(next, 1000).value();
      if (page.empty()) break;
      for (const audit::AuditEntry& entry : page) {
        if (entry.outcome == "success") recorded.insert(entry.request_id);
      }
      next = page.back().index + 1;
    }
    // Every acknowledged response named its request, and the load acknowledged at least 20 wraps.
    EXPECT_EQ(acknowledged_ids_.count(""), 0u);
    EXPECT_GE(acknowledged_ids_.size(), 20u);
    std::size_t unrecorded = 0;
    for (const std::string& id : acknowledged_ids_) unrecorded += recorded.count(id) == 0;
    EXPECT_EQ(unrecorded, 0u) << "of " << acknowledged_ids_.size() << " acknowledged operations";
  }

  // Whatever the crash left behind (an unreferenced HSM object, a half-used reservation) must
  // not stop the next rotation or wrap.
  void ExpectServiceGoesOn() {
    HttpResponse rotated =
        Call(*officer_, "POST", "/v1/keys/orders/rotate", nlohmann::json::object());
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    std::uint32_t primary = Json(rotated)["primary_version"].get<std::uint32_t>();
    rotations_.push_back(primary);
    HttpResponse generated = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                                  {{"context", {{"after", "crash"}}}});
    ASSERT_EQ(generated.status, 200) << generated.body;
    EXPECT_EQ(Json(generated)["key_version"], primary);
    nlohmann::json body = Json(generated);
    wraps_.push_back({body["plaintext"], body["wrapped"], {{"after", "crash"}}, primary});
  }

  std::vector<AcknowledgedWrap> wraps_;
  std::set<std::string> acknowledged_ids_;
  audit::CheckpointKeys audit_keys_;
  std::vector<std::uint32_t> rotations_;
};

TEST_F(CrashTest, SigkillUnderLoad_LosesNothingAcknowledged) {
  std::mt19937 random(std::random_device{}());
  CrashAndRecover(random);
}

// tools/faults.sh: WEFTKIT_FAULTS_ROUNDS kills (default 5) of the same server and state.
TEST_F(CrashTest, LongRepeatedSigkill_LosesNothingAcknowledged) {
  const char* rounds_text = std::getenv("WEFTKIT_FAULTS_ROUNDS");
  int rounds = rounds_text != nullptr ? std::atoi(rounds_text) : 5;
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < rounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    CrashAndRecover(random);
  }
}

}  // namespace
}  // namespace weftkit::test
