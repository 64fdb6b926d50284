// The RBAC management routes, called through a Router with hand-built requests and contexts:
// every route against no credentials, a wrong role, the right role and an explicit deny, plus
// the validation codes clients rely on. End-to-end tests over TLS live in test/integration.
#include "api/rbac_routes.h"

#include <gtest/gtest.h>

#include "auth/builtin_roles.h"
#include "test/support/temp_dir.h"

namespace weftkit::api {
namespace {

using auth::kAdminRole;
using auth::kAuditorRole;
using auth::kEngineRole;
using auth::kKeyOfficerRole;

constexpr const char* kAdmin = "spiffe://weftkit.dev/admin/alice";
constexpr const char* kAdminEncoded = "spiffe%3A%2F%2Fweftkit.dev%2Fadmin%2Falice";
constexpr const char* kEngine = "spiffe://weftkit.dev/engine/orders";
constexpr const char* kEngineEncoded = "spiffe%3A%2F%2Fweftkit.dev%2Fengine%2Forders";

class RbacRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto rbac = auth::RbacService::Open(std::move(database).value());
    ASSERT_TRUE(rbac.ok()) << rbac.error().ToString();
    rbac_ = std::move(rbac).value();
    ASSERT_TRUE(rbac_->EnsureBootstrapAdmin(kAdmin).ok());
    RegisterRbacRoutes(router_, *rbac_);
  }

  // The context an authenticator would build now: roles resolved from the current bindings.
  SecurityContext As(const std::string& principal) {
    return SecurityContext(
        {principal, AuthMethod::kMtls, rbac_->RolesOf(principal), "req-test", "", 0});
  }
  static SecurityContext Anonymous() {
    return SecurityContext({"", AuthMethod::kNone, {}, "req-anon", "", 0});
  }

  server::Response Call(const std::string& method, const std::string& target,
                        const std::string& body, const SecurityContext& context) {
    server::Request request;
    request.method = method;
    std::size_t question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query = target.substr(question + 1);
    request.body = body;
    server::Router::Match match = router_.Find(method, request.path);
    EXPECT_EQ(match.outcome, server::Router::MatchOutcome::kMatched) << method << " " << target;
    if (match.route == nullptr) return {};
    EXPECT_EQ(match.route->run_on, server::RunOn::kWorker);
    EXPECT_FALSE(match.route->is_public);
    request.path_params = match.params;
    return match.route->handler(request, context);
  }

  static std::string Code(const server::Response& response) {
    nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    return body.is_object() && body.contains("code") ? body["code"].get<std::string>() : "";
  }
  static nlohmann::json Json(const server::Response& response) {
    return nlohmann::json::parse(response.body, nullptr, false);
  }

  void MakePrincipal(const std::string& id, const std::string& role) {
    ASSERT_EQ(
        Call("POST", "/v1/principals", nlohmann::json({{"id", id}}).dump(), As(kAdmin)).status,
        201);
    if (role.empty()) return;
    ASSERT_EQ(Call("POST", "/v1/bindings",
                   nlohmann::json({{"principal", id}, {"role", role}}).dump(), As(kAdmin))
                  .status,
              201);
  }

  testing::TempDir dir_;
  std::unique_ptr<auth::RbacService> rbac_;
  server::Router router_;
};

// One call per mutating or single-object route; `ok` is the admin's expected status.
struct RouteCase {
  const char* method;
  const char* target;
  const char* body;
  int ok;
};

const RouteCase kGuardedRoutes[] = {
    {"POST", "/v1/principals", R"({"id":"carol"})", 201},
    {"GET", "/v1/principals/bob", "", 200},
    {"PATCH", "/v1/principals/bob", R"({"description":"x"})", 200},
    {"GET", "/v1/principals/bob/permissions", "", 200},
    {"POST", "/v1/roles", R"({"name":"r2","permissions":[]})", 201},
    {"GET", "/v1/roles/r1", "", 200},
    {"PUT", "/v1/roles/r1", R"({"permissions":[]})", 200},
    {"GET", "/v1/bindings?principal=bob", "", 200},
    {"POST", "/v1/bindings", R"({"principal":"bob","role":"r1"})", 201},
    {"POST", "/v1/separation-of-duty",
     R"({"name":"s1","first_actions":["policy.publish"],"second_actions":["dek.wrap"]})", 201},
    {"DELETE", "/v1/separation-of-duty/s0", "", 204},
    {"DELETE", "/v1/bindings", R"({"principal":"bob","role":"r0"})", 204},
    {"DELETE", "/v1/roles/r3", "", 204},
    {"DELETE", "/v1/principals/dave", "", 204},
};

