// The audit log through the real kmsd: every request leaves an entry with the right fields,
// durable before its answer; no secret ever reaches the audit database; checkpoints are signed
// in the HSM and verify with the published keys, together with the proofs the server serves;
// and a server whose audit store cannot write refuses to operate (fail closed).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/entry_json.h"
#include "audit/merkle_tree.h"
#include "audit/verifier.h"
#include "common/base64.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

class AuditLogE2eTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    // Short, so that the fail-closed test does not wait long for a lock it holds.
    options.settings["store.busy_timeout_ms"] = "200";
    return options;
  }

  // The entries up to the size the first page reports: reading adds entries of its own, so
  // "until a page comes back empty" would never end.
  std::vector<audit::AuditEntry> AllEntries() {
    std::vector<audit::AuditEntry> entries;
    std::optional<std::uint64_t> size;
    while (!size || entries.size() < *size) {
      HttpResponse page = Call(
          *admin_, "GET", "/v1/audit/entries?limit=1000&start=" + std::to_string(entries.size()));
      EXPECT_EQ(page.status, 200) << page.body;
      nlohmann::json body = Json(page);
      if (!body.is_object() || !body["entries"].is_array() || body["entries"].empty()) break;
      if (!size) size = body["tree_size"].get<std::uint64_t>();
      for (const nlohmann::json& item : body["entries"]) {
        entries.push_back(*audit::EntryFromJson(item));
      }
    }
    return entries;
  }

  // The entry of the request answered by `response`.
  std::optional<audit::AuditEntry> EntryOf(const HttpResponse& response) {
    std::string id = response.Header("x-request-id");
    for (audit::AuditEntry& entry : AllEntries()) {
      if (entry.request_id == id) return entry;
    }
    return std::nullopt;
  }

  std::string FileBytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path AuditDb() const { return kmsd_->dir() / "audit.db"; }
};

TEST_F(AuditLogE2eTest, Entries_DescribeEveryKindOfRequest) {
  CreateKey("orders");
  HttpResponse generated = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                                {{"context", {{"table", "orders"}}}});
  ASSERT_EQ(generated.status, 200);
  HttpResponse unwrapped =
      Call(*engine_, "POST", "/v1/keys/orders/unwrap",
           {{"wrapped", Json(generated)["wrapped"]}, {"context", {{"table", "orders"}}}});
  ASSERT_EQ(unwrapped.status, 200);
  HttpResponse denied = Call(*engine_, "POST", "/v1/keys", {{"name", "stolen"}});
  ASSERT_EQ(denied.status, 403);
  HttpResponse missing = Call(*admin_, "GET", "/v1/no-such-route");
  ASSERT_EQ(missing.status, 404);

  std::optional<audit::AuditEntry> unwrap = EntryOf(unwrapped);
  ASSERT_TRUE(unwrap.has_value());
  EXPECT_EQ(unwrap->principal, "spiffe://weftkit.dev/engine/orders");
  EXPECT_EQ(unwrap->auth_method, "mtls");
  EXPECT_EQ(unwrap->action, "dek.unwrap");
  EXPECT_EQ(unwrap->resource, "key/orders");
  EXPECT_EQ(unwrap->key_name, "orders");
  EXPECT_EQ(unwrap->key_version, 1u);  // read from the envelope by the handler
  EXPECT_EQ(unwrap->decision, "allow");
  EXPECT_FALSE(unwrap->rule.empty());
  EXPECT_EQ(unwrap->outcome, "success");
  EXPECT_EQ(unwrap->status, 200);
  EXPECT_FALSE(unwrap->peer.empty());

  std::optional<audit::AuditEntry> refusal = EntryOf(denied);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->action, "key.create");
  EXPECT_EQ(refusal->decision, "deny");
  EXPECT_EQ(refusal->outcome, "failure");
  EXPECT_EQ(refusal->status, 403);
  EXPECT_EQ(refusal->error_code, "forbidden");

  // Refused on the I/O thread, recorded without waiting: it lands shortly after.
  std::optional<audit::AuditEntry> not_found;
  for (int i = 0; i < 50 && !not_found; ++i) {
    not_found = EntryOf(missing);
    if (!not_found) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(not_found.has_value());
  EXPECT_EQ(not_found->error_code, "route_not_found");
  EXPECT_EQ(not_found->resource, "/v1/no-such-route");
}

