// Authentication end to end through the real kmsd over real TLS 1.3: API tokens (JWT) obtained
// with a client certificate and used without one, checked against the published JWK set with
// OpenSSL alone, refused when tampered with, forged, expired or revoked, and powerless the moment
// a binding goes; and SCRAM-SHA-256-PLUS logins bound to their TLS connection, starting from the
// one-time administrator password kmsd prints at its first start. Neither passwords nor tokens
// may ever reach the server's log.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <regex>
#include <thread>

#include "auth/token_service.h"
#include "common/base64.h"
#include "pkcs11/hsm.h"
#include "store/database.h"
#include "test/auth/scram_test_client.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using auth::scram_test::ScramTestClient;

// kmsd's defaults, which the test configuration keeps.
constexpr const char* kIssuer = "https://kms.weftkit.local";
constexpr const char* kAudience = "weftkit-kms";

// ---- JOSE by hand, with OpenSSL only: an independent check of what the server signs ----------

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string UrlEncode(std::string_view text) { return Base64UrlEncode(AsBytes(text)); }

std::string UrlDecode(std::string_view text) {
  Result<std::vector<std::uint8_t>> bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : std::string();
}

// The three parts of a compact JWS.
std::vector<std::string> SplitJws(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(token.substr(start));
  return parts;
}

// The P-256 public key of an EC JWK (RFC 7518 §6.2.1).
PkeyPtr PublicKeyOf(const nlohmann::json& jwk) {
  std::string point = "\x04" + UrlDecode(jwk.value("x", "")) + UrlDecode(jwk.value("y", ""));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> context(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (context == nullptr || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  return PkeyPtr(key);
}

// The JOSE signature r || s (RFC 7518 §3.4) as the DER ECDSA-Sig-Value OpenSSL verifies.
std::string JoseToDer(const std::string& raw) {
  if (raw.size() != 64) return "";
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* signature = ECDSA_SIG_new();
  ECDSA_SIG_set0(signature, BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(signature, &der);
  std::string out = length > 0 ? std::string(reinterpret_cast<char*>(der), length) : "";
  OPENSSL_free(der);
  ECDSA_SIG_free(signature);
  return out;
}

// True when `token`'s ES256 signature verifies under `key`.
bool VerifiesEs256(const std::string& token, EVP_PKEY* key) {
  std::vector<std::string> parts = SplitJws(token);
  if (parts.size() != 3 || key == nullptr) return false;
  const std::string signed_part = parts[0] + "." + parts[1];
  const std::string der = JoseToDer(UrlDecode(parts[2]));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                          reinterpret_cast<const unsigned char*>(signed_part.data()),
                          signed_part.size()) == 1;
}

// The SubjectPublicKeyInfo PEM of `key`: the "secret" of the classic HS256 confusion attack.
std::string PublicKeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) return "";
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// A token with `header` over the claims of `token`, signed HS256 with `secret`.
std::string ForgeHs256(const std::string& token, const nlohmann::json& header,
                       const std::string& secret) {
  const std::string signed_part = UrlEncode(header.dump()) + "." + SplitJws(token)[1];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
       &length);
  return signed_part + "." + Base64UrlEncode(std::span<const std::uint8_t>(mac, length));
}

std::string RandomNonce() {
  std::uint8_t bytes[18];
  RAND_bytes(bytes, sizeof(bytes));
  return Base64Encode(bytes);
}

// ---- The fixture -------------------------------------------------------------------------------

class AuthE2eTest : public KmsdTest {
 protected:
  KmsdOptions Options() override { return {.settings = {{"auth.lockout_failures", "3"}}}; }

  // A client without a certificate: it can prove itself only with a bearer token.
  std::unique_ptr<HttpsClient> Anonymous() {
    std::unique_ptr<HttpsClient> client = kmsd_->Client("");
    EXPECT_NE(client, nullptr);
    return client;
  }

