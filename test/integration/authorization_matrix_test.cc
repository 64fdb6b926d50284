// The authorization matrix of the real kmsd: every non-public route, one table row each, asked by
// four callers. A caller without credentials gets 401 credentials_required; a principal whose
// roles lack the permission gets 403 forbidden; the right role succeeds; and the same right-role
// principal, also bound to a role that denies exactly the route's action on its resource, gets
// 403 again, because an explicit deny beats every allow (docs/rbac.md). Listing routes answer
// 200 to everyone and instead leave out what the caller may not read, so their rows check that.
//
// The table is also checked against docs/openapi.yaml: every route documented there must have a
// row or be in the public list, so a new route cannot ship without its authorization checked.
// (test/api/check_openapi.py keeps docs/openapi.yaml equal to the routes registered in api/*.cc.)
//
// Roles are resolved per request, so one pair of certificates plays every role: the officer's
// certificate is rebound by the administrator to whatever role a row needs, and the engine's
// certificate (the only one whose principal is an engine, which `${engine}` patterns need) is the
// subject of the rows that only an engine may call.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "test/integration/kmsd_process.h"
#include "test/support/policy_documents.h"

namespace weftkit::test {
namespace {

constexpr const char* kOfficer = "spiffe://weftkit.dev/officer/alice";
constexpr const char* kEngine = "spiffe://weftkit.dev/engine/orders";

// The built-in roles (auth/builtin_roles.cc) and two made for this test.
constexpr const char* kEngineRole = "engine";
constexpr const char* kOfficerRole = "key-officer";
constexpr const char* kAuditorRole = "auditor";
constexpr const char* kAdminRole = "admin";
// Holds a permission that no route asks for, so it can stand for "some role, but the wrong one"
// where every built-in role would be allowed (all of them may issue a token for themselves).
constexpr const char* kBystanderRole = "bystander";
// Replaced before each row's deny check so that it denies exactly that row's action and resource.
constexpr const char* kDenyRole = "deny-under-test";

constexpr const char* kKeyName = "orders";
const nlohmann::json kDekContext = {{"table", "orders"}};

using Json = nlohmann::json;

// RFC 3986 percent-encoding of everything but unreserved characters, as principal ids travel in
// paths and queries.
std::string Encoded(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// JSON text of a request body.
std::string Text(const Json& body) { return body.dump(); }

// Sends `body` (JSON text, none when empty) and returns the response; an empty response when the
// connection broke, which fails the test.
HttpResponse Send(HttpsClient& client, const std::string& method, const std::string& path,
                  const std::string& body = "", const HeaderList& extra_headers = {}) {
  HeaderList headers = {{"content-type", "application/json"}};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  auto response = client.Send(method, path, body, headers);
  EXPECT_TRUE(response.ok()) << method << " " << path << ": " << response.error().ToString();
  return response.ok() ? std::move(response).value() : HttpResponse{};
}

// Sends and expects `status`; returns the parsed body (discarded when it is not JSON).
Json Expect(HttpsClient& client, const std::string& method, const std::string& path,
            const Json& body, int status) {
  HttpResponse response = Send(client, method, path, body.is_null() ? "" : body.dump());
  EXPECT_EQ(response.status, status) << method << " " << path << ": " << response.body;
  return Json::parse(response.body, nullptr, false);
}

std::string Code(const HttpResponse& response) {
  Json body = Json::parse(response.body, nullptr, false);
  return body.is_object() && body.contains("code") ? body["code"].get<std::string>() : "";
}

Json DenyOnly(const std::string& action, const std::string& resource) {
  return {
      {"permissions", {{{"effect", "deny"}, {"actions", {action}}, {"resources", {resource}}}}}};
}

Json AllowOnly(const std::string& action, const std::string& resource) {
  return {
      {"permissions", {{{"effect", "allow"}, {"actions", {action}}, {"resources", {resource}}}}}};
}

// What a row's setup may use: both callers keep their standing roles while setups run (the
// administrator is also a key officer, but holds no dek.* permission).
struct Callers {
  HttpsClient& admin;
  HttpsClient& engine;
};

using Setup = std::function<void(Callers&)>;

// A listing route shows only what its caller may read: the row's probe is the entry of array
// `field` whose `member` equals `value`, which the right role sees and the others do not.
struct Listing {
  std::string field;
  std::string member;
  std::string value;
};

enum class Area { kOperations, kKeys, kDeks, kAccess, kAuthentication, kPolicy, kAudit };

struct RouteRow {
  Area area;
  std::string method;
  std::string route;  // as docs/openapi.yaml writes it
  std::string path;   // the route with concrete values
  std::string body;   // JSON text; empty: no body
  std::string right_role;
  int success;
  std::string wrong_role;
  std::string action;    // what the route asks RBAC first
  std::string resource;  // ... and on which resource
  Setup setup;           // brings the state the right role needs; may be empty
  std::optional<Listing> listing;
};

// Values that exist only once a server runs; empty for the documentation check.
struct Prepared {
  std::string wrapped;  // a DEK wrapped under "orders" with kDekContext
  std::string jti;      // the id of a token the officer obtained
};

void CreateKey(Callers& callers, const std::string& name) {
  Expect(callers.admin, "POST", "/v1/keys", {{"name", name}}, 201);
}

// A key whose version 1 is no longer primary, so that it may be disabled or destroyed.
void CreateRotatedKey(Callers& callers, const std::string& name) {
  CreateKey(callers, name);
  Expect(callers.admin, "POST", "/v1/keys/" + name + "/rotate", nullptr, 200);
}

void CreatePrincipal(Callers& callers, const std::string& id) {
  Expect(callers.admin, "POST", "/v1/principals", {{"id", id}}, 201);
}

std::string VersionPath(const std::string& key, const char* change) {
  return "/v1/keys/" + key + "/versions/1/" + change;
}

std::vector<RouteRow> KeyRows() {
  const std::string key = kKeyName;
  const std::string resource = "key/" + key;
  return {
      {Area::kKeys, "POST", "/v1/keys", "/v1/keys", R"({"name": "orders.created"})", kOfficerRole,
       201, kEngineRole, "key.create", "key/orders.created"},
      {Area::kKeys, "GET", "/v1/keys", "/v1/keys", "", kAuditorRole, 200, kBystanderRole,
       "key.read", resource, nullptr, Listing{"keys", "name", key}},
      {Area::kKeys, "GET", "/v1/keys/{name}", "/v1/keys/" + key, "", kAuditorRole, 200,
       kBystanderRole, "key.read", resource},
      {Area::kKeys, "PATCH", "/v1/keys/{name}", "/v1/keys/" + key,
       R"({"rotation_period_s": 86400})", kOfficerRole, 200, kEngineRole, "key.manage_versions",
       resource},
      {Area::kKeys, "POST", "/v1/keys/{name}/rotate", "/v1/keys/" + key + "/rotate", "",
       kOfficerRole, 200, kEngineRole, "key.rotate", resource},
      {Area::kKeys, "POST", "/v1/keys/{name}/versions/{version}/disable",
       VersionPath("orders.disabled", "disable"), "", kOfficerRole, 200, kEngineRole,
       "key.manage_versions", "key/orders.disabled",
       [](Callers& callers) { CreateRotatedKey(callers, "orders.disabled"); }},
      {Area::kKeys, "POST", "/v1/keys/{name}/versions/{version}/enable",
       VersionPath("orders.enabled", "enable"), "", kOfficerRole, 200, kEngineRole,
       "key.manage_versions", "key/orders.enabled",
       [](Callers& callers) {
         CreateRotatedKey(callers, "orders.enabled");
         Expect(callers.admin, "POST", VersionPath("orders.enabled", "disable"), nullptr, 200);
       }},
      {Area::kKeys, "POST", "/v1/keys/{name}/versions/{version}/schedule-destruction",
       VersionPath("orders.doomed", "schedule-destruction"), R"({"wait_s": 86400})", kOfficerRole,
       200, kEngineRole, "key.destroy", "key/orders.doomed",
       [](Callers& callers) { CreateRotatedKey(callers, "orders.doomed"); }},
      {Area::kKeys, "POST", "/v1/keys/{name}/versions/{version}/cancel-destruction",
       VersionPath("orders.spared", "cancel-destruction"), "", kOfficerRole, 200, kEngineRole,
       "key.destroy", "key/orders.spared",
       [](Callers& callers) {
         CreateRotatedKey(callers, "orders.spared");
         Expect(callers.admin, "POST", VersionPath("orders.spared", "schedule-destruction"),
                {{"wait_s", 86400}}, 200);
       }},
  };
}

// The five DEK operations, each single and batched: only the owning engine may call them; a key
// officer (who holds key.*) may not.
std::vector<RouteRow> DekRows(const Prepared& prepared) {
  const std::string dek = Base64Encode(AsBytes("0123456789abcdef0123456789abcdef"));
  struct Operation {
    const char* name;
    const char* action;
    Json item;
  };
  const std::vector<Operation> operations = {
      {"generate-data-key", "dek.generate", {{"context", kDekContext}}},
      {"generate-data-key-without-plaintext", "dek.generate", {{"bytes", 16}}},
      {"wrap", "dek.wrap", {{"plaintext", dek}, {"context", kDekContext}}},
      {"unwrap", "dek.unwrap", {{"wrapped", prepared.wrapped}, {"context", kDekContext}}},
      {"rewrap", "dek.rewrap", {{"wrapped", prepared.wrapped}, {"context", kDekContext}}},
  };
  std::vector<RouteRow> rows;
  for (const auto& [operation, action, item] : operations) {
    const std::string suffix = std::string("/") + operation;
    rows.push_back({Area::kDeks, "POST", "/v1/keys/{name}" + suffix,
                    "/v1/keys/" + std::string(kKeyName) + suffix, item.dump(), kEngineRole, 200,
                    kOfficerRole, action, "key/" + std::string(kKeyName)});
    rows.push_back({Area::kDeks, "POST", "/v1/keys/{name}/batch" + suffix,
                    "/v1/keys/" + std::string(kKeyName) + "/batch" + suffix,
                    Text({{"items", {item, item}}}), kEngineRole, 200, kOfficerRole, action,
                    "key/" + std::string(kKeyName)});
  }
  return rows;
}

std::vector<RouteRow> PrincipalRows() {
  const std::string engine = Encoded(kEngine);
  const std::string engine_resource = std::string("principal/") + kEngine;
  const std::string created = "spiffe://weftkit.dev/engine/created";
  const std::string patched = "spiffe://weftkit.dev/engine/patched";
  const std::string deleted = "spiffe://weftkit.dev/engine/deleted";
  return {
      {Area::kAccess, "GET", "/v1/principals", "/v1/principals", "", kAuditorRole, 200, kEngineRole,
       "principal.read", engine_resource, nullptr, Listing{"principals", "id", kEngine}},
      {Area::kAccess, "POST", "/v1/principals", "/v1/principals", Text({{"id", created}}),
       kAdminRole, 201, kAuditorRole, "principal.manage", "principal/" + created},
      {Area::kAccess, "GET", "/v1/principals/{id}", "/v1/principals/" + engine, "", kAuditorRole,
       200, kEngineRole, "principal.read", engine_resource},
      {Area::kAccess, "PATCH", "/v1/principals/{id}", "/v1/principals/" + Encoded(patched),
       R"({"description": "changed by the matrix"})", kAdminRole, 200, kAuditorRole,
       "principal.manage", "principal/" + patched,
       [patched](Callers& callers) { CreatePrincipal(callers, patched); }},
      {Area::kAccess, "DELETE", "/v1/principals/{id}", "/v1/principals/" + Encoded(deleted), "",
       kAdminRole, 204, kAuditorRole, "principal.manage", "principal/" + deleted,
       [deleted](Callers& callers) { CreatePrincipal(callers, deleted); }},
      {Area::kAccess, "GET", "/v1/principals/{id}/permissions",
       "/v1/principals/" + engine + "/permissions", "", kAuditorRole, 200, kEngineRole,
       "principal.read", engine_resource},
  };
}

std::vector<RouteRow> RoleRows() {
  const Json permissions = AllowOnly("policy.read", "policy/*");
  return {
      {Area::kAccess, "GET", "/v1/roles", "/v1/roles", "", kAuditorRole, 200, kEngineRole,
       "role.read", "role/engine", nullptr, Listing{"roles", "name", "engine"}},
      {Area::kAccess, "POST", "/v1/roles", "/v1/roles",
       Text({{"name", "created"}, {"permissions", permissions["permissions"]}}), kAdminRole, 201,
       kAuditorRole, "role.manage", "role/created"},
      {Area::kAccess, "GET", "/v1/roles/{name}", "/v1/roles/auditor", "", kAuditorRole, 200,
       kEngineRole, "role.read", "role/auditor"},
      {Area::kAccess, "PUT", "/v1/roles/{name}", "/v1/roles/replaced", permissions.dump(),
       kAdminRole, 200, kAuditorRole, "role.manage", "role/replaced",
       [permissions](Callers& callers) {
         Json body = permissions;
         body["name"] = "replaced";
         Expect(callers.admin, "POST", "/v1/roles", body, 201);
       }},
      {Area::kAccess, "DELETE", "/v1/roles/{name}", "/v1/roles/deleted", "", kAdminRole, 204,
       kAuditorRole, "role.manage", "role/deleted",
       [permissions](Callers& callers) {
         Json body = permissions;
         body["name"] = "deleted";
         Expect(callers.admin, "POST", "/v1/roles", body, 201);
       }},
  };
}

// Separation-of-duty pairs that nobody here holds together (only admins revoke tokens, only
// engines handle DEKs), so that creating them cannot fail with sod_violation.
Json Constraint(const std::string& name, const char* second) {
  return {{"name", name}, {"first_actions", {"token.revoke"}}, {"second_actions", {second}}};
}

std::vector<RouteRow> BindingAndConstraintRows() {
  const std::string engine_resource = std::string("principal/") + kEngine;
  const std::string bound = "spiffe://weftkit.dev/engine/bound";
  const std::string unbound = "spiffe://weftkit.dev/engine/unbound";
  return {
      // With ?principal= the route asks principal.read on it; without, it filters.
      {Area::kAccess, "GET", "/v1/bindings", "/v1/bindings?principal=" + Encoded(kEngine), "",
       kAuditorRole, 200, kEngineRole, "principal.read", engine_resource},
      {Area::kAccess, "POST", "/v1/bindings", "/v1/bindings",
       Text({{"principal", bound}, {"role", kAuditorRole}}), kAdminRole, 201, kAuditorRole,
       "principal.manage", "principal/" + bound,
       [bound](Callers& callers) { CreatePrincipal(callers, bound); }},
      {Area::kAccess, "DELETE", "/v1/bindings", "/v1/bindings",
       Text({{"principal", unbound}, {"role", kAuditorRole}}), kAdminRole, 204, kAuditorRole,
       "principal.manage", "principal/" + unbound,
       [unbound](Callers& callers) {
         CreatePrincipal(callers, unbound);
         Expect(callers.admin, "POST", "/v1/bindings",
                {{"principal", unbound}, {"role", kAuditorRole}}, 201);
       }},
      {Area::kAccess, "GET", "/v1/separation-of-duty", "/v1/separation-of-duty", "", kAuditorRole,
       200, kEngineRole, "role.read", "sod/destroy-vs-unwrap", nullptr,
       Listing{"separation_of_duty", "name", "destroy-vs-unwrap"}},
      {Area::kAccess, "POST", "/v1/separation-of-duty", "/v1/separation-of-duty",
       Constraint("revoke-vs-generate", "dek.generate").dump(), kAdminRole, 201, kAuditorRole,
       "role.manage", "sod/revoke-vs-generate"},
      {Area::kAccess, "DELETE", "/v1/separation-of-duty/{name}",
       "/v1/separation-of-duty/revoke-vs-wrap", "", kAdminRole, 204, kAuditorRole, "role.manage",
       "sod/revoke-vs-wrap",
       [](Callers& callers) {
         Expect(callers.admin, "POST", "/v1/separation-of-duty",
                Constraint("revoke-vs-wrap", "dek.wrap"), 201);
       }},
  };
}

std::vector<RouteRow> AuthenticationRows(const Prepared& prepared) {
  return {
      // Not the user's own password (the caller is a certificate), so principal.manage decides.
      {Area::kAuthentication, "PUT", "/v1/principals/{name}/password",
       "/v1/principals/carol/password", R"({"password": "correct horse battery staple"})",
       kAdminRole, 200, kAuditorRole, "principal.manage", "principal/user:carol"},
      {Area::kAuthentication, "POST", "/v1/auth/tokens", "/v1/auth/tokens", R"({"lifetime_s": 60})",
       kAuditorRole, 200, kBystanderRole, "token.issue", "token/self"},
      {Area::kAuthentication, "POST", "/v1/auth/tokens/revoke", "/v1/auth/tokens/revoke",
       Text({{"jti", prepared.jti}}), kAdminRole, 200, kOfficerRole, "token.revoke",
       "token/" + prepared.jti},
      {Area::kAuthentication, "POST", "/v1/auth/signing-keys/rotate",
       "/v1/auth/signing-keys/rotate", "", kAdminRole, 200, kOfficerRole, "principal.manage",
       "principal/jwt-signing-keys"},
  };
}

// Publishes version 1 (and 2) of `scope` if they are not there yet; the status is not checked
// because every row's setup runs it again.
void PublishPolicy(Callers& callers, const std::string& scope, int versions) {
  for (int base = 0; base < versions; ++base) {
    Json body = {{"document", test::ReaderPolicy("t" + std::to_string(base) + ".*")},
                 {"base_version", base}};
    Send(callers.admin, "POST", "/v1/policy/scopes/" + scope + "/versions", body.dump());
  }
}

// Policy bundles (docs/policy-bundles.md): officers publish, readers read and watch the fleet,
// engines fetch, report and check. The bystander role holds policy.read, so rows needing more
// use it as the wrong role.
std::vector<RouteRow> PolicyRows() {
  const std::string scope = "cluster/matrix";
  const std::string base = "/v1/policy/scopes/" + scope;
  const std::string resource = "policy/" + scope;
  const Setup published = [scope](Callers& callers) { PublishPolicy(callers, scope, 1); };
  const Json check = {{"principal", "alice"},
                      {"database_type", "relational"},
                      {"action", "select"},
                      {"resource", "t0.x"}};
  const std::string scoped = "/v1/policy/scopes/{kind}/{name}";
  return {
      {Area::kPolicy, "GET", "/v1/policy/scopes", "/v1/policy/scopes", "", kAuditorRole, 200,
       kEngineRole, "policy.read", resource, published, Listing{"scopes", "scope", scope}},
      {Area::kPolicy, "POST", scoped + "/versions", "/v1/policy/scopes/cluster/matrix-new/versions",
       Text({{"document", test::ReaderPolicy("a.*")}, {"base_version", 0}}), kOfficerRole, 201,
       kAuditorRole, "policy.publish", "policy/cluster/matrix-new"},
      {Area::kPolicy, "GET", scoped + "/versions", base + "/versions", "", kAuditorRole, 200,
       kEngineRole, "policy.read", resource, published},
      {Area::kPolicy, "GET", scoped + "/versions/{version}", base + "/versions/1", "", kAuditorRole,
       200, kEngineRole, "policy.read", resource, published},
      {Area::kPolicy, "GET", scoped + "/diff", base + "/diff?from=1&to=1", "", kAuditorRole, 200,
       kEngineRole, "policy.read", resource, published},
      {Area::kPolicy, "POST", scoped + "/rollback",
       "/v1/policy/scopes/cluster/matrix-rollback/rollback",
       Text({{"version", 1}, {"base_version", 2}}), kOfficerRole, 201, kAuditorRole,
       "policy.publish", "policy/cluster/matrix-rollback",
       [](Callers& callers) { PublishPolicy(callers, "cluster/matrix-rollback", 2); }},
      {Area::kPolicy, "GET", scoped + "/bundle", base + "/bundle", "", kEngineRole, 200,
       kBystanderRole, "policy.fetch", resource, published},
      {Area::kPolicy, "POST", scoped + "/reports", base + "/reports",
       Text({{"instance", "i-1"}, {"version", 1}}), kEngineRole, 200, kAuditorRole, "policy.report",
       resource, published},
      {Area::kPolicy, "GET", scoped + "/fleet", base + "/fleet", "", kAuditorRole, 200, kEngineRole,
       "policy.fleet.read", resource, published},
      {Area::kPolicy, "POST", scoped + "/check", base + "/check", check.dump(), kEngineRole, 200,
       kBystanderRole, "policy.check", resource, published},
      {Area::kPolicy, "POST", "/v1/policy/keys/rotate", "/v1/policy/keys/rotate", "", kAdminRole,
       200, kOfficerRole, "principal.manage", "principal/policy-signing-keys"},
  };
}

// The audit log's export, stream and compliance evidence (docs/siem.md, docs/compliance.md).
std::vector<RouteRow> AuditExportRows() {
  auto row = [](const std::string& route, const std::string& query) {
    return RouteRow{Area::kAudit, "GET", route,       route + query, "",
                    kAuditorRole, 200,   kEngineRole, "audit.read",  "audit"};
  };
  return {
      row("/v1/audit/export", "?format=cef"),
      row("/v1/audit/stream", "?wait=0"),
      row("/v1/audit/compliance/access-review", "?format=csv"),
      row("/v1/audit/compliance/change-history", ""),
      row("/v1/audit/compliance/report", ""),
  };
}

// The audit log's routes: reading for auditors (and admins, officers), checkpoints for auditors
// and admins. Every request before these left entries, so the log is never empty here.
std::vector<RouteRow> AuditRows() {
  auto checkpoint_taken = [](Callers& callers) {
    Expect(callers.admin, "POST", "/v1/audit/checkpoints", nullptr, 201);
  };
  return {
      {Area::kAudit, "GET", "/v1/audit/entries", "/v1/audit/entries?limit=5", "", kAuditorRole, 200,
       kEngineRole, "audit.read", "audit"},
      {Area::kAudit, "GET", "/v1/audit/checkpoints", "/v1/audit/checkpoints", "", kAuditorRole, 200,
       kEngineRole, "audit.read", "audit"},
      {Area::kAudit, "GET", "/v1/audit/checkpoints/latest", "/v1/audit/checkpoints/latest", "",
       kAuditorRole, 200, kEngineRole, "audit.read", "audit", checkpoint_taken},
      {Area::kAudit, "POST", "/v1/audit/checkpoints", "/v1/audit/checkpoints", "", kAuditorRole,
       201, kOfficerRole, "audit.checkpoint", "audit"},
      {Area::kAudit, "GET", "/v1/audit/proofs/inclusion",
       "/v1/audit/proofs/inclusion?index=0&tree_size=1", "", kAuditorRole, 200, kEngineRole,
       "audit.read", "audit"},
      {Area::kAudit, "GET", "/v1/audit/proofs/consistency",
       "/v1/audit/proofs/consistency?first=1&second=2", "", kAuditorRole, 200, kEngineRole,
       "audit.read", "audit"},
  };
}

// Every non-public route of kmsd.
std::vector<RouteRow> ProtectedRoutes(const Prepared& prepared) {
  std::vector<RouteRow> rows = {
      {Area::kOperations, "GET", "/metrics", "/metrics", "", kAuditorRole, 200, kEngineRole,
       "metrics.read", "metrics"},
  };
  for (auto part :
       {KeyRows(), DekRows(prepared), PrincipalRows(), RoleRows(), BindingAndConstraintRows(),
        AuthenticationRows(prepared), PolicyRows(), AuditRows(), AuditExportRows()}) {
    rows.insert(rows.end(), part.begin(), part.end());
  }
  return rows;
}

struct PublicRoute {
  std::string method;
  std::string route;
  std::string authorization;  // the Authorization header, none when empty
  int status;
  std::string code;  // expected problem code, "" for a success
};

// The routes anyone may call. The SCRAM login's first step answers 401 scram_continue with a
// challenge by design; what matters is that it is not credentials_required.
std::vector<PublicRoute> PublicRoutes() {
  const std::string client_first = Base64Encode(AsBytes("n,,n=admin,r=matrixClientNonce0123"));
  return {
      {"GET", "/healthz", "", 200, ""},
      {"GET", "/readyz", "", 200, ""},
      {"GET", "/.well-known/jwks.json", "", 200, ""},
      {"GET", "/v1/policy/keys", "", 200, ""},

      {"GET", "/v1/audit/keys", "", 200, ""},
      {"POST", "/v1/auth/scram", "SCRAM-SHA-256 data=" + client_first, 401, "scram_continue"},
  };
}

using RouteKey = std::pair<std::string, std::string>;  // method, templated path

// Paths and methods of docs/openapi.yaml, read line by line: paths are indented two spaces,
// methods four, and an operation's own `security: []` (six spaces) makes it public.
struct DocumentedRoutes {
  std::set<RouteKey> all;
  std::set<RouteKey> public_routes;
};

DocumentedRoutes ReadOpenApi(const std::filesystem::path& file) {
  static const std::regex kPath(R"(^  (/\S*):\s*$)");
  static const std::regex kMethod(R"(^    (get|post|put|patch|delete):\s*$)");
  static const std::regex kPublic(R"(^      security: \[\]\s*$)");
  DocumentedRoutes documented;
  std::ifstream in(file);
  std::string line;
  std::string path;
  RouteKey current;
  std::smatch match;
  while (std::getline(in, line)) {
    if (std::regex_match(line, match, kPath)) {
      path = match[1];
    } else if (std::regex_match(line, match, kMethod)) {
      std::string method = match[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      current = {method, path};
      documented.all.insert(current);
    } else if (std::regex_match(line, kPublic)) {
      documented.public_routes.insert(current);
    }
  }
  return documented;
}

// Whether concrete `path` (its query ignored) fills templated `route` segment by segment.
bool Fills(const std::string& route, std::string path) {
  path = path.substr(0, path.find('?'));
  static const std::regex kParameter(R"(\{[a-z_]+\})");
  const std::string pattern = std::regex_replace(route, kParameter, "[^/]+");
  return std::regex_match(path, std::regex(pattern));
}

// A running kmsd with the three certificate callers. The officer and the engine are registered
// with their usual roles, a key "orders" exists, the engine wrapped a DEK under it and the
// officer obtained a token.
class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kmsd_ = KmsdProcess::Start();
    admin_ = kmsd_->Client("admin");
    officer_ = kmsd_->Client("officer");
    engine_ = kmsd_->Client("engine");
    ASSERT_NE(admin_, nullptr);
    ASSERT_NE(officer_, nullptr);
    ASSERT_NE(engine_, nullptr);

    Json bystander = AllowOnly("policy.read", "policy/*");
    bystander["name"] = kBystanderRole;
    Expect(*admin_, "POST", "/v1/roles", bystander, 201);
    Json deny = DenyOnly("policy.publish", "policy/none");
    deny["name"] = kDenyRole;
    Expect(*admin_, "POST", "/v1/roles", deny, 201);
    for (const char* principal : {kOfficer, kEngine}) {
      Expect(*admin_, "POST", "/v1/principals", {{"id", principal}}, 201);
    }
    SetRoles(kOfficer, {kOfficerRole});
    SetRoles(kEngine, {kEngineRole});

    Expect(*admin_, "POST", "/v1/keys", {{"name", kKeyName}}, 201);
    Json generated = Expect(*engine_, "POST", "/v1/keys/orders/generate-data-key",
                            {{"context", kDekContext}}, 200);
    Json token = Expect(*officer_, "POST", "/v1/auth/tokens", Json::object(), 200);
    ASSERT_TRUE(generated.contains("wrapped") && token.contains("jti"));
    prepared_ = {generated["wrapped"].get<std::string>(), token["jti"].get<std::string>()};
  }

  // Makes `principal`'s direct roles exactly `roles`, as the administrator.
  void SetRoles(const std::string& principal, const std::set<std::string>& roles) {
    std::set<std::string>& held = roles_[principal];
    for (const std::string& role : held) {
      if (roles.count(role) == 0) {
        Expect(*admin_, "DELETE", "/v1/bindings", {{"principal", principal}, {"role", role}}, 204);
      }
    }
    for (const std::string& role : roles) {
      if (held.count(role) == 0) {
        Expect(*admin_, "POST", "/v1/bindings", {{"principal", principal}, {"role", role}}, 201);
      }
    }
    held = roles;
  }

  // The client that acts with `role` (plus the deny role when asked): the engine's certificate
  // for the engine role, else the officer's, rebound.
  HttpsClient& Become(const std::string& role, bool with_deny) {
    const bool engine = role == kEngineRole;
    std::set<std::string> roles = {role};
    if (with_deny) roles.insert(kDenyRole);
    SetRoles(engine ? kEngine : kOfficer, roles);
    return engine ? *engine_ : *officer_;
  }

  static bool Lists(const HttpResponse& response, const Listing& listing) {
    Json body = Json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body[listing.field].is_array()) return false;
    for (const Json& entry : body[listing.field]) {
      if (entry.value(listing.member, "") == listing.value) return true;
    }
    return false;
  }

