// The store of record under faults: locked by another process past the busy timeout, on a full
// file system, and on a read-only file system.
//
// A KMS must fail closed when it cannot write: a rotation or a new key that is not durable must
// not be acknowledged, the client must get a 503 with a stable code it can act on, nothing
// already stored may be damaged, reads that need no write keep working, and the server recovers
// by itself once the fault is gone. The full and read-only cases put the SQLite file on a small
// tmpfs mounted for the test (root only; without the right to mount they skip, saying so).
#include <sqlite3.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "test/faults/fault_report.h"
#include "test/faults/store_inspector.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kBusyTimeoutMs = 300;
constexpr const char* kTmpfsOptions = "size=16m,mode=0700";

// A tmpfs mounted at `path` for the life of the object (or not, when mounting is not allowed).
class SmallFilesystem {
 public:
  explicit SmallFilesystem(std::filesystem::path path) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, kTmpfsOptions) == 0) {
      mounted_ = true;
    } else {
      why_not_ = std::string("cannot mount a tmpfs for the test: ") + std::strerror(errno);
    }
  }
  ~SmallFilesystem() { Unmount(); }

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

  // Remounts read-only (fails with EBUSY while any process has a file open for writing).
  bool SetReadOnly(bool read_only) {
    unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount(nullptr, path_.c_str(), nullptr, flags, kTmpfsOptions) == 0;
  }

  // Writes a filler file until the file system refuses more; returns the bytes written.
  std::size_t Fill() {
    std::FILE* filler = std::fopen((path_ / "filler").c_str(), "w");
    if (filler == nullptr) return 0;
    std::vector<char> block(4096, 'f');
    std::size_t written = 0;
    while (std::fwrite(block.data(), 1, block.size(), filler) == block.size() &&
           std::fflush(filler) == 0) {
      written += block.size();
    }
    std::fclose(filler);
    return written;
  }
  void Free() { std::filesystem::remove(path_ / "filler"); }

  void Unmount() {
    if (mounted_ && ::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
    mounted_ = false;
  }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  std::string why_not_;
};

std::size_t Occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

class StoreFaultTest : public KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
    HttpResponse generated = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                                  {{"context", {{"before", "fault"}}}});
    ASSERT_EQ(generated.status, 200);
    dek_ = Json(generated);
  }

  virtual std::filesystem::path database() const { return kmsd_->dir() / "kms.db"; }

  // A write that needs nothing but the store: registering a principal.
  HttpResponse WritePrincipal(int n) {
    return Call(*admin_, "POST", "/v1/principals",
                {{"id", "spiffe://weftkit.dev/filler/" + std::to_string(n)}});
  }

  // Reads that need no write still work: the key, and unwrapping a DEK acknowledged earlier.
  void ExpectReadsWork() {
    EXPECT_EQ(Call(*officer_, "GET", "/v1/keys/orders").status, 200);
    HttpResponse unwrapped =
        Call(*engine_, "POST", "/v1/keys/orders/unwrap",
             {{"wrapped", dek_["wrapped"]}, {"context", {{"before", "fault"}}}});
    EXPECT_EQ(unwrapped.status, 200) << unwrapped.body;
    EXPECT_EQ(Json(unwrapped)["plaintext"], dek_["plaintext"]);
  }

  // Every change refused while the fault lasted answers 503, Retry-After and `code`.
  void ExpectWritesRefused(const std::string& code) {
    HttpResponse created = Call(*officer_, "POST", "/v1/keys", {{"name", "payments"}});
    EXPECT_EQ(created.status, 503) << created.body;
    EXPECT_EQ(Code(created), code);
    EXPECT_FALSE(created.Header("retry-after").empty());
    HttpResponse rotated =
        Call(*officer_, "POST", "/v1/keys/orders/rotate", nlohmann::json::object());
    EXPECT_EQ(rotated.status, 503) << rotated.body;
    EXPECT_EQ(Code(rotated), code);
  }

  void ExpectWritesWork() {
    EXPECT_EQ(Call(*officer_, "POST", "/v1/keys", {{"name", "payments"}}).status, 201);
    HttpResponse rotated =
        Call(*officer_, "POST", "/v1/keys/orders/rotate", nlohmann::json::object());
    EXPECT_EQ(rotated.status, 200) << rotated.body;
    EXPECT_EQ(Json(rotated)["primary_version"], 2);
  }

  // With kmsd stopped: the file is sound and every stored version has its HSM key, including
  // none left half-made by the refused creations and rotations.
  void ExpectStoreSound() {
    kmsd_->Stop();
    EXPECT_EQ(IntegrityCheck(database()), "ok");
    std::vector<StoredVersion> versions = StoredVersions(database());
    EXPECT_EQ(versions.size(), 3u) << "orders v1, v2 and payments v1";
    std::vector<std::string> missing = VersionsWithoutHsmObject(kmsd_->token(), versions);
    EXPECT_TRUE(missing.empty()) << "versions without an HSM key: " << missing[0];
  }

  nlohmann::json dek_;
};

