// The SCRAM routes as an HTTP client sees them (RFC 7804): the two-step login with its headers
// and status codes, channel binding per connection, throttling answers, and the password route's
// authorization. Requests are built by hand and dispatched through a real Router.
#include "api/scram_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/sqlite_password_store.h"
#include "common/base64.h"
#include "test/auth/scram_test_client.h"
#include "test/support/temp_dir.h"

namespace weftkit::api {
namespace {

using auth::ScramMechanism;
using auth::scram_test::ScramTestClient;
using server::Request;
using server::Response;

constexpr char kPassword[] = "correct horse battery staple";
const std::string kExporter(32, '\x11');
const std::string kOtherExporter(32, '\x22');

std::optional<std::string> HeaderOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HeadersOf(const Response& response, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : response.headers) {
    if (key == name) values.push_back(value);
  }
  return values;
}

std::string CodeOf(const Response& response) {
  return nlohmann::json::parse(response.body).value("code", "");
}

std::string Base64Of(std::string_view text) { return Base64Encode(AsBytes(text)); }

SecurityContext Context(std::string principal, std::vector<std::string> roles = {}) {
  SecurityContext::Fields fields;
  fields.principal = std::move(principal);
  fields.auth_method = fields.principal.empty() ? AuthMethod::kNone : AuthMethod::kJwt;
  fields.roles = std::move(roles);
  fields.request_id = "0123456789abcdef0123456789abcdef";
  fields.peer = "127.0.0.1:5555";
  return SecurityContext(std::move(fields));
}

class ScramRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok());
    auto store =
        auth::SqlitePasswordStore::Open(std::shared_ptr<store::Database>(std::move(*database)));
    ASSERT_TRUE(store.ok());
    store_ = std::shared_ptr<auth::SqlitePasswordStore>(std::move(*store));
    ASSERT_TRUE(store_->SetPassword("alice", SecretBytes::CopyOf(kPassword), 4096).ok());

    auth::ScramServerOptions options;
    options.default_iterations = 4096;
    options.now_ms = [this] { return now_ms_; };
    auto scram = auth::ScramServer::Create(store_, std::move(options));
    ASSERT_TRUE(scram.ok());
    scram_ = std::move(*scram);

    ScramRouteDependencies deps{*scram_, *store_};
    deps.issue_token = [this](const std::string& principal, bool) -> Result<std::string> {
      issued_for_.push_back(principal);
      return std::string("stub-token");
    };
    deps.token_lifetime_seconds = 300;
    deps.authorize = [this](const SecurityContext& context, std::string_view action,
                            std::string_view resource) -> Status {
      asked_.push_back(std::string(action) + " " + std::string(resource));
      if (context.HasRole("admin")) return OkStatus();
      return Error(ErrorKind::kPermissionDenied, "forbidden", "test authorizer says no");
    };
    deps.default_iterations = 4096;
    RegisterScramRoutes(router_, deps);
  }

  Response Call(const std::string& method, const std::string& path, Request request,
                const SecurityContext& context) {
    server::Router::Match match = router_.Find(method, path);
    EXPECT_EQ(match.outcome, server::Router::MatchOutcome::kMatched) << method << " " << path;
    if (match.route == nullptr) return Response{};
    request.method = method;
    request.path = path;
    request.path_params = match.params;
    request.request_id = "0123456789abcdef0123456789abcdef";
    return match.route->handler(request, context);
  }

  Response Scram(const std::string& authorization, const std::string& exporter = "") {
    Request request;
    if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
    request.tls_exporter = exporter;
    return Call("POST", "/v1/auth/scram", std::move(request), Context(""));
  }

  // Step 1; returns the parsed challenge (sid and server-first).
  auth::ScramChallenge Start(ScramTestClient& client, const char* mechanism,
                             const std::string& exporter = "") {
    Response response =
        Scram(std::string(mechanism) + " data=" + Base64Of(client.ClientFirst()), exporter);
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(CodeOf(response), "scram_continue");
    std::optional<std::string> header = HeaderOf(response, "WWW-Authenticate");
    EXPECT_TRUE(header.has_value());
    auto parsed = ParseScramAuthorization(header.value_or(""));
    if (!parsed.ok() || !parsed->has_value() || !(*parsed)->sid.has_value()) return {};
    return {*(*parsed)->sid, (*parsed)->message};
  }

  Response Finish(ScramTestClient& client, const auth::ScramChallenge& challenge,
                  const char* mechanism, const std::string& exporter = "") {
    Result<std::string> final_message = client.ClientFinal(challenge.server_first);
    EXPECT_TRUE(final_message.ok());
    return Scram(std::string(mechanism) + " sid=" + challenge.sid +
                     ", data=" + Base64Of(final_message.ok() ? *final_message : ""),
                 exporter);
  }

  // The server-final-message carried by a header value of the form "sid=..., data=...".
  static std::string ServerFinalIn(const std::string& value) {
    auto parsed = ParseScramAuthorization("SCRAM-SHA-256 " + value);
    return parsed.ok() && parsed->has_value() ? (*parsed)->message : "";
  }

  weftkit::testing::TempDir dir_;
  std::shared_ptr<auth::SqlitePasswordStore> store_;
  std::unique_ptr<auth::ScramServer> scram_;
  server::Router router_;
  std::vector<std::string> issued_for_;
  std::vector<std::string> asked_;
  std::int64_t now_ms_ = 1'700'000'000'000;
};

