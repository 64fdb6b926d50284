// KmsClient against the real kmsd over TLS 1.3: DEK operations and batches, the connection pool,
// the cache's expiry, typed errors, trust and pins, SCRAM logins, and retries across a restart.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "client/kms_client.h"
#include "common/base64.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::client {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using test::KmsdTest;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class KmsClientTest : public KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    CreateKey("orders");
  }

  // Options for a client with the certificate `identity` ("engine", "officer", ...), or none.
  KmsClientOptions OptionsFor(const std::string& identity) {
    KmsClientOptions options;
    options.port = static_cast<std::uint16_t>(kmsd_->port());
    options.ca_file = kmsd_->pki("ca.pem").string();
    if (!identity.empty()) {
      options.cert_file = kmsd_->pki(identity + ".pem").string();
      options.key_file = kmsd_->pki(identity + ".key").string();
    }
    options.retry.initial_backoff = milliseconds(20);
    options.retry.max_backoff = milliseconds(200);
    options.clock = [this] { return std::chrono::steady_clock::now() + clock_offset_.load(); };
    return options;
  }

  std::unique_ptr<KmsClient> Make(const KmsClientOptions& options) {
    auto client = KmsClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.error().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<KmsClient> MakeFor(const std::string& identity) {
    return Make(OptionsFor(identity));
  }

  // Rewrites kmsd's configuration to listen on the port it has now, so that a restart comes
  // back on the same address (KmsdProcess::Restart alone picks a new port).
  void PinPort() {
    std::filesystem::path config = kmsd_->dir() / "kmsd.conf";
    std::string text = ReadText(config);
    text = std::regex_replace(text, std::regex("listen = 127\\.0\\.0\\.1:0"),
                              "listen = 127.0.0.1:" + std::to_string(kmsd_->port()));
    std::ofstream(config, std::ios::trunc) << text;
  }

  std::atomic<std::chrono::seconds> clock_offset_{std::chrono::seconds(0)};
};

TEST_F(KmsClientTest, Unwrap_ReturnsTheGeneratedDek_OverMtls) {
  auto engine = MakeFor("engine");
  EncryptionContext context = {{"table", "payments"}};
  Result<DataKey> generated = engine->GenerateDataKey("orders", context);
  ASSERT_TRUE(generated.ok()) << generated.error().ToString();
  EXPECT_EQ(generated->key_version, 1u);
  engine->cache().Clear();

  Result<SecretBytes> unwrapped = engine->Unwrap("orders", generated->wrapped, context);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().ToString();
  EXPECT_TRUE(unwrapped->ConstantTimeEquals(generated->plaintext));
}

TEST_F(KmsClientTest, Wrap_ThenRewrap_MovesEnvelopeToNewPrimary) {
  auto engine = MakeFor("engine");
  auto officer = MakeFor("officer");
  SecretBytes dek = SecretBytes::CopyOf(std::string(32, 'k'));
  Result<WrappedKey> wrapped = engine->Wrap("orders", dek, {{"file", "7"}});
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().ToString();
  ASSERT_TRUE(officer->Call("POST", "/v1/keys/orders/rotate", nullptr, Retry::kNever).ok());

  Result<WrappedKey> moved = engine->Rewrap("orders", wrapped->wrapped, {{"file", "7"}});
  ASSERT_TRUE(moved.ok()) << moved.error().ToString();
  EXPECT_EQ(moved->key_version, 2u);
  EXPECT_NE(moved->wrapped, wrapped->wrapped);
  Result<SecretBytes> back = engine->Unwrap("orders", moved->wrapped, {{"file", "7"}});
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->ConstantTimeEquals(dek));
}

TEST_F(KmsClientTest, Pool_ReusesOneConnection_ForSequentialCalls) {
  auto officer = MakeFor("officer");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(officer->Call("GET", "/v1/keys/orders", nullptr, Retry::kIdempotent).ok());
  }
  EXPECT_EQ(officer->stats().connections_opened, 1u);
  EXPECT_EQ(officer->stats().attempts, 20u);
}

TEST_F(KmsClientTest, Pool_OpensMoreConnections_OnlyForConcurrentCalls) {
  auto officer = MakeFor("officer");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!officer->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(officer->stats().connections_opened, 1u);
  EXPECT_LE(officer->stats().connections_opened, 4u);
}

TEST_F(KmsClientTest, Unwrap_ServedFromCache_UntilTtlExpires) {
  KmsClientOptions options = OptionsFor("engine");
  options.cache.ttl = std::chrono::seconds(60);
  auto engine = Make(options);
  Result<WrappedKey> wrapped = engine->GenerateDataKeyWithoutPlaintext("orders", {});
  ASSERT_TRUE(wrapped.ok());

  ASSERT_TRUE(engine->Unwrap("orders", wrapped->wrapped, {}).ok());
  std::uint64_t after_first = engine->stats().attempts;
  ASSERT_TRUE(engine->Unwrap("orders", wrapped->wrapped, {}).ok());
  EXPECT_EQ(engine->stats().attempts, after_first);
  EXPECT_EQ(engine->stats().cache_hits, 1u);

  clock_offset_ = std::chrono::seconds(61);
  ASSERT_TRUE(engine->Unwrap("orders", wrapped->wrapped, {}).ok());
  EXPECT_EQ(engine->stats().attempts, after_first + 1);
}

