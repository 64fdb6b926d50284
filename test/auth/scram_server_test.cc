// ScramServer end to end against a real SQLite store: the RFC 7677 example, wrong passwords,
// unknown users, replayed and expired exchange ids, channel binding to the TLS exporter, the
// "y" downgrade, and throttling with lockout that survives a restart.
#include "auth/scram_server.h"

#include <gtest/gtest.h>

#include "auth/sqlite_password_store.h"
#include "common/base64.h"
#include "test/auth/scram_test_client.h"
#include "test/support/temp_dir.h"

namespace weftkit::auth {
namespace {

using scram_test::ScramTestClient;

constexpr char kRfcClientNonce[] = "rOprNGfwEbeRWgbNEkqO";
constexpr char kRfcServerNonce[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const std::string kExporter(32, '\x11');
const std::string kOtherExporter(32, '\x22');
constexpr char kPassword[] = "correct horse battery staple";

class ScramServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenStore();
    ASSERT_TRUE(store_->SetPassword("alice", SecretBytes::CopyOf(kPassword), 4096).ok());
    MakeServer();
  }

  void OpenStore() {
    store_.reset();
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto opened = SqlitePasswordStore::Open(std::shared_ptr<store::Database>(std::move(*database)));
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::shared_ptr<SqlitePasswordStore>(std::move(*opened));
  }

  void MakeServer(ScramServerOptions options = {}) {
    options.default_iterations = 4096;
    options.now_ms = [this] { return now_ms_; };
    options.throttle.max_failures = 3;
    auto server = ScramServer::Create(store_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(*server);
  }

  // Runs a whole exchange; returns the Finish result.
  Result<ScramSuccess> Login(ScramTestClient& client,
                             ScramMechanism mechanism = ScramMechanism::kSha256,
                             std::string_view first_exporter = "",
                             std::string_view final_exporter = "") {
    Result<ScramChallenge> challenge =
        server_->Start(mechanism, client.ClientFirst(), first_exporter);
    if (!challenge.ok()) return challenge.error();
    WK_ASSIGN_OR_RETURN(std::string final_message, client.ClientFinal(challenge->server_first));
    return server_->Finish(challenge->sid, mechanism, final_message, final_exporter);
  }

  Result<ScramSuccess> LoginAlice(const char* password) {
    ScramTestClient client("alice", password, "clientnonce0123");
    return Login(client);
  }

  weftkit::testing::TempDir dir_;
  std::shared_ptr<SqlitePasswordStore> store_;
  std::unique_ptr<ScramServer> server_;
  std::int64_t now_ms_ = 1'700'000'000'000;
};

TEST_F(ScramServerTest, Exchange_ReproducesRfc7677Example) {
  Result<ScramCredentials> credentials = DeriveScramCredentials(
      SecretBytes::CopyOf("pencil"), Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==").value(), 4096);
  ASSERT_TRUE(credentials.ok());
  ASSERT_TRUE(store_->PutCredentials("user", *credentials, false).ok());
  ScramServerOptions options;
  options.make_server_nonce = [] { return std::string(kRfcServerNonce); };
  MakeServer(std::move(options));

  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, std::string("n,,n=user,r=") + kRfcClientNonce, "");
  ASSERT_TRUE(challenge.ok()) << challenge.error().ToString();
  EXPECT_EQ(challenge->server_first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");

  Result<ScramSuccess> success =
      server_->Finish(challenge->sid, ScramMechanism::kSha256,
                      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                      "");
  ASSERT_TRUE(success.ok()) << success.error().ToString();
  EXPECT_EQ(success->user, "user");
  EXPECT_EQ(success->server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_FALSE(success->must_change_password);
}

TEST_F(ScramServerTest, Finish_Succeeds_AndClientVerifiesServer) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  Result<ScramSuccess> success = Login(client);
  ASSERT_TRUE(success.ok()) << success.error().ToString();
  EXPECT_EQ(success->user, "alice");
  EXPECT_TRUE(client.VerifyServerFinal(success->server_final));
  EXPECT_EQ(server_->PendingExchanges(), 0u);
}

TEST_F(ScramServerTest, Finish_FailsWithInvalidProof_ForWrongPassword) {
  Result<ScramSuccess> result = LoginAlice("not the right password");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_invalid_proof");
  EXPECT_EQ(result.error().kind(), ErrorKind::kUnauthenticated);
  EXPECT_EQ(ServerErrorValueFor(result.error().code()), "invalid-proof");
}

TEST_F(ScramServerTest, UnknownUser_LooksLikeWrongPassword_WithStableSalt) {
  Result<ScramChallenge> first =
      server_->Start(ScramMechanism::kSha256, "n,,n=mallory,r=clientnonce0123", "");
  Result<ScramChallenge> second =
      server_->Start(ScramMechanism::kSha256, "n,,n=mallory,r=clientnonce4567", "");
  ASSERT_TRUE(first.ok() && second.ok());
  Result<ServerFirstMessage> parsed_first = ParseServerFirst(first->server_first);
  Result<ServerFirstMessage> parsed_second = ParseServerFirst(second->server_first);
  ASSERT_TRUE(parsed_first.ok() && parsed_second.ok());
  EXPECT_EQ(parsed_first->salt, parsed_second->salt);
  EXPECT_EQ(parsed_first->salt.size(), kScramSaltSize);
  EXPECT_EQ(parsed_first->iterations, 4096u);

  ScramTestClient client("mallory", "whatever password", "clientnonce0123");
  Result<ScramSuccess> unknown = Login(client);
  Result<ScramSuccess> wrong = LoginAlice("not the right password");
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(unknown.error().code(), wrong.error().code());
  EXPECT_EQ(unknown.error().kind(), wrong.error().kind());
}

TEST_F(ScramServerTest, Finish_RefusesReplayedSid) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  Result<std::string> final_message = client.ClientFinal(challenge->server_first);
  ASSERT_TRUE(final_message.ok());
  ASSERT_TRUE(server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "").ok());