TEST_F(ScramRoutesTest, Login_ReturnsToken_AfterTwoSteps) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  auth::ScramChallenge challenge = Start(client, "SCRAM-SHA-256");
  Response response = Finish(client, challenge, "SCRAM-SHA-256");

  ASSERT_EQ(response.status, 200) << response.body;
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["access_token"], "stub-token");
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 300);
  EXPECT_EQ(body["must_change_password"], false);
  EXPECT_EQ(issued_for_, std::vector<std::string>{"user:alice"});
  EXPECT_TRUE(response.wipe_after_send);
  EXPECT_EQ(HeaderOf(response, "Cache-Control"), "no-store");

  std::optional<std::string> info = HeaderOf(response, "Authentication-Info");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->rfind("sid=" + challenge.sid + ", data=", 0), 0u);
  EXPECT_TRUE(client.VerifyServerFinal(ServerFinalIn(*info)));
}

TEST_F(ScramRoutesTest, Login_Plus_Succeeds_OnSameConnection) {
  ScramTestClient client("alice", kPassword, "clientnonce0123", "p=tls-exporter,,", kExporter);
  auth::ScramChallenge challenge = Start(client, "SCRAM-SHA-256-PLUS", kExporter);
  Response response = Finish(client, challenge, "SCRAM-SHA-256-PLUS", kExporter);
  ASSERT_EQ(response.status, 200) << response.body;
}

TEST_F(ScramRoutesTest, Login_Plus_Fails_OnOtherConnection_WithServerError) {
  ScramTestClient client("alice", kPassword, "clientnonce0123", "p=tls-exporter,,", kExporter);
  auth::ScramChallenge challenge = Start(client, "SCRAM-SHA-256-PLUS", kExporter);
  Response response = Finish(client, challenge, "SCRAM-SHA-256-PLUS", kOtherExporter);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(CodeOf(response), "scram_channel_bindings_dont_match");
  std::optional<std::string> challenge_header = HeaderOf(response, "WWW-Authenticate");
  ASSERT_TRUE(challenge_header.has_value());
  EXPECT_EQ(challenge_header->rfind("SCRAM-SHA-256-PLUS sid=" + challenge.sid, 0), 0u);
  EXPECT_EQ(ServerFinalIn(challenge_header->substr(challenge_header->find(' ') + 1)),
            "e=channel-bindings-dont-match");
  EXPECT_TRUE(issued_for_.empty());
}

TEST_F(ScramRoutesTest, Login_WrongPassword_Answers401_WithInvalidProof) {
  ScramTestClient client("alice", "not the right password", "clientnonce0123");
  auth::ScramChallenge challenge = Start(client, "SCRAM-SHA-256");
  Response response = Finish(client, challenge, "SCRAM-SHA-256");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_EQ(CodeOf(response), "scram_invalid_proof");
  std::optional<std::string> header = HeaderOf(response, "WWW-Authenticate");
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(ServerFinalIn(header->substr(header->find(' ') + 1)), "e=invalid-proof");
  EXPECT_TRUE(issued_for_.empty());
}