  HttpResponse WithBearer(HttpsClient& client, const std::string& method, const std::string& path,
                          const std::string& token, const nlohmann::json& body = nullptr) {
    std::string text = body.is_null() ? "" : body.dump();
    auto response =
        client.Send(method, path, text,
                    {{"content-type", "application/json"}, {"authorization", "Bearer " + token}});
    EXPECT_TRUE(response.ok()) << method << " " << path;
    return response.ok() ? std::move(response).value() : HttpResponse{};
  }

  // {"access_token", "jti", ...} issued to the engine for its client certificate.
  nlohmann::json EngineToken() {
    HttpResponse issued = Call(*engine_, "POST", "/v1/auth/tokens", nlohmann::json::object());
    EXPECT_EQ(issued.status, 200) << issued.body;
    EXPECT_EQ(issued.Header("cache-control"), "no-store");
    return Json(issued);
  }

  HttpResponse GenerateWith(HttpsClient& client, const std::string& token) {
    return WithBearer(client, "POST", "/v1/keys/orders/generate-data-key", token,
                      {{"context", {{"table", "orders"}}}});
  }

  // Connects the fixture's clients again after kmsd moved to a new port.
  void Reconnect() {
    admin_ = kmsd_->Client("admin");
    officer_ = kmsd_->Client("officer");
    engine_ = kmsd_->Client("engine");
    ASSERT_NE(admin_, nullptr);
  }

  // The one-time password kmsd printed for "admin" at its first start.
  std::string OneTimePassword() {
    std::smatch match;
    std::string out = kmsd_->Stdout();
    EXPECT_TRUE(std::regex_search(out, match, std::regex("one-time password (\\S+)"))) << out;
    return match.empty() ? "" : match[1].str();
  }

  // ---- SCRAM over HTTP (RFC 7804) -------------------------------------------------------------

  struct Step {
    HttpResponse response;
    std::string sid;
    std::string data;  // the decoded data= of WWW-Authenticate or Authentication-Info
  };

  // A PLUS client bound to `connection`'s TLS exporter.
  static ScramTestClient PlusClient(const std::string& user, const std::string& password,
                                    const HttpsClient& connection) {
    return ScramTestClient(user, password, RandomNonce(), "p=tls-exporter,,",
                           connection.tls_exporter());
  }

  Step Send(HttpsClient& client, const std::string& authorization) {
    Step step;
    auto response = client.Send("POST", "/v1/auth/scram", "", {{"authorization", authorization}});
    EXPECT_TRUE(response.ok());
    if (!response.ok()) return step;
    step.response = std::move(response).value();
    std::string header = step.response.Header("www-authenticate");
    if (header.empty()) header = step.response.Header("authentication-info");
    std::smatch match;
    if (std::regex_search(header, match, std::regex("sid=([A-Za-z0-9_-]+)"))) step.sid = match[1];
    if (std::regex_search(header, match, std::regex("data=([A-Za-z0-9+/=]+)"))) {
      Result<std::vector<std::uint8_t>> data = Base64Decode(match[1].str());
      if (data.ok()) step.data.assign(data->begin(), data->end());
    }
    return step;
  }

  Step Start(HttpsClient& client, const ScramTestClient& scram) {
    return Send(client, "SCRAM-SHA-256-PLUS data=" + Base64Encode(AsBytes(scram.ClientFirst())));
  }

  Step Finish(HttpsClient& client, const std::string& sid, const std::string& client_final) {
    return Send(client,
                "SCRAM-SHA-256-PLUS sid=" + sid + ", data=" + Base64Encode(AsBytes(client_final)));
  }

  // A whole PLUS login on `client`; returns the final step (200 with a token on success).
  Step Login(HttpsClient& client, const std::string& user, const std::string& password) {
    ScramTestClient scram = PlusClient(user, password, client);
    Step first = Start(client, scram);
    if (first.response.status != 401 || first.sid.empty()) return first;
    Result<std::string> client_final = scram.ClientFinal(first.data);
    EXPECT_TRUE(client_final.ok());
    Step final_step = Finish(client, first.sid, client_final.ok() ? *client_final : "");
    if (final_step.response.status == 200) {
      EXPECT_TRUE(scram.VerifyServerFinal(final_step.data)) << "server signature does not verify";
    }
    return final_step;
  }