  Result<ScramSuccess> replay =
      server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code(), "scram_unknown_exchange");
}

TEST_F(ScramServerTest, Finish_ConsumesSid_EvenWhenItFails) {
  ScramTestClient wrong("alice", "not the right password", "clientnonce0123");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, wrong.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  Result<std::string> final_message = wrong.ClientFinal(challenge->server_first);
  ASSERT_FALSE(server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "").ok());
  Result<ScramSuccess> retry =
      server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code(), "scram_unknown_exchange");
}

TEST_F(ScramServerTest, Finish_RefusesExpiredExchange) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  Result<std::string> final_message = client.ClientFinal(challenge->server_first);
  now_ms_ += 30'000;
  Result<ScramSuccess> late =
      server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), "scram_exchange_expired");
}

TEST_F(ScramServerTest, Start_PurgesExpired_AndRefusesBeyondLimit) {
  ScramServerOptions options;
  options.max_exchanges = 2;
  MakeServer(std::move(options));
  const std::string first = "n,,n=alice,r=clientnonce0123";
  ASSERT_TRUE(server_->Start(ScramMechanism::kSha256, first, "").ok());
  ASSERT_TRUE(server_->Start(ScramMechanism::kSha256, first, "").ok());
  Result<ScramChallenge> third = server_->Start(ScramMechanism::kSha256, first, "");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code(), "scram_too_many_exchanges");
  EXPECT_EQ(third.error().kind(), ErrorKind::kResourceExhausted);

  now_ms_ += 30'000;
  EXPECT_TRUE(server_->Start(ScramMechanism::kSha256, first, "").ok());
  EXPECT_EQ(server_->PendingExchanges(), 1u);
}

TEST_F(ScramServerTest, Plus_Succeeds_WithMatchingExporter) {
  ScramTestClient client("alice", kPassword, "clientnonce0123", "p=tls-exporter,,", kExporter);
  Result<ScramSuccess> success = Login(client, ScramMechanism::kSha256Plus, kExporter, kExporter);
  ASSERT_TRUE(success.ok()) << success.error().ToString();
  EXPECT_TRUE(client.VerifyServerFinal(success->server_final));
}

