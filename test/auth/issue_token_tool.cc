// issue_token_tool: issues real API tokens for jwt_interop_test.py to verify with independent
// JOSE libraries. Opens a fresh SoftHSM token and SQLite file, issues one token, rotates the
// signing key, issues another (and one for a second audience), then prints on stdout:
//
//   {"issuer":..., "audience":..., "other_audience":...,
//    "jwks":{"keys":[...]},                              // both keys, as the JWKS route serves
//    "tokens":[{"token":...,"kid":...,"jti":...,"sub":...,"auth_method":...}, ...],
//    "other_audience_token":"..."}
//
// The clock is the real one, because the Python libraries check exp against it. Exits 1, saying
// why on stderr, if anything fails. Test use only: it prints bearer tokens.
#include <iostream>
#include <nlohmann/json.hpp>

#include "auth/token_service.h"
#include "pkcs11/hsm.h"
#include "store/database.h"
#include "test/support/softhsm_token.h"

namespace weftkit::auth {
namespace {

constexpr const char* kIssuer = "https://kms.weftkit.local";
constexpr const char* kAudience = "https://kms.weftkit.local";
constexpr const char* kOtherAudience = "https://pool-manager.weftkit.local";

int Fail(const Error& error) {
  std::cerr << "issue_token_tool: " << error.ToString() << "\n";
  return 1;
}

nlohmann::json Describe(const IssuedToken& issued, const std::string& sub, const char* method) {
  return {{"token", std::string(issued.access_token.expose_chars())},
          {"kid", issued.kid},
          {"jti", issued.jti},
          {"sub", sub},
          {"auth_method", method},
          {"iat", issued.iat},
          {"exp", issued.exp}};
}

int Run() {
  auto token = test::SoftHsmToken::Create("weftkit-jwt-interop");
  if (token == nullptr) return 1;
  auto hsm = token->OpenHsm(/*sessions=*/1);
  if (!hsm.ok()) return Fail(hsm.error());
  auto database = store::Database::Open(token->dir() / "kms.db");
  if (!database.ok()) return Fail(database.error());

  TokenPolicy policy;
  policy.issuer = kIssuer;
  policy.audience = kAudience;
  policy.extra_audiences = {kOtherAudience};
  auto service = TokenService::Create(**hsm, std::move(database).value(), policy);
  if (!service.ok()) return Fail(service.error());
  TokenService& tokens = **service;

  const std::string person = "alice";
  const std::string engine = "spiffe://weftkit.dev/engine/orders";
  auto first = tokens.Issue(person, "", 300, AuthMethod::kScram);
  if (!first.ok()) return Fail(first.error());
  auto rotated = tokens.RotateSigningKey();
  if (!rotated.ok()) return Fail(rotated.error());
  auto second = tokens.Issue(engine, "", 300, AuthMethod::kMtls);
  if (!second.ok()) return Fail(second.error());
  auto other = tokens.Issue(engine, kOtherAudience, 300, AuthMethod::kMtls);
  if (!other.ok()) return Fail(other.error());

  nlohmann::json out = {
      {"issuer", kIssuer},
      {"audience", kAudience},
      {"other_audience", kOtherAudience},
      {"jwks", nlohmann::json::parse(tokens.JwkSetJson())},
      {"tokens", {Describe(*first, person, "scram"), Describe(*second, engine, "mtls")}},
      {"other_audience_token", std::string(other->access_token.expose_chars())},
  };
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace weftkit::auth

int main() { return weftkit::auth::Run(); }