  // Login, retried after each back-off (429 auth_throttled) the server asks for.
  Step LoginPatiently(HttpsClient& client, const std::string& user, const std::string& password) {
    Step step = Login(client, user, password);
    for (int tries = 0;
         tries < 5 && step.response.status == 429 && Code(step.response) == "auth_throttled";
         ++tries) {
      std::this_thread::sleep_for(
          std::chrono::seconds(std::stoi(step.response.Header("retry-after"))));
      step = Login(client, user, password);
    }
    return step;
  }

  std::string LoginToken(HttpsClient& client, const std::string& user,
                         const std::string& password) {
    Step step = Login(client, user, password);
    EXPECT_EQ(step.response.status, 200) << step.response.body;
    return Json(step.response).value("access_token", "");
  }

  static constexpr const char* kNewPassword = "correct horse battery staple";
};

// ---- API tokens
// ----------------------------------------------------------------------------------

TEST_F(AuthE2eTest, EngineToken_WorksWithoutCertificate_AndVerifiesAgainstTheJwkSet) {
  CreateKey("orders");
  nlohmann::json issued = EngineToken();
  const std::string token = issued.value("access_token", "");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(issued["token_type"], "Bearer");

  auto anonymous = Anonymous();
  HttpResponse without_token = Call(*anonymous, "POST", "/v1/keys/orders/generate-data-key",
                                    {{"context", nlohmann::json::object()}});
  EXPECT_EQ(without_token.status, 401);
  EXPECT_EQ(Code(without_token), "credentials_required");
  HttpResponse generated = GenerateWith(*anonymous, token);
  ASSERT_EQ(generated.status, 200) << generated.body;
  EXPECT_EQ(Json(generated)["key"], "orders");

  // The header and claims say what docs/tokens.md promises.
  std::vector<std::string> parts = SplitJws(token);
  ASSERT_EQ(parts.size(), 3u);
  nlohmann::json header = nlohmann::json::parse(UrlDecode(parts[0]));
  nlohmann::json claims = nlohmann::json::parse(UrlDecode(parts[1]));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(claims["sub"], kEngine);
  EXPECT_EQ(claims["iss"], kIssuer);
  EXPECT_EQ(claims["aud"], kAudience);
  EXPECT_EQ(claims["jti"], issued["jti"]);
  EXPECT_EQ(claims["auth_method"], "mtls");

  // The public JWK set, fetched anonymously, verifies the signature; the key is picked by kid.
  HttpResponse jwks = Call(*anonymous, "GET", "/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  const nlohmann::json key_set = Json(jwks);
  PkeyPtr key;
  for (const nlohmann::json& jwk : key_set["keys"]) {
    if (jwk["kid"] == header["kid"]) key = PublicKeyOf(jwk);
  }
  ASSERT_NE(key, nullptr) << "kid " << header["kid"] << " not in " << jwks.body;
  EXPECT_TRUE(VerifiesEs256(token, key.get()));
  std::string flipped = token;
  flipped[parts[0].size() + 5] ^= 0x01;  // one bit of the claims
  EXPECT_FALSE(VerifiesEs256(flipped, key.get()));

  EXPECT_EQ(kmsd_->Log().find(token), std::string::npos);
  EXPECT_EQ(kmsd_->Log().find(parts[2]), std::string::npos);
}

TEST_F(AuthE2eTest, TamperedOrForgedTokens_AreRefusedWithTheirCodes) {
  CreateKey("orders");
  const std::string token = EngineToken().value("access_token", "");
  std::vector<std::string> parts = SplitJws(token);
  ASSERT_EQ(parts.size(), 3u);
  nlohmann::json header = nlohmann::json::parse(UrlDecode(parts[0]));
  HttpResponse jwks = Call(*engine_, "GET", "/.well-known/jwks.json");
  PkeyPtr key = PublicKeyOf(Json(jwks)["keys"][0]);
  ASSERT_NE(key, nullptr);

  // Claims rewritten to another principal, the server's signature kept.
  nlohmann::json claims = nlohmann::json::parse(UrlDecode(parts[1]));
  claims["sub"] = kOfficer;
  const std::string escalated = parts[0] + "." + UrlEncode(claims.dump()) + "." + parts[2];
  // HS256 keyed with the server's public key (RFC 8725 §2.1), and "none" without a signature.
  nlohmann::json hs256 = header;
  hs256["alg"] = "HS256";
  nlohmann::json none = header;
  none["alg"] = "none";
  const std::string unsigned_token = UrlEncode(none.dump()) + "." + parts[1] + ".";
  const std::string none_keeping_signature =
      UrlEncode(none.dump()) + "." + parts[1] + "." + parts[2];

  const struct {
    const char* what;
    std::string token;
    const char* code;
  } kCases[] = {
      {"claims rewritten", escalated, "token_signature"},
      {"HS256 with the public key", ForgeHs256(token, hs256, PublicKeyPem(key.get())),
       "token_algorithm"},
      {"alg none, no signature", unsigned_token, "token_malformed"},
      {"alg none, signature kept", none_keeping_signature, "token_algorithm"},
      // 84 of 86 characters: canonical base64url of 63 bytes, one short of r || s.
      {"truncated signature", token.substr(0, token.size() - 2), "token_signature"},
      // 85 characters: no base64 text has that length (85 mod 4 == 1), whatever the
      // signature's bits. Cutting to 82 would leave a partial final byte whose spare bits are
      // zero one time in sixteen, which then decodes and fails as a signature instead.
      {"signature cut mid-character", token.substr(0, token.size() - 1), "token_malformed"},
  };
  auto anonymous = Anonymous();
  for (const auto& tampered : kCases) {
    HttpResponse response = GenerateWith(*anonymous, tampered.token);
    EXPECT_EQ(response.status, 401) << tampered.what << ": " << response.body;
    EXPECT_EQ(Code(response), tampered.code) << tampered.what << ": " << response.body;
  }
  EXPECT_EQ(GenerateWith(*anonymous, token).status, 200);  // the original still works
}

TEST_F(AuthE2eTest, RevokedToken_IsRefused_AlsoAfterRestart) {
  CreateKey("orders");
  nlohmann::json revoked = EngineToken();
  nlohmann::json kept = EngineToken();
  auto anonymous = Anonymous();
  ASSERT_EQ(GenerateWith(*anonymous, revoked["access_token"]).status, 200);

  // An engine may obtain tokens but not revoke them; the administrator may.
  EXPECT_EQ(Call(*engine_, "POST", "/v1/auth/tokens/revoke", {{"jti", revoked["jti"]}}).status,
            403);
  HttpResponse revocation =
      Call(*admin_, "POST", "/v1/auth/tokens/revoke", {{"jti", revoked["jti"]}});
  ASSERT_EQ(revocation.status, 200) << revocation.body;
  HttpResponse refused = GenerateWith(*anonymous, revoked["access_token"]);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Code(refused), "token_revoked");

  kmsd_->Restart();
  Reconnect();
  anonymous = Anonymous();
  refused = GenerateWith(*anonymous, revoked["access_token"]);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Code(refused), "token_revoked");
  // The same signing key still verifies the token that was not revoked.
  EXPECT_EQ(GenerateWith(*anonymous, kept["access_token"]).status, 200);
}