TEST_F(AuditLogE2eTest, Entries_NameThePolicyVersionPublishedAndFetched) {
  const nlohmann::json document = {
      {"format", "weftkit.policy/v1"},
      {"roles",
       {{{"name", "reader"},
         {"grants",
          {{{"database_type", "relational"}, {"actions", {"select"}}, {"resources", {"a.*"}}}}}}}},
      {"bindings", {{{"principal", "alice"}, {"roles", {"reader"}}}}}};
  HttpResponse published = Call(*officer_, "POST", "/v1/policy/scopes/cluster/audited/versions",
                                {{"document", document}, {"base_version", 0}});
  ASSERT_EQ(published.status, 201) << published.body;
  HttpResponse fetched = Call(*engine_, "GET", "/v1/policy/scopes/cluster/audited/bundle");
  ASSERT_EQ(fetched.status, 200) << fetched.body;

  std::optional<audit::AuditEntry> publish = EntryOf(published);
  ASSERT_TRUE(publish.has_value());
  EXPECT_EQ(publish->action, "policy.publish");
  EXPECT_EQ(publish->resource, "policy/cluster/audited");
  EXPECT_EQ(publish->policy_version, 1u);
  EXPECT_EQ(publish->outcome, "success");
  std::optional<audit::AuditEntry> fetch = EntryOf(fetched);
  ASSERT_TRUE(fetch.has_value());
  EXPECT_EQ(fetch->action, "policy.fetch");
  EXPECT_EQ(fetch->policy_version, 1u);
}

TEST_F(AuditLogE2eTest, Entries_RecordTheBootstrapAdministratorsBeforeTheStart) {
  std::vector<std::string> first;
  for (const audit::AuditEntry& entry : AllEntries()) {
    if (first.size() == 3) break;
    EXPECT_EQ(entry.principal, "kmsd");
    EXPECT_EQ(entry.request_id, "");
    first.push_back(entry.action + " " + entry.resource);
  }
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0], "rbac.bootstrap_admin principal/spiffe://weftkit.dev/admin/first-admin")
      << first[0];
  EXPECT_EQ(first[1].rfind("rbac.bootstrap_admin principal/", 0), 0u) << first[1];
  EXPECT_EQ(first[2], "server.start server");
}

TEST_F(AuditLogE2eTest, Entries_RecordAuthenticationFailures) {
  auto anonymous = kmsd_->Client("");
  ASSERT_NE(anonymous, nullptr);
  auto refused = anonymous->Send("GET", "/v1/keys", "", {{"authorization", "Bearer not.a.jwt"}});
  ASSERT_TRUE(refused.ok());
  ASSERT_EQ(refused->status, 401);
  std::optional<audit::AuditEntry> entry = EntryOf(*refused);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->principal, "");
  EXPECT_EQ(entry->auth_method, "jwt");
  EXPECT_EQ(entry->outcome, "failure");
  EXPECT_EQ(entry->status, 401);
  EXPECT_FALSE(entry->error_code.empty());
}

TEST_F(AuditLogE2eTest, AuditDatabase_NeverHoldsTheSecretsOfTheRequests) {
  CreateKey("orders");
  std::vector<std::string> secrets;
  HttpResponse generated = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                                {{"context", {{"table", "orders"}}}});
  ASSERT_EQ(generated.status, 200);
  secrets.push_back(Json(generated)["plaintext"]);
  const std::string own_plaintext = Base64Encode(AsBytes("our very own data key 0123456789"));
  secrets.push_back(own_plaintext);
  HttpResponse wrapped = Call(*engine_, "POST", "/v1/keys/orders/wrap",
                              {{"plaintext", own_plaintext}, {"context", {{"table", "orders"}}}});
  ASSERT_EQ(wrapped.status, 200) << wrapped.body;
  HttpResponse token = Call(*officer_, "POST", "/v1/auth/tokens", nlohmann::json::object());
  ASSERT_EQ(token.status, 200) << token.body;
  secrets.push_back(Json(token)["access_token"]);
  auto bearer = kmsd_->Client("");
  ASSERT_NE(bearer, nullptr);
  auto with_token =
      bearer->Send("GET", "/v1/keys", "", {{"authorization", "Bearer " + secrets.back()}});
  ASSERT_TRUE(with_token.ok());
  const std::string password = "correct horse battery staple 42";
  secrets.push_back(password);
  HttpResponse set =
      Call(*admin_, "PUT", "/v1/principals/carol/password", {{"password", password}});
  ASSERT_EQ(set.status, 200) << set.body;
  secrets.push_back(kmsd_->token().pin());

  ASSERT_GT(AllEntries().size(), 5u);
  std::string everything = FileBytes(AuditDb()) + FileBytes(AuditDb().string() + "-wal");
  ASSERT_FALSE(everything.empty());
  for (const std::string& secret : secrets) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << "a secret reached the audit database";
    auto raw = Base64Decode(secret);
    if (raw.ok() && raw->size() >= 16) {
      std::string bytes(raw->begin(), raw->end());
      EXPECT_EQ(everything.find(bytes), std::string::npos) << "raw secret bytes in the database";
    }
  }
}

