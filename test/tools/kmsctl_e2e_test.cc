// kmsctl, the real binary, against the real kmsd over TLS 1.3: key lifecycle with a client
// certificate, SCRAM logins and tokens, profiles, bulk rewrap, --json output and exit codes.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "audit/archive_file.h"
#include "audit/archive_verifier.h"
#include "audit/merkle_tree.h"
#include "client/kms_client.h"
#include "common/base64.h"
#include "test/integration/kmsd_test.h"
#include "test/tools/kmsctl_fixture.h"

namespace weftkit::kmsctl {
namespace {

using nlohmann::json;

TEST_F(KmsctlTest, Keys_CreateRotateShow_WithCertificate) {
  KmsctlRun created = Kmsctl("officer", {"keys", "create", "orders", "--description", "orders db",
                                         "--rotation-period", "86400", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.Json()["name"], "orders");
  EXPECT_EQ(created.Json()["rotation_period_s"], 86400);

  KmsctlRun rotated = Kmsctl("officer", {"keys", "rotate", "orders", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(rotated.Json()["primary_version"], 2);

  KmsctlRun disabled = Kmsctl("officer", {"keys", "disable", "orders", "1", "--json"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_EQ(disabled.Json()["versions"][0]["state"], "disabled");
  KmsctlRun scheduled =
      Kmsctl("officer", {"keys", "schedule-destroy", "orders", "1", "--wait", "3600", "--json"});
  ASSERT_EQ(scheduled.exit_code, 0) << scheduled.err;
  EXPECT_EQ(scheduled.Json()["versions"][0]["state"], "scheduled_for_destruction");
  KmsctlRun cancelled = Kmsctl("officer", {"keys", "cancel-destroy", "orders", "1", "--json"});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(cancelled.Json()["versions"][0]["state"], "disabled");
  ASSERT_EQ(Kmsctl("officer", {"keys", "enable", "orders", "1"}).exit_code, 0);

  KmsctlRun set = Kmsctl("officer", {"keys", "set", "orders", "--rotation-period", "none",
                                     "--min-decrypt-version", "2", "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(set.Json()["rotation_period_s"].is_null());
  EXPECT_EQ(set.Json()["min_decrypt_version"], 2);

  KmsctlRun table = Kmsctl("officer", {"keys", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("NAME")) << table.out;
  EXPECT_NE(table.out.find("orders"), std::string::npos);
}

TEST_F(KmsctlTest, ExitCodes_NameTheFailure) {
  CreateKey("orders");
  EXPECT_EQ(Kmsctl("officer", {"keys", "show", "missing"}).exit_code, 4);
  EXPECT_EQ(Kmsctl("officer", {"keys", "create", "orders"}).exit_code, 5);
  EXPECT_EQ(Kmsctl("engine", {"keys", "create", "payments"}).exit_code, 3);
  EXPECT_EQ(Kmsctl("", {"keys", "list"}).exit_code, 2);
  EXPECT_EQ(Kmsctl("officer", {"keys", "create", "bad name!"}).exit_code, 8);
  EXPECT_EQ(Kmsctl("officer", {"keys", "show"}).exit_code, 1);
  EXPECT_EQ(Kmsctl("officer", {"keys", "show", "orders", "--frobnicate", "x"}).exit_code, 1);
  EXPECT_EQ(Kmsctl({"--server", "https://127.0.0.1:1", "--ca", kmsd_->pki("ca.pem").string(),
                    "keys", "list"})
                .exit_code,
            6);

  KmsctlRun generated =
      Kmsctl("engine", {"dek", "generate", "orders", "--context", "t=1", "--json"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  std::string wrapped = generated.Json()["wrapped"];
  KmsctlRun wrong = Kmsctl("engine", {"dek", "unwrap", "orders", wrapped, "--context", "t=2"});
  EXPECT_EQ(wrong.exit_code, 7);
  EXPECT_NE(wrong.err.find("envelope_authentication_failed"), std::string::npos) << wrong.err;
  KmsctlRun right =
      Kmsctl("engine", {"dek", "unwrap", "orders", wrapped, "--context", "t=1", "--json"});
  ASSERT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(right.Json()["plaintext"], generated.Json()["plaintext"]);
}

TEST_F(KmsctlTest, Help_IsThereForEveryCommand) {
  for (const std::string group : {"keys", "dek", "principals", "roles", "bindings", "tokens"}) {
    KmsctlRun help = Kmsctl({group, "--help"});
    EXPECT_EQ(help.exit_code, 0) << group;
    EXPECT_NE(help.out.find("kmsctl"), std::string::npos);
  }
  KmsctlRun help = Kmsctl({"dek", "bulk-rewrap", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: kmsctl dek bulk-rewrap --in"), std::string::npos) << help.out;
}

TEST_F(KmsctlTest, Scram_ChangeOneTimePassword_ThenWorkWithPasswordAndToken) {
  std::filesystem::path one_time = WriteFile("one-time", OneTimePassword() + "\n");
  std::filesystem::path fresh = WriteFile("fresh", "correct horse battery staple\n");

  std::vector<std::string> as_admin = As("");
  as_admin.insert(as_admin.end(), {"--user", "admin", "--password-file", one_time.string()});
  std::vector<std::string> change = as_admin;
  change.insert(change.end(), {"principals", "set-password", "admin", "--new-password-file",
                               fresh.string(), "--iterations", "4096", "--json"});
  KmsctlRun changed = Kmsctl(change);
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(changed.Json()["principal"], "user:admin");

  // The password now comes from the environment, as in CI.
  std::vector<std::string> list = As("");
  list.insert(list.end(), {"--user", "admin", "keys", "list", "--json"});
  KmsctlRun keys = Kmsctl(list, "", "WEFTKIT_PASSWORD='correct horse battery staple'");
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_TRUE(keys.Json()["keys"].is_array());

  // login prints a token that later commands can use instead of the password.
  std::vector<std::string> login = As("");
  login.insert(login.end(), {"--user", "admin", "login"});
  KmsctlRun token = Kmsctl(login, "", "WEFTKIT_PASSWORD='correct horse battery staple'");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::filesystem::path token_file = WriteFile("token", token.out);
  std::vector<std::string> with_token = As("");
  with_token.insert(with_token.end(), {"--token-file", token_file.string(), "roles", "list"});
  KmsctlRun roles = Kmsctl(with_token);
  ASSERT_EQ(roles.exit_code, 0) << roles.err;
  EXPECT_NE(roles.out.find("key-officer"), std::string::npos) << roles.out;

  // Last, because a failure throttles the name for a second.
  KmsctlRun refused = Kmsctl(list, "", "WEFTKIT_PASSWORD='not the password at all'");
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
}

TEST_F(KmsctlTest, Access_PrincipalsRolesBindingsAndTokens) {
  std::string payments = "spiffe://weftkit.dev/engine/payments";
  KmsctlRun created = Kmsctl("admin", {"principals", "create", payments, "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_EQ(Kmsctl("admin", {"bindings", "add", payments, "engine"}).exit_code, 0);
  KmsctlRun bindings = Kmsctl("admin", {"bindings", "list", "--principal", payments, "--json"});
  ASSERT_EQ(bindings.exit_code, 0) << bindings.err;
  EXPECT_EQ(bindings.Json()["bindings"][0]["role"], "engine");
  KmsctlRun shown = Kmsctl("admin", {"principals", "show", payments, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.Json()["roles"][0], "engine");
  ASSERT_EQ(Kmsctl("admin", {"bindings", "remove", payments, "engine"}).exit_code, 0);

  std::filesystem::path role = WriteFile(
      "role.json",
      R"({"description":"reads keys","permissions":)"
      R"([{"effect":"allow","actions":["key.read"],"resources":["key/*"]}]})");
  KmsctlRun role_created =
      Kmsctl("admin", {"roles", "create", "key-reader", "--file", role.string(), "--json"});
  ASSERT_EQ(role_created.exit_code, 0) << role_created.err;
  EXPECT_EQ(role_created.Json()["name"], "key-reader");

  KmsctlRun token = Kmsctl("officer", {"tokens", "issue", "--json"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_EQ(token.Json()["token_type"], "Bearer");
}

TEST_F(KmsctlTest, Profile_SuppliesServerAndCredentials) {
  CreateKey("orders");
  std::filesystem::path profile =
      WriteFile("kmsctl.conf", "server = " + Server() + "\nca = " + kmsd_->pki("ca.pem").string() +
                                   "\ncert = " + kmsd_->pki("officer.pem").string() +
                                   "\nkey = " + kmsd_->pki("officer.key").string() + "\n");
  KmsctlRun shown = Kmsctl({"--profile", profile.string(), "keys", "show", "orders", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.Json()["name"], "orders");

  // The default location, ~/.config/weftkit/kmsctl.conf (HOME is the test's folder).
  std::filesystem::create_directories(work_ / ".config" / "weftkit");
  std::filesystem::copy_file(profile, work_ / ".config" / "weftkit" / "kmsctl.conf");
  EXPECT_EQ(Kmsctl({"keys", "show", "orders"}).exit_code, 0);
}

TEST_F(KmsctlTest, BulkRewrap_MovesEnvelopesToNewPrimary_AndKeepsEveryLine) {
  CreateKey("orders");
  client::KmsClientOptions options;
  options.port = static_cast<std::uint16_t>(kmsd_->port());
  options.ca_file = kmsd_->pki("ca.pem").string();
  options.cert_file = kmsd_->pki("engine.pem").string();
  options.key_file = kmsd_->pki("engine.key").string();
  options.cache.max_entries = 0;
  auto engine = client::KmsClient::Create(options);
  ASSERT_TRUE(engine.ok());

  std::string input;
  std::vector<std::string> plaintexts;
  for (int i = 0; i < 40; ++i) {
    client::EncryptionContext context = {{"page", std::to_string(i)}};
    auto dek = (*engine)->GenerateDataKey("orders", context);
    ASSERT_TRUE(dek.ok());
    plaintexts.push_back(Base64Encode(dek->plaintext.expose()));
    input += json{{"id", i}, {"wrapped", dek->wrapped}, {"context", {{"page", std::to_string(i)}}}}
                 .dump() +
             "\n";
    if (i == 20) input += "this line is not json\n";
  }
  std::filesystem::path in = WriteFile("envelopes.jsonl", input);
  ASSERT_EQ(Kmsctl("officer", {"keys", "rotate", "orders"}).exit_code, 0);

  std::filesystem::path out = work_ / "rewrapped.jsonl";
  KmsctlRun run = Kmsctl("engine", {"dek", "bulk-rewrap", "--in", in.string(), "--out",
                                    out.string(), "--batch", "16"});
  EXPECT_EQ(run.exit_code, 9) << run.err;  // the bad line failed alone
  EXPECT_NE(run.err.find("41 envelopes, 40 moved to a newer version, 1 failed"), std::string::npos)
      << run.err;

  std::istringstream lines(ReadText(out));
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    json item = json::parse(line);
    ++count;
    if (item.contains("error")) {
      EXPECT_EQ(item["error"]["code"], "invalid_line") << line;
      EXPECT_EQ(item["input"], "this line is not json");
      continue;
    }
    int id = item["id"];
    EXPECT_EQ(item["key_version"], 2);
    auto dek = (*engine)->Unwrap("orders", item["wrapped"], {{"page", std::to_string(id)}});
    ASSERT_TRUE(dek.ok()) << dek.error().ToString();
    EXPECT_EQ(Base64Encode(dek->expose()), plaintexts[id]);
  }
  EXPECT_EQ(count, 41);

  // A second pass changes nothing: every envelope is already under the primary.
  std::filesystem::path again = work_ / "again.jsonl";
  KmsctlRun second =
      Kmsctl("engine", {"dek", "bulk-rewrap", "--in", out.string(), "--out", again.string()});
  EXPECT_NE(second.err.find("0 moved"), std::string::npos) << second.err;
}

TEST_F(KmsctlTest, Audit_CheckpointTailVerifyExportAndReport) {
  CreateKey("orders");
  ASSERT_EQ(Kmsctl("officer", {"keys", "rotate", "orders"}).exit_code, 0);
  KmsctlRun checkpoint = Kmsctl("admin", {"audit", "checkpoint", "--json"});
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;
  EXPECT_GT(checkpoint.Json()["tree_size"].get<int>(), 0);

  KmsctlRun tail = Kmsctl("admin", {"audit", "tail", "--lines", "3", "--json"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(tail.Json()["entries"].size(), 3u) << tail.out;

  KmsctlRun verified = Kmsctl("admin", {"audit", "verify", "--page-size", "4", "--json"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  EXPECT_EQ(verified.Json()["ok"], true);
  EXPECT_EQ(verified.Json()["finding"], "none");
  EXPECT_GE(verified.Json()["checkpoints_verified"].get<int>(), 1);

  std::filesystem::path exported = work_ / "audit.jsonl";
  KmsctlRun exporting =
      Kmsctl("admin", {"audit", "export", "--format", "jsonl", "--out", exported.string()});
  ASSERT_EQ(exporting.exit_code, 0) << exporting.err;
  std::istringstream lines(ReadText(exported));
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++count;
  }
  EXPECT_GT(count, 5);
  EXPECT_NE(exporting.err.find("audit export: " + std::to_string(count) + " entries"),
            std::string::npos)
      << exporting.err;

  KmsctlRun report = Kmsctl("admin", {"audit", "report"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(report.Json().is_object()) << report.out;
  KmsctlRun review = Kmsctl("admin", {"audit", "access-review", "--format", "csv"});
  ASSERT_EQ(review.exit_code, 0) << review.err;
  EXPECT_NE(review.out.find("spiffe://weftkit.dev/officer/alice"), std::string::npos);

  EXPECT_EQ(Kmsctl("engine", {"audit", "verify"}).exit_code, 3);
}

// Retention through the real kmsd: the archiver moves the oldest entries into files while the
// server runs; after a restart (without retention, so nothing moves while the test reads) the
// archived positions are refused with a clear code, their proofs still verify, and
// `kmsctl audit verify --archives` spans files and live entries and names a damaged file.
class KmsctlRetentionTest : public KmsctlTest {
 protected:
  test::KmsdOptions Options() override {
    test::KmsdOptions options;
    options.settings["audit.checkpoint_interval_s"] = "1";
    options.settings["audit.archive_interval_s"] = "1";
    options.settings["audit.keep_entries"] = "3";
    options.prepare = [](test::KmsdOptions& o, const std::filesystem::path& pki_dir) {
      std::filesystem::path archives = pki_dir.parent_path() / "audit-archive";
      std::filesystem::create_directories(archives);
      o.settings["audit.archive_directory"] = archives.string();
    };
    return options;
  }

  std::filesystem::path Archives() const { return kmsd_->dir() / "audit-archive"; }

  // Restarts kmsd with the retention settings taken out of its configuration.
  void RestartWithoutRetention() {
    std::istringstream lines(ReadText(kmsd_->dir() / "kmsd.conf"));
    std::string line, kept;
    while (std::getline(lines, line)) {
      if (line.rfind("archive_", 0) == 0 || line.rfind("keep_entries", 0) == 0) continue;
      kept += line + "\n";
    }
    std::ofstream(kmsd_->dir() / "kmsd.conf", std::ios::trunc) << kept;
    kmsd_->Restart();
    admin_ = kmsd_->Client("admin");
    ASSERT_NE(admin_, nullptr);
  }
};

TEST_F(KmsctlRetentionTest, Audit_VerifyAcrossArchives_AndArchivedPositionsAreRefused) {
  CreateKey("orders");
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/rotate", json::object()).status, 200);
  }
  // The archiver runs every second; wait (bounded) until entry 0 has left the database.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Call(*admin_, "GET", "/v1/audit/entries?start=0&limit=1").status != 404) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << kmsd_->Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  RestartWithoutRetention();

  test::HttpResponse archived = Call(*admin_, "GET", "/v1/audit/entries?start=0&limit=1");
  EXPECT_EQ(archived.status, 404);
  EXPECT_EQ(Code(archived), "audit_entry_archived");
  test::HttpResponse exported = Call(*admin_, "GET", "/v1/audit/export?format=jsonl&from=0");
  EXPECT_EQ(exported.status, 404);
  EXPECT_EQ(Code(exported), "audit_entry_archived");
  std::uint64_t first_live =
      Json(Call(*admin_, "GET", "/v1/audit/entries?start=1000000&limit=1"))["first_index"];
  EXPECT_GT(first_live, 0u);

  // Entry 0's proof against the newest signed checkpoint, with its leaf hash from the file.
  std::vector<std::filesystem::path> files = audit::ListArchiveFiles(Archives()).value();
  ASSERT_FALSE(files.empty());
  audit::ArchiveContents oldest =
      audit::DecodeArchive(audit::ReadArchiveBytes(files.front()).value()).value();
  json latest = Json(Call(*admin_, "GET", "/v1/audit/checkpoints/latest"));
  std::uint64_t size = latest["tree_size"];
  json proof = Json(
      Call(*admin_, "GET", "/v1/audit/proofs/inclusion?index=0&tree_size=" + std::to_string(size)));
  std::vector<audit::Hash> path;
  for (const json& hex : proof["proof"])
    path.push_back(audit::HashFromHex(hex.get<std::string>()).value());
  EXPECT_TRUE(
      audit::VerifyInclusion(oldest.entries.at(0).leaf_hash, 0, size, path,
                             audit::HashFromHex(latest["root_hash"].get<std::string>()).value()));

  KmsctlRun verified =
      Kmsctl("admin", {"audit", "verify", "--archives", Archives().string(), "--json"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  EXPECT_EQ(verified.Json()["finding"], "none");
  EXPECT_GT(verified.Json()["entries"].get<std::uint64_t>(), first_live);

  KmsctlRun without = Kmsctl("admin", {"audit", "verify", "--json"});
  EXPECT_EQ(without.exit_code, 7) << without.err << without.out;
  EXPECT_EQ(without.Json()["finding"], "archive_missing");

  // A copy of the archives with one byte of the oldest file flipped.
  std::filesystem::path copy = work_ / "archive-copy";
  std::filesystem::copy(Archives(), copy);
  std::vector<std::uint8_t> bytes =
      audit::ReadArchiveBytes(copy / files.front().filename()).value();
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(copy / files.front().filename(), std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  KmsctlRun damaged = Kmsctl("admin", {"audit", "verify", "--archives", copy.string(), "--json"});
  EXPECT_EQ(damaged.exit_code, 7) << damaged.err << damaged.out;
  EXPECT_EQ(damaged.Json()["finding"], "archive_corrupt");
  EXPECT_EQ(damaged.Json()["file"], files.front().filename().string());
}

}  // namespace
}  // namespace weftkit::kmsctl