TEST_F(AuthE2eTest, ExpiredToken_SignedWithTheServersOwnKey_IsRefused) {
  CreateKey("orders");
  ASSERT_EQ(kmsd_->Stop(), 0);
  std::string expired;
  {
    // With kmsd stopped, mint a token with kmsd's own signing key and a clock an hour behind,
    // so that only its exp is wrong.
    auto hsm = kmsd_->token().OpenHsm(/*sessions=*/1);
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    auto database = store::Database::Open(kmsd_->dir() / "kms.db");
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auth::TokenPolicy policy;
    policy.issuer = kIssuer;
    policy.audience = kAudience;
    policy.now = [] { return static_cast<std::int64_t>(std::time(nullptr)) - 3600; };
    auto tokens = auth::TokenService::Create(**hsm, std::move(database).value(), policy);
    ASSERT_TRUE(tokens.ok()) << tokens.error().ToString();
    auto issued = (*tokens)->Issue(kEngine, "", 600, AuthMethod::kMtls);
    ASSERT_TRUE(issued.ok()) << issued.error().ToString();
    expired = std::string(issued->access_token.expose_chars());
  }
  kmsd_->Restart();
  Reconnect();

  auto anonymous = Anonymous();
  HttpResponse refused = GenerateWith(*anonymous, expired);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Code(refused), "token_expired") << refused.body;
  EXPECT_EQ(GenerateWith(*anonymous, EngineToken()["access_token"]).status, 200);
}