TEST_F(ScramServerTest, Plus_Fails_WhenFinalArrivesOnAnotherConnection) {
  // The thief replays the whole client-final (bound to the first connection's exporter)
  // through its own connection.
  ScramTestClient client("alice", kPassword, "clientnonce0123", "p=tls-exporter,,", kExporter);
  Result<ScramSuccess> result =
      Login(client, ScramMechanism::kSha256Plus, kExporter, kOtherExporter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_channel_bindings_dont_match");
  EXPECT_EQ(ServerErrorValueFor(result.error().code()), "channel-bindings-dont-match");
}

TEST_F(ScramServerTest, Plus_Fails_WhenClientBindsOtherExporter) {
  // A man in the middle relays the exchange over its own TLS session to the server: the client
  // binds the exporter it sees, which is not the server's.
  ScramTestClient client("alice", kPassword, "clientnonce0123", "p=tls-exporter,,", kOtherExporter);
  Result<ScramSuccess> result = Login(client, ScramMechanism::kSha256Plus, kExporter, kExporter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_channel_bindings_dont_match");
}

TEST_F(ScramServerTest, Finish_Fails_WhenGs2HeaderChangesInFinal) {
  ScramTestClient client("alice", kPassword, "clientnonce0123", "n,,");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  // c= says "y,," although the exchange began with "n,,".
  ScramTestClient liar("alice", kPassword, "clientnonce0123", "y,,");
  Result<std::string> final_message = liar.ClientFinal(challenge->server_first);
  ASSERT_TRUE(final_message.ok());
  Result<ScramSuccess> result =
      server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_channel_bindings_dont_match");
}

TEST_F(ScramServerTest, Start_RefusesY_WhenServerOffersPlus) {
  Result<ScramChallenge> result =
      server_->Start(ScramMechanism::kSha256, "y,,n=alice,r=clientnonce0123", kExporter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_downgrade_detected");
  EXPECT_EQ(ServerErrorValueFor(result.error().code()), "server-does-support-channel-binding");
}

TEST_F(ScramServerTest, Start_AcceptsY_WithoutExporter) {
  ScramTestClient client("alice", kPassword, "clientnonce0123", "y,,");
  Result<ScramSuccess> success = Login(client);
  ASSERT_TRUE(success.ok()) << success.error().ToString();
}

TEST_F(ScramServerTest, Start_RefusesPlus_WithoutExporter) {
  Result<ScramChallenge> result =
      server_->Start(ScramMechanism::kSha256Plus, "p=tls-exporter,,n=alice,r=clientnonce0123", "");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_channel_binding_not_supported");
}

TEST_F(ScramServerTest, Start_RefusesFlagThatContradictsMechanism) {
  Result<ScramChallenge> plain_with_p = server_->Start(
      ScramMechanism::kSha256, "p=tls-exporter,,n=alice,r=clientnonce0123", kExporter);
  ASSERT_FALSE(plain_with_p.ok());
  EXPECT_EQ(plain_with_p.error().code(), "scram_mechanism_mismatch");
  Result<ScramChallenge> plus_with_n =
      server_->Start(ScramMechanism::kSha256Plus, "n,,n=alice,r=clientnonce0123", kExporter);
  ASSERT_FALSE(plus_with_n.ok());
  EXPECT_EQ(plus_with_n.error().code(), "scram_mechanism_mismatch");
}

TEST_F(ScramServerTest, Start_RefusesN_WhenChannelBindingRequired) {
  ScramServerOptions options;
  options.require_channel_binding = true;
  MakeServer(std::move(options));
  Result<ScramChallenge> result =
      server_->Start(ScramMechanism::kSha256, "n,,n=alice,r=clientnonce0123", kExporter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_channel_binding_required");
}

TEST_F(ScramServerTest, Start_RefusesForeignAuthzid_AcceptsOwn) {
  Result<ScramChallenge> foreign =
      server_->Start(ScramMechanism::kSha256, "n,a=admin,n=alice,r=clientnonce0123", "");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), "scram_authzid_refused");
  EXPECT_TRUE(
      server_->Start(ScramMechanism::kSha256, "n,a=alice,n=alice,r=clientnonce0123", "").ok());
}

TEST_F(ScramServerTest, Finish_RefusesMechanismChange) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  Result<std::string> final_message = client.ClientFinal(challenge->server_first);
  Result<ScramSuccess> result =
      server_->Finish(challenge->sid, ScramMechanism::kSha256Plus, *final_message, kExporter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_mechanism_mismatch");
}

TEST_F(ScramServerTest, Finish_RefusesOtherNonce) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  Result<ScramChallenge> challenge =
      server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
  ASSERT_TRUE(challenge.ok());
  // The client answers a server-first whose server nonce was swapped.
  std::string forged = challenge->server_first;
  forged[forged.find(',') - 1] ^= 1;
  Result<std::string> final_message = client.ClientFinal(forged);
  ASSERT_TRUE(final_message.ok());
  Result<ScramSuccess> result =
      server_->Finish(challenge->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "scram_nonce_mismatch");
}

TEST_F(ScramServerTest, Finish_FailsForEveryFlippedProofByte) {
  // A fresh exchange per byte (a proof is only good for its own nonce), with the failure record
  // cleared in between so that the account does not lock.
  for (std::size_t byte = 0; byte < kScramKeySize; ++byte) {
    ScramTestClient client("alice", kPassword, "clientnonce0123");
    Result<ScramChallenge> challenge =
        server_->Start(ScramMechanism::kSha256, client.ClientFirst(), "");
    ASSERT_TRUE(challenge.ok()) << challenge.error().ToString();
    Result<std::string> good = client.ClientFinal(challenge->server_first);
    ASSERT_TRUE(good.ok());
    const std::size_t proof_at = good->rfind(",p=") + 3;
    std::vector<std::uint8_t> proof = Base64Decode(good->substr(proof_at)).value();
    proof[byte] ^= static_cast<std::uint8_t>(1u << (byte % 8));
    const std::string tampered = good->substr(0, proof_at) + Base64Encode(proof);

    Result<ScramSuccess> result =
        server_->Finish(challenge->sid, ScramMechanism::kSha256, tampered, "");
    ASSERT_FALSE(result.ok()) << "byte " << byte;
    EXPECT_EQ(result.error().code(), "scram_invalid_proof");
    ASSERT_TRUE(store_->ResetFailures("alice").ok());
  }
}

TEST_F(ScramServerTest, Failures_DelayThenLock_AndSuccessResets) {
  // One failure: the next attempt is refused for base_delay.
  ASSERT_FALSE(LoginAlice("not the right password").ok());
  std::int64_t retry_after = 0;
  Result<ScramChallenge> refused =
      server_->Start(ScramMechanism::kSha256, "n,,n=alice,r=clientnonce0123", "", &retry_after);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), "auth_throttled");
  EXPECT_EQ(retry_after, 1);

  // After the delay, a success resets the count.
  now_ms_ += 1000;
  ASSERT_TRUE(LoginAlice(kPassword).ok());
  EXPECT_EQ(store_->GetFailureState("alice")->failures, 0);

  // Three failures (max_failures) lock the account for lock_period, even for the right password.
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(LoginAlice("not the right password").ok()) << i;
    now_ms_ += 10'000;
  }
  Result<ScramSuccess> locked = LoginAlice(kPassword);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code(), "account_locked");
  EXPECT_EQ(locked.error().kind(), ErrorKind::kResourceExhausted);

  now_ms_ += 15 * 60 * 1000;
  EXPECT_TRUE(LoginAlice(kPassword).ok());
}