TEST_F(ScramRoutesTest, Login_UnknownUser_AnswersLikeWrongPassword) {
  ScramTestClient unknown("mallory", "not the right password", "clientnonce0123");
  Response unknown_response = Finish(unknown, Start(unknown, "SCRAM-SHA-256"), "SCRAM-SHA-256");
  ScramTestClient wrong("alice", "not the right password", "clientnonce0123");
  Response wrong_response = Finish(wrong, Start(wrong, "SCRAM-SHA-256"), "SCRAM-SHA-256");
  EXPECT_EQ(unknown_response.status, wrong_response.status);
  EXPECT_EQ(CodeOf(unknown_response), CodeOf(wrong_response));
}

TEST_F(ScramRoutesTest, Login_ReplayedSid_Answers401) {
  ScramTestClient client("alice", kPassword, "clientnonce0123");
  auth::ScramChallenge challenge = Start(client, "SCRAM-SHA-256");
  Result<std::string> final_message = client.ClientFinal(challenge.server_first);
  const std::string authorization =
      "SCRAM-SHA-256 sid=" + challenge.sid + ", data=" + Base64Of(*final_message);
  ASSERT_EQ(Scram(authorization).status, 200);
  Response replay = Scram(authorization);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(CodeOf(replay), "scram_unknown_exchange");
  EXPECT_EQ(issued_for_.size(), 1u);
}

TEST_F(ScramRoutesTest, Login_WithoutCredentials_OffersMechanisms) {
  Response plain = Scram("");
  EXPECT_EQ(plain.status, 401);
  EXPECT_EQ(CodeOf(plain), "scram_required");
  EXPECT_EQ(HeadersOf(plain, "WWW-Authenticate"),
            std::vector<std::string>{"SCRAM-SHA-256 realm=\"weftkit-kms\""});

  Response tls = Scram("Bearer abc", kExporter);
  EXPECT_EQ(tls.status, 401);
  EXPECT_EQ(HeadersOf(tls, "WWW-Authenticate"),
            (std::vector<std::string>{"SCRAM-SHA-256-PLUS realm=\"weftkit-kms\"",
                                      "SCRAM-SHA-256 realm=\"weftkit-kms\""}));
}

TEST_F(ScramRoutesTest, Login_DowngradeToY_Refused_WhenPlusOffered) {
  Response response =
      Scram("SCRAM-SHA-256 data=" + Base64Of("y,,n=alice,r=clientnonce0123"), kExporter);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(CodeOf(response), "scram_downgrade_detected");
}

TEST_F(ScramRoutesTest, Login_MalformedMessages_Answer400_WithTheirCode) {
  EXPECT_EQ(CodeOf(Scram("SCRAM-SHA-256 data=" + Base64Of("n,,n=alice"))),
            "scram_malformed_message");
  EXPECT_EQ(CodeOf(Scram("SCRAM-SHA-256 data=" + Base64Of("n,,n=al=41ice,r=clientnonce0123"))),
            "scram_invalid_username_encoding");
  Response response = Scram("SCRAM-SHA-256 data=not*base64");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(CodeOf(response), "scram_bad_authorization");
}

TEST_F(ScramRoutesTest, Login_Throttled_Answers429_WithRetryAfter) {
  ScramTestClient wrong("alice", "not the right password", "clientnonce0123");
  Finish(wrong, Start(wrong, "SCRAM-SHA-256"), "SCRAM-SHA-256");
  Response response = Scram("SCRAM-SHA-256 data=" + Base64Of("n,,n=alice,r=clientnonce0123"));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(CodeOf(response), "auth_throttled");
  EXPECT_EQ(HeaderOf(response, "Retry-After"), "1");
}

TEST_F(ScramRoutesTest, Login_ReportsMustChange_ForBootstrapUser) {
  Result<auth::ScramCredentials> credentials =
      auth::NewScramCredentials(SecretBytes::CopyOf("one-time password 123"), 4096);
  ASSERT_TRUE(store_->PutCredentials("admin", *credentials, true).ok());
  ScramTestClient client("admin", "one-time password 123", "clientnonce0123");
  Response response = Finish(client, Start(client, "SCRAM-SHA-256"), "SCRAM-SHA-256");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body)["must_change_password"], true);
}

TEST_F(ScramRoutesTest, Routes_LoginIsPublic_PasswordIsNot) {
  EXPECT_TRUE(router_.Find("POST", "/v1/auth/scram").route->is_public);
  EXPECT_FALSE(router_.Find("PUT", "/v1/principals/alice/password").route->is_public);
}

Request PasswordBody(const std::string& body) {
  Request request;
  request.body = body;
  return request;
}