  static HttpResponse SendRow(HttpsClient& client, const RouteRow& row) {
    return Send(client, row.method, row.path, row.body);
  }

  void ExpectRefused(HttpsClient& caller, const RouteRow& row) {
    HttpResponse response = SendRow(caller, row);
    if (row.listing) {
      EXPECT_EQ(response.status, 200) << response.body;
      EXPECT_FALSE(Lists(response, *row.listing)) << response.body;
      return;
    }
    EXPECT_EQ(response.status, 403) << response.body;
    EXPECT_EQ(Code(response), "forbidden") << response.body;
  }

  void ExpectAllowed(HttpsClient& caller, const RouteRow& row) {
    HttpResponse response = SendRow(caller, row);
    EXPECT_EQ(response.status, row.success) << response.body;
    if (row.listing) {
      EXPECT_TRUE(Lists(response, *row.listing)) << response.body;
    }
    // A batch answers 200 even when its items fail; each item must have succeeded too.
    Json body = Json::parse(response.body, nullptr, false);
    if (body.is_object() && body.contains("results")) {
      for (const Json& item : body["results"]) {
        EXPECT_TRUE(item.value("ok", false)) << item;
      }
    }
  }

  // The four callers of one row, in an order that changes state only at the end.
  void CheckRow(const RouteRow& row) {
    SCOPED_TRACE(row.method + " " + row.path + " (right role " + row.right_role + ")");
    if (row.setup) {
      Callers callers{*admin_, *engine_};
      row.setup(callers);
    }

    auto anonymous = kmsd_->Client("");
    ASSERT_NE(anonymous, nullptr);
    HttpResponse unauthenticated = SendRow(*anonymous, row);
    EXPECT_EQ(unauthenticated.status, 401) << "no credentials: " << unauthenticated.body;
    EXPECT_EQ(Code(unauthenticated), "credentials_required");

    {
      SCOPED_TRACE("wrong role " + row.wrong_role);
      ExpectRefused(Become(row.wrong_role, false), row);
    }
    {
      SCOPED_TRACE("right role with a deny of " + row.action + " on " + row.resource);
      Expect(*admin_, "PUT", std::string("/v1/roles/") + kDenyRole,
             DenyOnly(row.action, row.resource), 200);
      ExpectRefused(Become(row.right_role, true), row);
    }
    ExpectAllowed(Become(row.right_role, false), row);
  }

