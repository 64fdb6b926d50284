// The token routes through a Router with hand-built requests and a recording authorizer: the
// public JWK set, and for each protected route no permission, the wrong authentication method,
// and the right permission.
#include <gtest/gtest.h>

#include "api/token_routes.h"
#include "test/auth/jwt_fixture.h"

namespace weftkit::api {
namespace {

using auth::JwtFixture;
using Json = nlohmann::json;

constexpr const char* kAdmin = "spiffe://weftkit.dev/admin/alice";

struct AuthorizerCall {
  std::string principal;
  std::string action;
  std::string resource;
};

class TokenRoutesTest : public JwtFixture {
 protected:
  void SetUp() override {
    JwtFixture::SetUp();
    RegisterTokenRoutes(
        router_, *service_,
        [this](const SecurityContext& context, std::string_view action,
               std::string_view resource) -> Status {
          calls_.push_back({context.principal(), std::string(action), std::string(resource)});
          if (allow_) return OkStatus();
          return Error(ErrorKind::kPermissionDenied, "forbidden", "test says no");
        });
  }

  static SecurityContext Context(const std::string& principal, AuthMethod method) {
    return SecurityContext({principal, method, {}, "req-1", "127.0.0.1:1", kStart});
  }

  server::Response Call(const std::string& method, const std::string& path, const std::string& body,
                        const SecurityContext& context, const server::Route** matched = nullptr) {
    server::Router::Match match = router_.Find(method, path);
    EXPECT_EQ(match.outcome, server::Router::MatchOutcome::kMatched) << method << " " << path;
    if (match.route == nullptr) return {};
    if (matched != nullptr) *matched = match.route;
    server::Request request;
    request.method = method;
    request.path = path;
    request.body = body;
    request.request_id = "req-1";
    return match.route->handler(request, context);
  }

  static std::string Code(const server::Response& response) {
    return Json::parse(response.body).value("code", "");
  }

  server::Router router_;
  std::vector<AuthorizerCall> calls_;
  bool allow_ = true;
};

TEST_F(TokenRoutesTest, Jwks_IsPublicInlineAndListsKeys) {
  const server::Route* route = nullptr;
  server::Response response =
      Call("GET", "/.well-known/jwks.json", "", Context("", AuthMethod::kNone), &route);
  ASSERT_NE(route, nullptr);
  EXPECT_TRUE(route->is_public);
  EXPECT_EQ(route->run_on, server::RunOn::kInline);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, service_->JwkSetJson());
  EXPECT_TRUE(calls_.empty());
}

TEST_F(TokenRoutesTest, Issue_ReturnsVerifiableToken_ForMtlsCaller) {
  const server::Route* route = nullptr;
  server::Response response = Call("POST", "/v1/auth/tokens", R"({"lifetime_s":120})",
                                   Context(kPrincipal, AuthMethod::kMtls), &route);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_FALSE(route->is_public);
  EXPECT_EQ(route->run_on, server::RunOn::kWorker);
  EXPECT_TRUE(response.wipe_after_send);
  EXPECT_NE(std::find(response.headers.begin(), response.headers.end(),
                      std::pair<std::string, std::string>{"Cache-Control", "no-store"}),
            response.headers.end());

  Json body = Json::parse(response.body);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 120);
  auto verified = service_->Verify(body["access_token"].get<std::string>());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->sub, kPrincipal);
  EXPECT_EQ(verified->jti, body["jti"]);
  EXPECT_EQ(verified->auth_method, AuthMethod::kMtls);

  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].action, "token.issue");
  EXPECT_EQ(calls_[0].resource, "token/self");
}

TEST_F(TokenRoutesTest, Issue_CapsLifetime_AndDefaultsToMaximum) {
  Json capped = Json::parse(Call("POST", "/v1/auth/tokens", R"({"lifetime_s":86400})",
                                 Context(kPrincipal, AuthMethod::kMtls))
                                .body);
  EXPECT_EQ(capped["expires_in"], kMaxLifetime);
  Json defaulted =
      Json::parse(Call("POST", "/v1/auth/tokens", "", Context(kPrincipal, AuthMethod::kMtls)).body);
  EXPECT_EQ(defaulted["expires_in"], kMaxLifetime);
}