TEST_F(AuthE2eTest, RemovedBinding_TakesEffectOnTheSameTokenAtOnce) {
  CreateKey("orders");
  const std::string token = EngineToken().value("access_token", "");
  auto anonymous = Anonymous();
  ASSERT_EQ(GenerateWith(*anonymous, token).status, 200);

  HttpResponse removed =
      Call(*admin_, "DELETE", "/v1/bindings", {{"principal", kEngine}, {"role", "engine"}});
  ASSERT_EQ(removed.status, 204) << removed.body;
  HttpResponse refused = GenerateWith(*anonymous, token);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Code(refused), "forbidden");

  Bind(kEngine, "engine");
  EXPECT_EQ(GenerateWith(*anonymous, token).status, 200);
}

TEST_F(AuthE2eTest, TokenIssue_RequiresAClientCertificate) {
  const std::string token = EngineToken().value("access_token", "");
  auto anonymous = Anonymous();
  HttpResponse minted =
      WithBearer(*anonymous, "POST", "/v1/auth/tokens", token, nlohmann::json::object());
  EXPECT_EQ(minted.status, 403);
  EXPECT_EQ(Code(minted), "token_issue_requires_mtls");
}

// ---- Passwords (SCRAM-SHA-256-PLUS)
// --------------------------------------------------------------