TEST_F(KmsClientTest, BatchUnwrap_UnwrapsAllInBatches_AndFailsOnlyTheBadItem) {
  auto engine = MakeFor("engine");
  json items = json::array();
  for (int i = 0; i < 300; ++i) items.push_back({{"context", {{"page", std::to_string(i)}}}});
  auto generated = engine->Call("POST", "/v1/keys/orders/batch/generate-data-key",
                                {{"items", items}}, Retry::kSafeToRepeat);
  ASSERT_TRUE(generated.ok()) << generated.error().ToString();
  std::vector<EnvelopeItem> envelopes;
  for (int i = 0; i < 300; ++i) {
    envelopes.push_back({generated->body["results"][i]["wrapped"], {{"page", std::to_string(i)}}});
  }
  envelopes[7].context = {{"page", "wrong"}};
  engine->cache().Clear();
  std::uint64_t before = engine->stats().attempts;

  auto deks = engine->BatchUnwrap("orders", envelopes, 128);
  ASSERT_TRUE(deks.ok()) << deks.error().ToString();
  EXPECT_EQ(engine->stats().attempts - before, 3u);  // 128 + 128 + 44
  ASSERT_EQ(deks->size(), 300u);
  for (int i = 0; i < 300; ++i) {
    if (i == 7) {
      ASSERT_FALSE((*deks)[i].ok());
      EXPECT_EQ(ServerErrorOf((*deks)[i].error()), ServerError::kEnvelopeAuthenticationFailed);
      continue;
    }
    ASSERT_TRUE((*deks)[i].ok()) << i << " " << (*deks)[i].error().ToString();
    auto expected = Base64Decode(generated->body["results"][i]["plaintext"].get<std::string>());
    EXPECT_TRUE((*deks)[i]->ConstantTimeEquals(SecretBytes::CopyOf(*expected))) << i;
  }
  // Everything that succeeded is now cached: a second start-up sends nothing.
  auto again = engine->BatchUnwrap("orders", {envelopes[0], envelopes[1]});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(engine->stats().attempts - before, 3u);
}

TEST_F(KmsClientTest, Errors_AreTypedWithTheProblemCode) {
  auto engine = MakeFor("engine");
  auto officer = MakeFor("officer");
  Result<DataKey> generated = engine->GenerateDataKey("orders", {{"a", "1"}});
  ASSERT_TRUE(generated.ok());

  Result<SecretBytes> wrong_context = engine->Unwrap("orders", generated->wrapped, {{"a", "2"}});
  ASSERT_FALSE(wrong_context.ok());
  EXPECT_EQ(wrong_context.error().code(), "envelope_authentication_failed");
  EXPECT_EQ(wrong_context.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_EQ(ServerErrorOf(wrong_context.error()), ServerError::kEnvelopeAuthenticationFailed);

  Result<DataKey> not_owned = engine->GenerateDataKey("payments", {});
  ASSERT_FALSE(not_owned.ok());
  EXPECT_EQ(ServerErrorOf(not_owned.error()), ServerError::kForbidden);

  auto missing = officer->Call("GET", "/v1/keys/nope", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ServerErrorOf(missing.error()), ServerError::kKeyNotFound);
  EXPECT_NE(missing.error().detail().find("request id "), std::string::npos);

  auto anonymous = MakeFor("")->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(ServerErrorOf(anonymous.error()), ServerError::kCredentialsRequired);
}

TEST_F(KmsClientTest, Connect_Fails_WithAnotherCa) {
  KmsClientOptions options = OptionsFor("engine");
  options.ca_file = kmsd_->pki("rogue-ca.pem").string();
  options.retry.max_attempts = 1;
  auto result = Make(options)->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), kConnectFailed);
}

TEST_F(KmsClientTest, Connect_Fails_WhenHostNameDiffers) {
  KmsClientOptions options = OptionsFor("engine");
  options.host = "127.0.0.2";  // routes to the same loopback server, not in its certificate
  options.retry.max_attempts = 1;
  auto result = Make(options)->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), kConnectFailed);
}

