// weftkit-audit-verify, run as an operator would on a database file and on an export: exit 0
// for an untouched log, 1 with the finding for a tampered one, 2 when it cannot run.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "audit/archive_file.h"
#include "audit/audit_archiver.h"
#include "audit/audit_log.h"
#include "audit/checkpoint_signer.h"
#include "audit/checkpointer.h"
#include "audit/entry_json.h"
#include "test/audit/audit_test_entries.h"
#include "test/support/softhsm_token.h"

namespace weftkit::audit {
namespace {

class AuditVerifyToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm(2);
    ASSERT_TRUE(hsm.ok());
    hsm_ = std::move(hsm).value();
    auto log = AuditLog::Open(SqliteAuditStore::Open(Path("audit.db")).value());
    ASSERT_TRUE(log.ok());
    auto signer = CheckpointSigner::Open(*hsm_, (*log)->store());
    ASSERT_TRUE(signer.ok());
    Checkpointer checkpointer(**log, **signer);
    for (int i = 0; i < 12; ++i) ASSERT_TRUE((*log)->Record(test_entries::SampleEntry(i)).ok());
    Checkpoint checkpoint = checkpointer.CreateNow().value();
    Write("keys.json", (*signer)->JwkSet().dump());
    Write("checkpoints.json", nlohmann::json::array({CheckpointToJson(checkpoint)}).dump());
    std::string lines;
    std::vector<AuditEntry> entries = (*log)->Read(0, 100).value();
    for (const AuditEntry& entry : entries) {
      lines += EntryToJson(entry).dump() + "\n";
    }
    Write("entries.jsonl", lines);
  }

  std::filesystem::path Path(const std::string& name) const { return token_->dir() / name; }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(Path(name)) << text;
  }

  // Runs the tool with `arguments`; returns its exit status and leaves stdout in output_.
  int Run(const std::string& arguments) {
    std::string command = std::string(WEFTKIT_AUDIT_VERIFY) + " --keys " +
                          Path("keys.json").string() + " " + arguments + " > " +
                          Path("out.json").string() + " 2>/dev/null";
    int status = std::system(command.c_str());
    std::ifstream in(Path("out.json"));
    output_.assign(std::istreambuf_iterator<char>(in), {});
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::string output_;
};

TEST_F(AuditVerifyToolTest, Db_ExitsZero_ForAnUntouchedLog) {
  EXPECT_EQ(Run("--db " + Path("audit.db").string()), 0) << output_;
  EXPECT_EQ(nlohmann::json::parse(output_)["verified"], true);
}

TEST_F(AuditVerifyToolTest, Db_ExitsOneAndNamesTheEntry_AfterARowWasDeleted) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path("audit.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         // Since retention, deletes are refused by this trigger (schema v2).
                         "DROP TRIGGER audit_entries_delete_only_archived;"
                         "DELETE FROM audit_entries WHERE idx = 4;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(Run("--db " + Path("audit.db").string()), 1) << output_;
  nlohmann::json report = nlohmann::json::parse(output_);
  EXPECT_EQ(report["finding"], "removed");
  EXPECT_EQ(report["first_bad_index"], 4);
}

TEST_F(AuditVerifyToolTest, Export_ExitsOne_WhenALineWasEdited) {
  EXPECT_EQ(Run("--entries " + Path("entries.jsonl").string() + " --checkpoints " +
                Path("checkpoints.json").string()),
            0)
      << output_;
  std::ifstream in(Path("entries.jsonl"));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::size_t at = text.find("req-6");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 5, "req-X");
  Write("entries.jsonl", text);
  EXPECT_EQ(Run("--entries " + Path("entries.jsonl").string() + " --checkpoints " +
                Path("checkpoints.json").string()),
            1)
      << output_;
  EXPECT_EQ(nlohmann::json::parse(output_)["first_bad_index"], 6);
}

TEST_F(AuditVerifyToolTest, ExitsTwo_WithoutKeysOrInput) {
  EXPECT_EQ(Run("--db " + Path("missing.db").string()), 2);
  EXPECT_EQ(Run(""), 2);
}

TEST_F(AuditVerifyToolTest, Archives_VerifyWithTheDatabase_AndADamagedFileIsNamed) {
  {
    auto log = AuditLog::Open(SqliteAuditStore::Open(Path("audit.db")).value()).value();
    std::filesystem::create_directory(Path("archive"));
    RetentionOptions options;
    options.directory = Path("archive");
    options.keep_entries = 0;
    auto archiver = AuditArchiver::Create(*log, options).value();
    ASSERT_EQ(archiver->RunOnce(1'780'000'100'000).value().size(), 1u);  // entries 0..11
  }
  std::string db = "--db " + Path("audit.db").string();
  EXPECT_EQ(Run(db + " --archives " + Path("archive").string()), 0) << output_;
  EXPECT_EQ(nlohmann::json::parse(output_)["entries"], 13);  // with the audit.archive entry

  EXPECT_EQ(Run(db), 1) << output_;
  EXPECT_EQ(nlohmann::json::parse(output_)["finding"], "archive_missing");

  std::filesystem::path file = Path("archive") / ArchiveFileName(0, 12);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 1);
  EXPECT_EQ(Run(db + " --archives " + Path("archive").string()), 1) << output_;
  nlohmann::json report = nlohmann::json::parse(output_);
  EXPECT_EQ(report["finding"], "archive_corrupt");
  EXPECT_EQ(report["file"], ArchiveFileName(0, 12));
}

}  // namespace
}  // namespace weftkit::audit