TEST_F(AuthE2eTest, BootstrapAdmin_MustChangePassword_ThenHasTheAdminRole) {
  CreateKey("orders");
  const std::string one_time = OneTimePassword();
  ASSERT_EQ(one_time.size(), 32u);
  auto person = Anonymous();

  Step step = Login(*person, "admin", one_time);
  ASSERT_EQ(step.response.status, 200) << step.response.body;
  EXPECT_EQ(Json(step.response)["must_change_password"], true);
  const std::string restricted = Json(step.response).value("access_token", "");

  // The restricted token sees nothing and may do nothing but set its own password.
  // Listings filter by permission, so they answer with nothing rather than 403.
  HttpResponse keys = WithBearer(*person, "GET", "/v1/keys", restricted);
  EXPECT_EQ(keys.status, 200);
  EXPECT_EQ(Json(keys)["keys"], nlohmann::json::array()) << keys.body;
  HttpResponse nobody = WithBearer(*person, "GET", "/v1/principals", restricted);
  EXPECT_EQ(Json(nobody)["principals"], nlohmann::json::array()) << nobody.body;
  EXPECT_EQ(WithBearer(*person, "POST", "/v1/keys", restricted, {{"name", "x"}}).status, 403);
  EXPECT_EQ(WithBearer(*person, "GET", "/v1/principals/user:admin", restricted).status, 403);
  EXPECT_EQ(WithBearer(*person, "PUT", "/v1/principals/mallory/password", restricted,
                       {{"password", kNewPassword}})
                .status,
            403);
  HttpResponse changed = WithBearer(*person, "PUT", "/v1/principals/admin/password", restricted,
                                    {{"password", kNewPassword}, {"iterations", 4096}});
  ASSERT_EQ(changed.status, 200) << changed.body;

  // The one-time password is spent; the new one gives a token with the admin role.
  EXPECT_EQ(Code(Login(*person, "admin", one_time).response), "scram_invalid_proof");
  step = LoginPatiently(*person, "admin", kNewPassword);
  ASSERT_EQ(step.response.status, 200) << step.response.body;
  EXPECT_EQ(Json(step.response)["must_change_password"], false);
  const std::string full = Json(step.response).value("access_token", "");
  HttpResponse principals = WithBearer(*person, "GET", "/v1/principals", full);
  ASSERT_EQ(principals.status, 200) << principals.body;
  EXPECT_NE(principals.body.find("\"user:admin\""), std::string::npos) << principals.body;
  EXPECT_NE(principals.body.find(kEngine), std::string::npos) << principals.body;
  EXPECT_EQ(Json(WithBearer(*person, "GET", "/v1/keys", full))["keys"].size(), 1u);

  // The claims say how the person proved themself.
  nlohmann::json claims = nlohmann::json::parse(UrlDecode(SplitJws(full)[1]));
  EXPECT_EQ(claims["sub"], "user:admin");
  EXPECT_EQ(claims["auth_method"], "scram");

  // Nothing secret reached the log.
  const std::string log = kmsd_->Log();
  for (const std::string& secret : {one_time, std::string(kNewPassword), restricted, full}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the log";
  }
  EXPECT_NE(log.find("scram_login_succeeded"), std::string::npos);
}

TEST_F(AuthE2eTest, OneTimeToken_StaysRestricted_AfterThePasswordChange) {
  // docs/scram.md: the token the one-time password yields "is good only for PUT
  // /v1/principals/admin/password"; a password change must not turn it into an admin token,
  // or whoever read the one-time password on the console could wait for the real admin to
  // change it and then act as admin. The restriction travels in the token's scope claim.
  auto person = Anonymous();
  const std::string restricted = LoginToken(*person, "admin", OneTimePassword());
  ASSERT_EQ(WithBearer(*person, "PUT", "/v1/principals/admin/password", restricted,
                       {{"password", kNewPassword}, {"iterations", 4096}})
                .status,
            200);
  HttpResponse created = WithBearer(*person, "POST", "/v1/principals", restricted,
                                    {{"id", "spiffe://weftkit.dev/engine/rogue"}});
  EXPECT_EQ(created.status, 403) << created.body;
}

TEST_F(AuthE2eTest, WrongPasswordAndUnknownUser_AreRefusedAlike) {
  auto person = Anonymous();
  Step wrong = Login(*person, "admin", "not the one-time password");
  Step unknown = Login(*person, "nobody", "not the one-time password");
  EXPECT_EQ(wrong.response.status, 401);
  EXPECT_EQ(unknown.response.status, 401);
  EXPECT_EQ(Code(wrong.response), "scram_invalid_proof");
  EXPECT_EQ(Code(unknown.response), Code(wrong.response));
  EXPECT_EQ(wrong.data, "e=invalid-proof");
  EXPECT_EQ(unknown.data, wrong.data);
  EXPECT_EQ(Json(wrong.response).value("title", "?"), Json(unknown.response).value("title", ""));
}