class RbacRoutesGuardTest : public RbacRoutesTest {
 protected:
  void SetUp() override {
    RbacRoutesTest::SetUp();
    MakePrincipal("bob", kAuditorRole);
    MakePrincipal("dave", "");
    MakePrincipal(kEngine, kEngineRole);
    for (const char* role : {"r0", "r1", "r3"}) {
      ASSERT_EQ(
          Call("POST", "/v1/roles",
               nlohmann::json({{"name", role}, {"permissions", nlohmann::json::array()}}).dump(),
               As(kAdmin))
              .status,
          201);
    }
    ASSERT_EQ(Call("POST", "/v1/bindings", R"({"principal":"bob","role":"r0"})", As(kAdmin)).status,
              201);
    ASSERT_EQ(
        Call("POST", "/v1/separation-of-duty",
             R"({"name":"s0","first_actions":["audit.read"],"second_actions":["dek.unwrap"]})",
             As(kAdmin))
            .status,
        201);
  }
};

TEST_F(RbacRoutesGuardTest, EveryRoute_Forbidden_WithoutCredentials) {
  for (const RouteCase& route : kGuardedRoutes) {
    server::Response response = Call(route.method, route.target, route.body, Anonymous());
    EXPECT_EQ(response.status, 403) << route.method << " " << route.target;
    EXPECT_EQ(Code(response), "forbidden") << route.method << " " << route.target;
  }
}

TEST_F(RbacRoutesGuardTest, EveryRoute_Forbidden_ForWrongRole) {
  // An engine may read its keys and use DEKs, and nothing of access control.
  for (const RouteCase& route : kGuardedRoutes) {
    server::Response response = Call(route.method, route.target, route.body, As(kEngine));
    EXPECT_EQ(response.status, 403) << route.method << " " << route.target;
  }
}

TEST_F(RbacRoutesGuardTest, EveryRoute_Succeeds_ForAdmin) {
  for (const RouteCase& route : kGuardedRoutes) {
    server::Response response = Call(route.method, route.target, route.body, As(kAdmin));
    EXPECT_EQ(response.status, route.ok)
        << route.method << " " << route.target << ": " << response.body;
  }
}

TEST_F(RbacRoutesGuardTest, EveryRoute_Forbidden_UnderExplicitDeny) {
  // An administrator who also holds a role denying all access-control actions is refused
  // everywhere, although admin allows them.
  ASSERT_EQ(Call("POST", "/v1/roles",
                 R"({"name":"frozen","permissions":[{"effect":"deny",
                     "actions":["principal.*","role.*"],"resources":["*"]}]})",
                 As(kAdmin))
                .status,
            201);
  MakePrincipal("eve", kAdminRole);
  ASSERT_EQ(
      Call("POST", "/v1/bindings", R"({"principal":"eve","role":"frozen"})", As(kAdmin)).status,
      201);
  for (const RouteCase& route : kGuardedRoutes) {
    server::Response response = Call(route.method, route.target, route.body, As("eve"));
    EXPECT_EQ(response.status, 403) << route.method << " " << route.target;
  }
}