  void CheckArea(Area area) {
    int checked = 0;
    for (const RouteRow& row : ProtectedRoutes(prepared_)) {
      if (row.area != area) continue;
      CheckRow(row);
      ++checked;
    }
    EXPECT_GT(checked, 0);
  }

  std::unique_ptr<KmsdProcess> kmsd_;
  std::unique_ptr<HttpsClient> admin_;
  std::unique_ptr<HttpsClient> officer_;
  std::unique_ptr<HttpsClient> engine_;
  std::map<std::string, std::set<std::string>> roles_;
  Prepared prepared_;
};

TEST_F(AuthorizationMatrixTest, KeyLifecycleRoutes_AllowOnlyTheRightRole_AndDenyWins) {
  CheckArea(Area::kKeys);
}

TEST_F(AuthorizationMatrixTest, DekRoutes_AllowOnlyTheOwningEngine_AndDenyWins) {
  CheckArea(Area::kDeks);
}

TEST_F(AuthorizationMatrixTest, AccessRoutes_AllowOnlyTheRightRole_AndDenyWins) {
  CheckArea(Area::kAccess);
}

TEST_F(AuthorizationMatrixTest, AuthenticationAndMetricsRoutes_AllowOnlyTheRightRole_AndDenyWins) {
  CheckArea(Area::kAuthentication);
  CheckArea(Area::kOperations);
}

TEST_F(AuthorizationMatrixTest, PolicyRoutes_AllowOnlyTheRightRole_AndDenyWins) {
  CheckArea(Area::kPolicy);
}

TEST_F(AuthorizationMatrixTest, AuditRoutes_AllowOnlyTheRightRole_AndDenyWins) {
  CheckArea(Area::kAudit);
}

TEST_F(AuthorizationMatrixTest, PublicRoutes_Answer_WithoutCredentials) {
  for (const PublicRoute& route : PublicRoutes()) {
    SCOPED_TRACE(route.method + " " + route.route);
    auto anonymous = kmsd_->Client("");
    ASSERT_NE(anonymous, nullptr);
    HeaderList headers;
    if (!route.authorization.empty()) headers.emplace_back("authorization", route.authorization);
    HttpResponse response = Send(*anonymous, route.method, route.route, "", headers);
    EXPECT_EQ(response.status, route.status) << response.body;
    EXPECT_EQ(Code(response), route.code) << response.body;
  }
}

TEST(AuthorizationMatrixCoverageTest, RouteTable_MatchesOpenApi_EveryRouteHasARow) {
  // Not derived from __FILE__: with a build directory inside the source tree, Ninja passes
  // relative source paths, and the test runs in another directory.
  const std::filesystem::path openapi =
      std::filesystem::path(WEFTKIT_SOURCE_DIR) / "docs" / "openapi.yaml";
  DocumentedRoutes documented = ReadOpenApi(openapi);
  ASSERT_GE(documented.all.size(), 40u) << "cannot read " << openapi;

  std::set<RouteKey> protected_routes;
  for (const RouteRow& row : ProtectedRoutes(Prepared{"wrapped", "jti"})) {
    EXPECT_TRUE(protected_routes.insert({row.method, row.route}).second)
        << "two rows for " << row.method << " " << row.route;
    EXPECT_TRUE(Fills(row.route, row.path)) << row.path << " is not a " << row.route;
  }
  std::set<RouteKey> public_routes;
  for (const PublicRoute& route : PublicRoutes()) public_routes.insert({route.method, route.route});

  std::set<RouteKey> tabled = protected_routes;
  tabled.insert(public_routes.begin(), public_routes.end());
  EXPECT_EQ(tabled.size(), protected_routes.size() + public_routes.size());
  for (const RouteKey& route : documented.all) {
    EXPECT_EQ(tabled.count(route), 1u) << route.first << " " << route.second << " has no row";
  }
  for (const RouteKey& route : tabled) {
    EXPECT_EQ(documented.all.count(route), 1u)
        << route.first << " " << route.second << " is not in docs/openapi.yaml";
  }
  EXPECT_EQ(documented.public_routes, public_routes) << "security: [] marks other routes public";
}

}  // namespace
}  // namespace weftkit::test