TEST_F(TokenRoutesTest, Issue_Refused_WhenAuthorizerDenies) {
  allow_ = false;
  server::Response response =
      Call("POST", "/v1/auth/tokens", "", Context(kPrincipal, AuthMethod::kMtls));
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(Code(response), "forbidden");
  EXPECT_EQ(response.body.find("access_token"), std::string::npos);
}

TEST_F(TokenRoutesTest, Issue_Refused_ForTokenAndScramCallers) {
  for (AuthMethod method : {AuthMethod::kJwt, AuthMethod::kScram}) {
    server::Response response = Call("POST", "/v1/auth/tokens", "", Context(kPrincipal, method));
    EXPECT_EQ(response.status, 403);
    EXPECT_EQ(Code(response), "token_issue_requires_mtls");
  }
  EXPECT_TRUE(calls_.empty());
}

TEST_F(TokenRoutesTest, Issue_RefusesBadBodies) {
  for (const char* body : {R"({"lifetime":60})", R"({"lifetime_s":0})", R"({"lifetime_s":"60"})",
                           R"({"audience":"https://evil.test"})", "[]"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(Call("POST", "/v1/auth/tokens", body, Context(kPrincipal, AuthMethod::kMtls)).status,
              400);
  }
}

TEST_F(TokenRoutesTest, Revoke_RevokesToken_WhenAllowed) {
  auto issued = service_->Issue(kPrincipal, "", 300, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok());
  server::Response response =
      Call("POST", "/v1/auth/tokens/revoke", Json{{"jti", issued->jti}}.dump(),
           Context(kAdmin, AuthMethod::kJwt));
  ASSERT_EQ(response.status, 200) << response.body;
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].action, "token.revoke");
  EXPECT_EQ(calls_[0].resource, "token/" + issued->jti);
  ExpectRefused(std::string(issued->access_token.expose_chars()), "token_revoked");
}

TEST_F(TokenRoutesTest, Revoke_Refused_WhenAuthorizerDenies) {
  allow_ = false;
  auto issued = service_->Issue(kPrincipal, "", 300, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok());
  server::Response response =
      Call("POST", "/v1/auth/tokens/revoke", Json{{"jti", issued->jti}}.dump(),
           Context(kPrincipal, AuthMethod::kMtls));
  EXPECT_EQ(response.status, 403);
  ExpectAccepted(std::string(issued->access_token.expose_chars()));
}

TEST_F(TokenRoutesTest, Revoke_RefusesMalformedJti_BeforeAuthorizing) {
  server::Response response = Call("POST", "/v1/auth/tokens/revoke", R"({"jti":"../../x"})",
                                   Context(kAdmin, AuthMethod::kMtls));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Code(response), "invalid_jti");
  EXPECT_TRUE(calls_.empty());
}

TEST_F(TokenRoutesTest, Rotate_RotatesSigningKey_WhenAllowed) {
  const std::string old_kid = service_->keys().ActiveKey().kid;
  server::Response response =
      Call("POST", "/v1/auth/signing-keys/rotate", "", Context(kAdmin, AuthMethod::kMtls));
  ASSERT_EQ(response.status, 200) << response.body;
  Json body = Json::parse(response.body);
  EXPECT_NE(body["active_kid"], old_kid);
  EXPECT_EQ(body["active_kid"], service_->keys().ActiveKey().kid);
  ASSERT_EQ(body["keys"].size(), 2u);
  EXPECT_EQ(body["keys"][0]["state"], "retiring");
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].action, "principal.manage");
  EXPECT_EQ(calls_[0].resource, "principal/jwt-signing-keys");
}

TEST_F(TokenRoutesTest, Rotate_Refused_WhenAuthorizerDenies) {
  allow_ = false;
  const std::string old_kid = service_->keys().ActiveKey().kid;
  server::Response response =
      Call("POST", "/v1/auth/signing-keys/rotate", "", Context(kAdmin, AuthMethod::kMtls));
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(service_->keys().ActiveKey().kid, old_kid);
}

TEST_F(TokenRoutesTest, Routes_DenyEverything_WithoutAuthorizer) {
  server::Router router;
  RegisterTokenRoutes(router, *service_, nullptr);
  server::Router::Match match = router.Find("POST", "/v1/auth/tokens");
  ASSERT_NE(match.route, nullptr);
  server::Request request;
  EXPECT_EQ(match.route->handler(request, Context(kPrincipal, AuthMethod::kMtls)).status, 403);
}

}  // namespace
}  // namespace weftkit::api