TEST_F(RbacRoutesGuardTest, Lists_ShowOnlyWhatTheCallerMayRead) {
  for (const char* target :
       {"/v1/principals", "/v1/roles", "/v1/bindings", "/v1/separation-of-duty"}) {
    server::Response engine = Call("GET", target, "", As(kEngine));
    ASSERT_EQ(engine.status, 200) << target;
    EXPECT_TRUE(Json(engine).begin()->empty()) << target << ": " << engine.body;

    server::Response anonymous = Call("GET", target, "", Anonymous());
    ASSERT_EQ(anonymous.status, 200) << target;
    EXPECT_TRUE(Json(anonymous).begin()->empty()) << target;

    server::Response auditor = Call("GET", target, "", As("bob"));
    ASSERT_EQ(auditor.status, 200) << target;
    EXPECT_FALSE(Json(auditor).begin()->empty()) << target;
  }
}

TEST_F(RbacRoutesTest, ShowPrincipal_DecodesPercentEncodedId) {
  server::Response response =
      Call("GET", std::string("/v1/principals/") + kAdminEncoded, "", As(kAdmin));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Json(response)["id"], kAdmin);
  EXPECT_EQ(Json(response)["roles"], nlohmann::json::array({kAdminRole}));
}

TEST_F(RbacRoutesTest, ShowPrincipal_FailsWithInvalidField_ForBadEscape) {
  for (const char* id : {"bob%2", "bob%zz", "bob%00"}) {
    server::Response response = Call("GET", std::string("/v1/principals/") + id, "", As(kAdmin));
    EXPECT_EQ(response.status, 400) << id;
    EXPECT_EQ(Code(response), "invalid_field") << id;
  }
}

TEST_F(RbacRoutesTest, ShowPrincipal_NotFound_AfterAuthorization) {
  EXPECT_EQ(Code(Call("GET", "/v1/principals/nobody", "", As(kAdmin))), "principal_not_found");
  // Without permission the answer is the same 403 whether or not the principal exists.
  EXPECT_EQ(Code(Call("GET", "/v1/principals/nobody", "", Anonymous())), "forbidden");
}

TEST_F(RbacRoutesTest, CreatePrincipal_InfersKind_AndRefusesUnknownFields) {
  server::Response service =
      Call("POST", "/v1/principals", nlohmann::json({{"id", kEngine}}).dump(), As(kAdmin));
  ASSERT_EQ(service.status, 201);
  EXPECT_EQ(Json(service)["kind"], "service");
  server::Response person = Call("POST", "/v1/principals", R"({"id":"bob"})", As(kAdmin));
  EXPECT_EQ(Json(person)["kind"], "person");
  EXPECT_EQ(Code(Call("POST", "/v1/principals", R"({"id":"bob"})", As(kAdmin))),
            "principal_exists");
  EXPECT_EQ(Code(Call("POST", "/v1/principals", R"({"id":"x","role":"admin"})", As(kAdmin))),
            "unknown_field");
}

TEST_F(RbacRoutesTest, CreateRole_FailsWithStableCodes) {
  struct Case {
    const char* body;
    int status;
    const char* code;
  };
  const Case cases[] = {
      {R"({"name":"a","inherits":["a"],"permissions":[]})", 400, "role_cycle"},
      {R"({"name":"a","inherits":["ghost"],"permissions":[]})", 400, "undefined_role"},
      {R"({"name":"a","permissions":[{"effect":"allow","actions":["key.steal"],
           "resources":["key/*"]}]})",
       400, "unknown_action"},
      {R"({"name":"a","permissions":[{"effect":"allow","actions":["key.read"],
           "resources":["key*"]}]})",
       400, "invalid_pattern"},
      {R"({"name":"a b","permissions":[]})", 400, "invalid_field"},
      {R"({"name":"a"})", 400, "invalid_field"},
      {R"({"name":"auditor","permissions":[]})", 409, "role_exists"},
  };
  for (const Case& c : cases) {
    server::Response response = Call("POST", "/v1/roles", c.body, As(kAdmin));
    EXPECT_EQ(response.status, c.status) << c.body;
    EXPECT_EQ(Code(response), c.code) << c.body;
  }
}