TEST_F(ScramServerTest, Lock_SurvivesRestart) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(LoginAlice("not the right password").ok()) << i;
    now_ms_ += 10'000;
  }
  server_.reset();
  OpenStore();
  MakeServer();
  Result<ScramSuccess> locked = LoginAlice(kPassword);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code(), "account_locked");
}

TEST_F(ScramServerTest, Lock_AppliesToUnknownNamesAlike) {
  for (int i = 0; i < 3; ++i) {
    ScramTestClient client("mallory", "whatever password", "clientnonce0123");
    ASSERT_FALSE(Login(client).ok()) << i;
    now_ms_ += 10'000;
  }
  Result<ScramChallenge> locked =
      server_->Start(ScramMechanism::kSha256, "n,,n=mallory,r=clientnonce0123", "");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code(), "account_locked");
}

TEST_F(ScramServerTest, Finish_RefusesParallelExchange_OnceLocked) {
  // Exchanges started before the lock must not slip past it.
  ScramTestClient early("alice", kPassword, "clientnonce0123");
  Result<ScramChallenge> pending = server_->Start(ScramMechanism::kSha256, early.ClientFirst(), "");
  ASSERT_TRUE(pending.ok());
  Result<std::string> final_message = early.ClientFinal(pending->server_first);
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(LoginAlice("not the right password").ok()) << i;
    now_ms_ += 5'000;
  }
  Result<ScramSuccess> result =
      server_->Finish(pending->sid, ScramMechanism::kSha256, *final_message, "");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "account_locked");
}

TEST_F(ScramServerTest, MustChangePassword_ReportedForBootstrapStyleUser) {
  Result<ScramCredentials> credentials =
      NewScramCredentials(SecretBytes::CopyOf("one-time password 123"), 4096);
  ASSERT_TRUE(store_->PutCredentials("admin", *credentials, true).ok());
  ScramTestClient client("admin", "one-time password 123", "clientnonce0123");
  Result<ScramSuccess> success = Login(client);
  ASSERT_TRUE(success.ok()) << success.error().ToString();
  EXPECT_TRUE(success->must_change_password);
}

TEST_F(ScramServerTest, Create_RefusesTooFewDefaultIterations) {
  ScramServerOptions options;
  options.default_iterations = 1000;
  Result<std::unique_ptr<ScramServer>> server = ScramServer::Create(store_, std::move(options));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), "invalid_scram_options");
}

TEST(ScramMechanismTest, ParseScramMechanism_IsCaseInsensitive_AndExact) {
  EXPECT_EQ(ParseScramMechanism("scram-sha-256"), ScramMechanism::kSha256);
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-256-PLUS"), ScramMechanism::kSha256Plus);
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-1"), std::nullopt);
  EXPECT_EQ(ParseScramMechanism("SCRAM-SHA-256-PLUSX"), std::nullopt);
  EXPECT_EQ(ParseScramMechanism("Bearer"), std::nullopt);
}

}  // namespace
}  // namespace weftkit::auth