TEST_F(AuthE2eTest, ReplayedClientFinal_IsRefused) {
  auto person = Anonymous();
  ScramTestClient scram = PlusClient("admin", OneTimePassword(), *person);
  Step first = Start(*person, scram);
  ASSERT_EQ(first.response.status, 401);
  EXPECT_EQ(Code(first.response), "scram_continue");
  Result<std::string> client_final = scram.ClientFinal(first.data);
  ASSERT_TRUE(client_final.ok());
  ASSERT_EQ(Finish(*person, first.sid, *client_final).response.status, 200);

  Step replayed = Finish(*person, first.sid, *client_final);
  EXPECT_EQ(replayed.response.status, 401);
  EXPECT_EQ(Code(replayed.response), "scram_unknown_exchange");
  EXPECT_EQ(replayed.response.body.find("access_token"), std::string::npos);
}

TEST_F(AuthE2eTest, PlusExchange_FinishedOnAnotherConnection_IsRefused) {
  auto first_connection = Anonymous();
  auto second_connection = Anonymous();
  ASSERT_EQ(first_connection->tls_exporter().size(), 32u);
  ASSERT_NE(first_connection->tls_exporter(), second_connection->tls_exporter());
  ScramTestClient scram = PlusClient("admin", OneTimePassword(), *first_connection);
  Step first = Start(*first_connection, scram);
  ASSERT_EQ(first.response.status, 401);
  Result<std::string> client_final = scram.ClientFinal(first.data);
  ASSERT_TRUE(client_final.ok());

  // A correct proof, bound to the first connection, arriving through the second.
  Step moved = Finish(*second_connection, first.sid, *client_final);
  EXPECT_EQ(moved.response.status, 401);
  EXPECT_EQ(Code(moved.response), "scram_channel_bindings_dont_match");
  EXPECT_EQ(moved.data, "e=channel-bindings-dont-match");
  EXPECT_EQ(moved.response.body.find("access_token"), std::string::npos);
}

TEST_F(AuthE2eTest, PlusExchange_BoundToAnotherConnectionsExporter_IsRefused) {
  auto person = Anonymous();
  auto other = Anonymous();
  // The client claims the exporter of a connection it is not using (a man in the middle would).
  ScramTestClient scram = PlusClient("admin", OneTimePassword(), *other);
  Step first = Start(*person, scram);
  Result<std::string> client_final = scram.ClientFinal(first.data);
  ASSERT_TRUE(client_final.ok());
  Step final_step = Finish(*person, first.sid, *client_final);
  EXPECT_EQ(final_step.response.status, 401);
  EXPECT_EQ(Code(final_step.response), "scram_channel_bindings_dont_match");
}

TEST_F(AuthE2eTest, RepeatedFailures_ThrottleThenLockTheAccount) {
  auto person = Anonymous();
  const std::string password = OneTimePassword();
  ASSERT_EQ(Login(*person, "admin", "wrong password 1").response.status, 401);

  // Right after a failure the name is throttled, even with the right password.
  Step throttled = Login(*person, "admin", password);
  EXPECT_EQ(throttled.response.status, 429);
  EXPECT_EQ(Code(throttled.response), "auth_throttled");
  ASSERT_FALSE(throttled.response.Header("retry-after").empty());

  // auth.lockout_failures = 3: the third consecutive failure locks the account.
  for (int failure = 2; failure <= 3; ++failure) {
    Step step = LoginPatiently(*person, "admin", "wrong password");
    EXPECT_EQ(Code(step.response), "scram_invalid_proof") << failure << ": " << step.response.body;
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));  // past any back-off
  Step locked = Login(*person, "admin", password);
  EXPECT_EQ(locked.response.status, 429) << locked.response.body;
  EXPECT_EQ(Code(locked.response), "account_locked");
  ASSERT_FALSE(locked.response.Header("retry-after").empty());
  EXPECT_GT(std::stoi(locked.response.Header("retry-after")), 30);  // longer than any back-off

  // The lock is per name: another name is not affected.
  EXPECT_EQ(Code(Login(*person, "nobody", "whatever it is").response), "scram_invalid_proof");
  EXPECT_EQ(kmsd_->Log().find(password), std::string::npos);
}

}  // namespace
}  // namespace weftkit::test