TEST_F(RbacRoutesTest, BuiltinRoles_Immutable) {
  EXPECT_EQ(Code(Call("PUT", "/v1/roles/auditor", R"({"permissions":[]})", As(kAdmin))),
            "builtin_role_immutable");
  EXPECT_EQ(Code(Call("DELETE", "/v1/roles/engine", "", As(kAdmin))), "builtin_role_immutable");
  EXPECT_EQ(Code(Call("DELETE", "/v1/separation-of-duty/destroy-vs-unwrap", "", As(kAdmin))),
            "builtin_sod_immutable");
  EXPECT_EQ(Call("PUT", "/v1/roles/auditor", R"({"permissions":[]})", As(kAdmin)).status, 422);
}

TEST_F(RbacRoutesTest, AddBinding_FailsWithSodViolation) {
  MakePrincipal(kEngine, kEngineRole);
  server::Response response =
      Call("POST", "/v1/bindings",
           nlohmann::json({{"principal", kEngine}, {"role", kKeyOfficerRole}}).dump(), As(kAdmin));
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(Code(response), "sod_violation");
  EXPECT_EQ(rbac_->RolesOf(kEngine), (std::vector<std::string>{kEngineRole}));
}

TEST_F(RbacRoutesTest, Bindings_AddDuplicateRemove) {
  MakePrincipal("bob", kAuditorRole);
  server::Response duplicate =
      Call("POST", "/v1/bindings", R"({"principal":"bob","role":"auditor"})", As(kAdmin));
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(Code(duplicate), "binding_exists");

  server::Response removed =
      Call("DELETE", "/v1/bindings", R"({"principal":"bob","role":"auditor"})", As(kAdmin));
  EXPECT_EQ(removed.status, 204);
  EXPECT_TRUE(rbac_->RolesOf("bob").empty());
  EXPECT_EQ(
      Code(Call("DELETE", "/v1/bindings", R"({"principal":"bob","role":"auditor"})", As(kAdmin))),
      "binding_not_found");
}

TEST_F(RbacRoutesTest, ListBindings_FiltersByEncodedPrincipal) {
  MakePrincipal(kEngine, kEngineRole);
  server::Response response =
      Call("GET", std::string("/v1/bindings?principal=") + kEngineEncoded, "", As(kAdmin));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Json(response)["bindings"],
            nlohmann::json::parse(R"([{"principal":")" + std::string(kEngine) +
                                  R"(","role":"engine"}])"));
  EXPECT_EQ(Code(Call("GET", "/v1/bindings?role=engine", "", As(kAdmin))),
            "unknown_query_parameter");
}

TEST_F(RbacRoutesTest, RemoveLastAdmin_FailsWithLastAdmin) {
  server::Response response =
      Call("DELETE", "/v1/bindings",
           nlohmann::json({{"principal", kAdmin}, {"role", "admin"}}).dump(), As(kAdmin));
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(Code(response), "last_admin");
}

TEST_F(RbacRoutesTest, PrincipalPermissions_ShowsInheritancePaths) {
  server::Response response =
      Call("GET", std::string("/v1/principals/") + kAdminEncoded + "/permissions", "", As(kAdmin));
  ASSERT_EQ(response.status, 200) << response.body;
  nlohmann::json body = Json(response);
  EXPECT_EQ(body["engine"], nullptr);
  EXPECT_EQ(body["effective_roles"][1]["role"], "key-officer");
  EXPECT_EQ(body["effective_roles"][1]["path"], nlohmann::json::array({"admin", "key-officer"}));
  EXPECT_EQ(body["permissions"][0]["role"], "admin");
  EXPECT_EQ(body["permissions"][0]["index"], 0);
}

TEST_F(RbacRoutesTest, PatchPrincipal_DisablesAndTakesRolesAway) {
  MakePrincipal("bob", kAuditorRole);
  server::Response response =
      Call("PATCH", "/v1/principals/bob", R"({"disabled":true})", As(kAdmin));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(Json(response)["disabled"], true);
  EXPECT_TRUE(rbac_->RolesOf("bob").empty());
  EXPECT_EQ(Code(Call("PATCH", "/v1/principals/bob", R"({"disabled":"yes"})", As(kAdmin))),
            "invalid_field");
}

}  // namespace
}  // namespace weftkit::api