TEST_F(AuditLogE2eTest, Checkpoints_VerifyWithThePublishedKeys_AndTheServedProofs) {
  CreateKey("orders");
  HttpResponse first = Call(*admin_, "POST", "/v1/audit/checkpoints");
  ASSERT_EQ(first.status, 201) << first.body;
  Call(*officer_, "POST", "/v1/keys/orders/rotate");
  HttpResponse second = Call(*admin_, "POST", "/v1/audit/checkpoints");
  ASSERT_EQ(second.status, 201) << second.body;

  auto anonymous = kmsd_->Client("");
  ASSERT_NE(anonymous, nullptr);
  auto keys_response = anonymous->Send("GET", "/v1/audit/keys", "", {});
  ASSERT_TRUE(keys_response.ok());
  auto keys = audit::CheckpointKeysFromJwkSet(nlohmann::json::parse(keys_response->body));
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  audit::Checkpoint a = *audit::CheckpointFromJson(Json(first));
  audit::Checkpoint b = *audit::CheckpointFromJson(Json(second));
  ASSERT_LT(a.tree_size, b.tree_size);
  EXPECT_TRUE(*audit::VerifyCheckpointSignature(a, *keys));
  EXPECT_TRUE(*audit::VerifyCheckpointSignature(b, *keys));

  // The whole log, fetched over HTTPS, against both checkpoints.
  // Bounded by the newest checkpoint: every page read adds an entry of its own.
  auto fetch = [this, &b](std::uint64_t start,
                          std::size_t limit) -> Result<std::vector<audit::AuditEntry>> {
    if (start >= b.tree_size) return std::vector<audit::AuditEntry>();
    limit = std::min<std::size_t>(limit, b.tree_size - start);
    HttpResponse page = Call(*admin_, "GET",
                             "/v1/audit/entries?start=" + std::to_string(start) +
                                 "&limit=" + std::to_string(std::min<std::size_t>(limit, 1000)));
    std::vector<audit::AuditEntry> entries;
    nlohmann::json body = Json(page);  // a named value: the loop must not range over a temporary
    for (const nlohmann::json& item : body["entries"]) {
      WK_ASSIGN_OR_RETURN(audit::AuditEntry entry, audit::EntryFromJson(item));
      entries.push_back(std::move(entry));
    }
    return entries;
  };
  std::vector<audit::Checkpoint> checkpoints = {a, b};
  audit::VerificationReport report = *audit::VerifyAuditLog(fetch, checkpoints, *keys);
  EXPECT_TRUE(report.ok()) << report.detail;
  EXPECT_EQ(report.checkpoints_verified, 2u);

  HttpResponse inclusion =
      Call(*admin_, "GET",
           "/v1/audit/proofs/inclusion?index=1&tree_size=" + std::to_string(b.tree_size));
  ASSERT_EQ(inclusion.status, 200) << inclusion.body;
  nlohmann::json inclusion_body = Json(inclusion);
  std::vector<audit::Hash> path;
  for (const auto& hex : inclusion_body["proof"]) {
    path.push_back(*audit::HashFromHex(hex.get<std::string>()));
  }
  audit::Hash leaf = *audit::HashFromHex(inclusion_body["leaf_hash"].get<std::string>());
  EXPECT_TRUE(audit::VerifyInclusion(leaf, 1, b.tree_size, path, b.root));

  HttpResponse consistency =
      Call(*admin_, "GET",
           "/v1/audit/proofs/consistency?first=" + std::to_string(a.tree_size) +
               "&second=" + std::to_string(b.tree_size));
  ASSERT_EQ(consistency.status, 200) << consistency.body;
  nlohmann::json consistency_body = Json(consistency);
  std::vector<audit::Hash> proof;
  for (const auto& hex : consistency_body["proof"]) {
    proof.push_back(*audit::HashFromHex(hex.get<std::string>()));
  }
  EXPECT_TRUE(audit::VerifyConsistency(a.tree_size, b.tree_size, a.root, b.root, proof));

  HttpResponse bad = Call(*admin_, "GET", "/v1/audit/proofs/inclusion?index=1&tree_size=1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Code(bad), "audit_bad_proof_request");
  HttpResponse unknown = Call(*admin_, "GET", "/v1/audit/entries?start=0&evil=1");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Code(unknown), "invalid_query");
}

TEST_F(AuditLogE2eTest, Server_FailsClosed_WhileTheAuditStoreCannotWrite) {
  CreateKey("orders");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(AuditDb().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  // The request's effect took place, but its entry could not be written: 503, not 200.
  HttpResponse rotated = Call(*officer_, "POST", "/v1/keys/orders/rotate");
  EXPECT_EQ(rotated.status, 503) << rotated.body;
  EXPECT_EQ(Code(rotated), "audit_unavailable");
  // Nothing further is done while the audit store fails.
  HttpResponse next = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                           {{"context", {{"table", "orders"}}}});
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(Code(next), "audit_unavailable");
  EXPECT_EQ(Json(next).contains("plaintext"), false);
  auto anonymous = kmsd_->Client("");
  ASSERT_NE(anonymous, nullptr);
  auto ready = anonymous->Send("GET", "/readyz", "", {});
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 503);

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  // The first request after the store recovers is refused while health is restored by its own
  // (successful) entry; the next one goes through.
  Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", {{"context", {{"table", "orders"}}}});
  HttpResponse recovered = Call(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                                {{"context", {{"table", "orders"}}}});
  EXPECT_EQ(recovered.status, 200) << recovered.body;
  auto ready_again = anonymous->Send("GET", "/readyz", "", {});
  ASSERT_TRUE(ready_again.ok());
  EXPECT_EQ(ready_again->status, 200);
}

}  // namespace
}  // namespace weftkit::test