TEST_F(ScramRoutesTest, SetPassword_BySelf_ChangesPassword_WithoutAskingAuthorizer) {
  Response response =
      Call("PUT", "/v1/principals/alice/password",
           PasswordBody(R"({"password":"a brand new passphrase"})"), Context("user:alice"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(asked_.empty());
  ScramTestClient client("alice", "a brand new passphrase", "clientnonce0123");
  EXPECT_EQ(Finish(client, Start(client, "SCRAM-SHA-256"), "SCRAM-SHA-256").status, 200);
}

TEST_F(ScramRoutesTest, SetPassword_ForOther_NeedsPrincipalManage) {
  Response denied =
      Call("PUT", "/v1/principals/bob/password",
           PasswordBody(R"({"password":"a brand new passphrase"})"), Context("user:alice"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(asked_, std::vector<std::string>{"principal.manage principal/user:bob"});

  Response allowed =
      Call("PUT", "/v1/principals/bob/password",
           PasswordBody(R"({"password":"a brand new passphrase","iterations":5000})"),
           Context("spiffe://weftkit.dev/admin/ops", {"admin"}));
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(nlohmann::json::parse(allowed.body)["iterations"], 5000);
  EXPECT_EQ((*store_->GetUser("bob"))->credentials.iterations, 5000u);
}

TEST_F(ScramRoutesTest, SetPassword_RefusesAnonymousCaller) {
  Response response = Call("PUT", "/v1/principals/alice/password",
                           PasswordBody(R"({"password":"a brand new passphrase"})"), Context(""));
  EXPECT_EQ(response.status, 401);
}

TEST_F(ScramRoutesTest, SetPassword_RefusesBadInput_WithItsCode) {
  const SecurityContext self = Context("user:alice");
  EXPECT_EQ(CodeOf(Call("PUT", "/v1/principals/alice/password",
                        PasswordBody(R"({"password":"too short"})"), self)),
            "password_too_short");
  EXPECT_EQ(Call("PUT", "/v1/principals/alice/password",
                 PasswordBody(R"({"password":"a brand new passphrase","extra":1})"), self)
                .status,
            400);
  EXPECT_EQ(Call("PUT", "/v1/principals/alice/password",
                 PasswordBody(R"({"password":"a brand new passphrase","iterations":4095})"), self)
                .status,
            400);
  EXPECT_EQ(CodeOf(Call("PUT", "/v1/principals/al%2Cice/password",
                        PasswordBody(R"({"password":"a brand new passphrase"})"), self)),
            "invalid_user_name");
}

TEST(ScramAuthorizationTest, ParseScramAuthorization_AcceptsQuotedAnyOrder_IgnoresRealm) {
  auto parsed = ParseScramAuthorization("scram-sha-256-plus data=\"" + Base64Of("hello") +
                                        "\",  realm=\"x\" ,sid=abc_-9");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->mechanism, ScramMechanism::kSha256Plus);
  EXPECT_EQ((*parsed)->sid, "abc_-9");
  EXPECT_EQ((*parsed)->message, "hello");
}

TEST(ScramAuthorizationTest, ParseScramAuthorization_ReturnsNothing_ForOtherSchemes) {
  auto parsed = ParseScramAuthorization("Bearer abc.def.ghi");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
}

TEST(ScramAuthorizationTest, ParseScramAuthorization_RefusesMalformed) {
  const std::string data = "data=" + Base64Of("hello");
  for (const std::string& value :
       {std::string("SCRAM-SHA-256"), std::string("SCRAM-SHA-256 sid=abc"),
        "SCRAM-SHA-256 " + data + ", " + data, "SCRAM-SHA-256 " + data + ", nonce=1",
        "SCRAM-SHA-256 " + data + ", sid=a.b", "SCRAM-SHA-256 " + data + ", sid=\"a\\b\"",
        "SCRAM-SHA-256 " + data + ", sid=" + std::string(65, 'a'),
        std::string("SCRAM-SHA-256 data=aGVsbG8"), "SCRAM-SHA-256 " + data + ",",
        "SCRAM-SHA-256 " + data + std::string(5000, ' ')}) {
    auto parsed = ParseScramAuthorization(value);
    ASSERT_FALSE(parsed.ok()) << value.substr(0, 80);
    EXPECT_EQ(parsed.error().code(), "scram_bad_authorization");
  }
}

}  // namespace
}  // namespace weftkit::api