TEST_F(KmsClientTest, Pin_AcceptsServerKey_AndRefusesAnyOther) {
  // The pin of the real server certificate, computed independently of the library.
  FILE* file = std::fopen(kmsd_->pki("server.pem").c_str(), "r");
  ASSERT_NE(file, nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_NE(cert, nullptr);
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  std::uint8_t digest[32];
  EVP_Digest(der, static_cast<std::size_t>(length), digest, nullptr, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  X509_free(cert);

  KmsClientOptions options = OptionsFor("officer");
  options.pinned_server_spki_sha256 = {Base64Encode(digest)};
  EXPECT_TRUE(Make(options)->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent).ok());

  digest[0] ^= 1;
  options.pinned_server_spki_sha256 = {Base64Encode(digest)};
  auto refused = Make(options)->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), kPinMismatch);
}

TEST_F(KmsClientTest, Create_Fails_ForMissingCaOrMismatchedKey) {
  KmsClientOptions options = OptionsFor("engine");
  options.ca_file = (kmsd_->dir() / "missing.pem").string();
  EXPECT_EQ(KmsClient::Create(options).error().code(), kInvalidOption);
  options = OptionsFor("engine");
  options.key_file = kmsd_->pki("officer.key").string();
  EXPECT_EQ(KmsClient::Create(options).error().code(), kInvalidOption);
}

TEST_F(KmsClientTest, Retry_RecoversAcrossServerRestart_ForIdempotentCall) {
  auto engine = MakeFor("engine");
  Result<DataKey> generated = engine->GenerateDataKey("orders", {});
  ASSERT_TRUE(generated.ok());
  engine->cache().Clear();
  PinPort();
  ASSERT_EQ(kmsd_->Stop(), 0);

  // The client retries in the background while the server is down for about a second, then
  // comes back on the same port and state. (kmsd is restarted from this thread: it dies with the
  // thread that forked it.)
  KmsClientOptions options = OptionsFor("engine");
  options.retry = RetryPolicy{60, milliseconds(50), milliseconds(500), milliseconds(60000)};
  auto patient = Make(options);
  std::optional<Result<SecretBytes>> unwrapped;
  std::thread caller([&] { unwrapped = patient->Unwrap("orders", generated->wrapped, {}); });
  std::this_thread::sleep_for(milliseconds(1000));
  kmsd_->Restart();
  caller.join();
  int port_after = kmsd_->port();

  EXPECT_EQ(port_after, options.port);
  ASSERT_TRUE(unwrapped->ok()) << unwrapped->error().ToString() << kmsd_->Log();
  EXPECT_TRUE((*unwrapped)->ConstantTimeEquals(generated->plaintext));
  EXPECT_GT(patient->stats().retries, 0u);
  // The old client's pooled connection died with the server; it reconnects by itself.
  EXPECT_TRUE(engine->Unwrap("orders", generated->wrapped, {}).ok());
}

TEST_F(KmsClientTest, Retry_NeverRepeatsRotate_WhenServerIsDown) {
  KmsClientOptions options = OptionsFor("officer");
  options.retry = RetryPolicy{5, milliseconds(1), milliseconds(2), milliseconds(10000)};
  auto officer = Make(options);
  ASSERT_EQ(kmsd_->Stop(), 0);

  auto rotated = officer->Call("POST", "/v1/keys/orders/rotate", nullptr, Retry::kNever);
  ASSERT_FALSE(rotated.ok());
  EXPECT_TRUE(IsTransient(rotated.error()));
  EXPECT_EQ(officer->stats().attempts, 1u);
  EXPECT_EQ(officer->stats().retries, 0u);

  // The same outage, for an idempotent read: every allowed attempt is made.
  auto read = officer->Call("GET", "/v1/keys/orders", nullptr, Retry::kIdempotent);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(officer->stats().attempts, 6u);
  EXPECT_EQ(officer->stats().retries, 4u);
}

TEST_F(KmsClientTest, LoginWithPassword_GetsTokenThatAuthorizesCalls) {
  std::smatch match;
  std::string out = kmsd_->Stdout();
  ASSERT_TRUE(std::regex_search(out, match, std::regex("one-time password (\\S+)"))) << out;
  const std::string one_time = match[1];
  const std::string fresh = "a new passphrase for the admin";

  auto person = MakeFor("");
  Result<LoginResult> first = person->LoginWithPassword("admin", SecretBytes::CopyOf(one_time));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(first->must_change_password);
  ASSERT_TRUE(person
                  ->Call("PUT", "/v1/principals/admin/password",
                         {{"password", fresh}, {"iterations", 4096}}, Retry::kNever)
                  .ok());

  auto admin = MakeFor("");
  Result<LoginResult> second = admin->LoginWithPassword("admin", SecretBytes::CopyOf(fresh));
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_FALSE(second->must_change_password);
  auto keys = admin->Call("GET", "/v1/keys", nullptr, Retry::kIdempotent);
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  EXPECT_EQ(keys->body["keys"][0]["name"], "orders");

  auto wrong = MakeFor("")->LoginWithPassword("admin", SecretBytes::CopyOf(std::string("nope")));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(ServerErrorOf(wrong.error()), ServerError::kScramFailed);
}

}  // namespace
}  // namespace weftkit::client