// ---- Locked by another process ----------------------------------------------------------------

class StoreBusyTest : public StoreFaultTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    options.settings["store.busy_timeout_ms"] = std::to_string(kBusyTimeoutMs);
    return options;
  }
};

TEST_F(StoreBusyTest, LockedByAnotherProcess_Writes503StoreBusyThenRecover) {
  // This test process is the other process: its connection takes the write lock and keeps it.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(database().c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(other, 5000);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  Clock::time_point start = Clock::now();
  HttpResponse refused = WritePrincipal(1);
  double waited = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(Code(refused), "store_busy");
  // It waited for the lock as configured, and not much longer.
  EXPECT_GE(waited, kBusyTimeoutMs * 0.9);
  EXPECT_LT(waited, kBusyTimeoutMs + 2000);
  ReportMeasurement("store_busy_refusal_ms", waited, "ms");
  ExpectWritesRefused("store_busy");
  ExpectReadsWork();

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(WritePrincipal(1).status, 201);
  ExpectWritesWork();
  ExpectStoreSound();
}

// ---- On a small file system ------------------------------------------------------------------

class SmallStoreTest : public StoreFaultTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    options.prepare = [this](KmsdOptions& prepared, const std::filesystem::path& pki_dir) {
      filesystem_ = std::make_unique<SmallFilesystem>(pki_dir.parent_path() / "small");
      if (filesystem_->mounted()) prepared.settings["store.path"] = "small/kms.db";
    };
    return options;
  }
  void SetUp() override {
    StoreFaultTest::SetUp();
    if (HasFatalFailure()) return;
    if (!filesystem_->mounted()) GTEST_SKIP() << filesystem_->why_not();
  }
  void TearDown() override {
    // The server must let go of the files before the file system goes.
    if (kmsd_) kmsd_->Stop();
    if (filesystem_) filesystem_->Unmount();
  }

  std::filesystem::path database() const override { return kmsd_->dir() / "small" / "kms.db"; }

  std::unique_ptr<SmallFilesystem> filesystem_;
};

TEST_F(SmallStoreTest, DiskFull_WritesFailClosedReadsWorkThenRecover) {
  std::size_t filled = filesystem_->Fill();
  ReportMeasurement("store_full_filler_bytes", static_cast<double>(filled), "bytes");

  // SQLite reuses WAL pages it already owns, so the first writes may still fit; keep writing
  // until one does not.
  HttpResponse refused;
  int accepted = 0;
  for (; accepted < 5000; ++accepted) {
    refused = WritePrincipal(accepted);
    if (refused.status != 201) break;
  }
  ReportMeasurement("store_full_writes_before_refusal", accepted, "writes");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(Code(refused), "store_full");
  ExpectWritesRefused("store_full");
  ExpectReadsWork();

  filesystem_->Free();
  EXPECT_EQ(WritePrincipal(accepted).status, 201);
  ExpectWritesWork();
  ExpectReadsWork();
  ExpectStoreSound();
}

// A file system cannot turn read-only under files open for writing (EBUSY), so this is the
// operator's case: the store's file system is read-only when kmsd starts. kmsd must refuse to
// start, naming the fault: every operation writes (an audit entry, a reservation), so a
// read-only store cannot serve anything safely. Both after a clean stop (SQLite removed its
// -wal and -shm files) and after a SIGKILL (they are still there, and SQLite opens the file).
TEST_F(SmallStoreTest, ReadOnly_StartFailsClosedNamingTheFaultThenRecovers) {
  for (bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "after SIGKILL" : "after a clean stop");
    if (killed) {
      kmsd_->Kill();
    } else {
      kmsd_->Stop();
    }
    ASSERT_TRUE(filesystem_->SetReadOnly(true)) << std::strerror(errno);
    // The log accumulates across starts: count the refusals rather than look for one.
    const std::string refusal = "\"code\":\"store_read_only\"";
    std::size_t before = Occurrences(kmsd_->Log(), refusal);
    EXPECT_THROW(kmsd_->Restart(), std::runtime_error) << "kmsd started on a read-only store";
    EXPECT_EQ(Occurrences(kmsd_->Log(), refusal), before + 1) << kmsd_->Log();
    ASSERT_TRUE(filesystem_->SetReadOnly(false)) << std::strerror(errno);
    kmsd_->Restart();
  }
  admin_ = kmsd_->Client("admin");
  officer_ = kmsd_->Client("officer");
  engine_ = kmsd_->Client("engine");
  ExpectReadsWork();
  EXPECT_EQ(WritePrincipal(1).status, 201);
  ExpectWritesWork();
  ExpectStoreSound();
}

}  // namespace
}  // namespace weftkit::test
