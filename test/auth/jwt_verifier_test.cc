// TokenIssuer and TokenVerifier through a real SoftHSM token and a real SQLite file: the round
// trip, every refusal code of jwt_verifier.h reached on its own, algorithm confusion (none, HS256
// keyed with the public key), every bit flip and truncation of a real token, and revocation
// surviving a restart.
#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>

#include "test/auth/jwt_fixture.h"

namespace weftkit::auth {
namespace {

using Json = nlohmann::ordered_json;

class JwtVerifierTest : public JwtFixture {
 protected:
  static Json DecodePart(const std::string& token, int index) {
    std::size_t start = 0;
    for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
    const std::size_t end = token.find('.', start);
    auto bytes = Base64UrlDecode(token.substr(start, end - start));
    EXPECT_TRUE(bytes.ok());
    return Json::parse(bytes->begin(), bytes->end());
  }

  static std::string SignaturePart(const std::string& token) {
    return token.substr(token.rfind('.') + 1);
  }

  // A token whose header and claims are `header` and `claims`, carrying `signature_part`.
  static std::string Unsigned(const Json& header, const Json& claims,
                              const std::string& signature_part) {
    return Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(claims.dump())) +
           "." + signature_part;
  }

  // An HS256 token over the valid header and claims, keyed with `key`: what an attacker who
  // knows only the public key would send to a verifier that takes the algorithm from the header.
  std::string Hs256Token(const std::string& key) {
    Json header = Header();
    header["alg"] = "HS256";
    const std::string input =
        Base64UrlEncode(AsBytes(header.dump())) + "." + Base64UrlEncode(AsBytes(Claims().dump()));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    EXPECT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, input.size(), mac,
                   &mac_length),
              nullptr);
    return input + "." + Base64UrlEncode(std::span<const std::uint8_t>(mac, mac_length));
  }

  std::string PublicKeyDer() {
    auto der = hsm_->EcPublicKeyDer(service_->keys().ActiveKey().hsm_label);
    EXPECT_TRUE(der.ok());
    return std::string(der->begin(), der->end());
  }
};

TEST_F(JwtVerifierTest, Verify_ReturnsClaims_ForIssuedToken) {
  auto issued = service_->Issue(kPrincipal, "", 300, AuthMethod::kScram);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();

  auto verified = service_->Verify(issued->access_token.expose_chars());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->sub, kPrincipal);
  EXPECT_EQ(verified->jti, issued->jti);
  EXPECT_EQ(verified->aud, std::vector<std::string>{kAudience});
  EXPECT_EQ(verified->iat, kStart);
  EXPECT_EQ(verified->exp, kStart + 300);
  EXPECT_EQ(verified->auth_method, AuthMethod::kScram);
  EXPECT_EQ(verified->kid, service_->keys().ActiveKey().kid);
}

TEST_F(JwtVerifierTest, Issue_WritesExactHeaderAndClaims_WithoutRoles) {
  const std::string token = Issue(300);
  EXPECT_EQ(DecodePart(token, 0),
            (Json{{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", service_->keys().ActiveKey().kid}}));
  Json claims = DecodePart(token, 1);
  std::set<std::string> names;
  for (const auto& [name, value] : claims.items()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"iss", "sub", "aud", "iat", "nbf", "exp", "jti",
                                          "auth_method"}));
  EXPECT_EQ(claims["iss"], kIssuer);
  EXPECT_EQ(claims["auth_method"], "mtls");
  EXPECT_EQ(claims["nbf"], kStart);
  EXPECT_EQ(claims["jti"].get<std::string>().size(), 22u);
}

TEST_F(JwtVerifierTest, Issue_GivesEachTokenItsOwnJti) {
  std::set<std::string> jtis;
  for (int i = 0; i < 20; ++i) jtis.insert(DecodePart(Issue(), 1)["jti"].get<std::string>());
  EXPECT_EQ(jtis.size(), 20u);
}

TEST_F(JwtVerifierTest, Issue_CapsLifetime_AtConfiguredMaximum) {
  auto issued = service_->Issue(kPrincipal, "", 86400, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->exp - issued->iat, kMaxLifetime);
}

TEST_F(JwtVerifierTest, Issue_Fails_ForBadArguments) {
  EXPECT_EQ(service_->Issue("", "", 60, AuthMethod::kMtls).error().code(), "invalid_principal");
  EXPECT_EQ(service_->Issue("a\nb", "", 60, AuthMethod::kMtls).error().code(), "invalid_principal");
  EXPECT_EQ(service_->Issue("\xff\xfe", "", 60, AuthMethod::kMtls).error().code(),
            "invalid_principal");
  EXPECT_EQ(service_->Issue(kPrincipal, "", 0, AuthMethod::kMtls).error().code(),
            "invalid_lifetime");
  EXPECT_EQ(service_->Issue(kPrincipal, "https://evil.test", 60, AuthMethod::kMtls).error().code(),
            "token_audience_not_allowed");
  EXPECT_EQ(service_->Issue(kPrincipal, "", 60, AuthMethod::kJwt).error().code(),
            "invalid_auth_method");
  EXPECT_EQ(service_->Issue(kPrincipal, "", 60, AuthMethod::kNone).error().code(),
            "invalid_auth_method");
}

TEST_F(JwtVerifierTest, Verify_RefusesAudience_WhenIssuedForAnotherService) {
  auto issued =
      service_->Issue(kPrincipal, "https://pool-manager.weftkit.test", 60, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  ExpectRefused(std::string(issued->access_token.expose_chars()), "token_audience");
}

TEST_F(JwtVerifierTest, Verify_RefusesExpired_OnceLeewayHasPassed) {
  const std::string token = Issue(60);
  now_ = kStart + 60 + kLeeway - 1;
  ExpectAccepted(token);
  now_ = kStart + 60 + kLeeway;
  ExpectRefused(token, "token_expired");
}

TEST_F(JwtVerifierTest, Verify_RefusesNotBefore_BeyondLeeway) {
  Json claims = Claims();
  claims["nbf"] = kStart + kLeeway;
  ExpectAccepted(Sign(Header(), claims));
  claims["nbf"] = kStart + kLeeway + 1;
  ExpectRefused(Sign(Header(), claims), "token_not_yet_valid");
}

TEST_F(JwtVerifierTest, Verify_RefusesIssuedInFuture_BeyondLeeway) {
  Json claims = Claims();
  claims.erase("nbf");
  claims["iat"] = kStart + kLeeway;
  ExpectAccepted(Sign(Header(), claims));
  claims["iat"] = kStart + kLeeway + 1;
  ExpectRefused(Sign(Header(), claims), "token_not_yet_valid");
}

TEST_F(JwtVerifierTest, Verify_AcceptsEitherNbfOrIat) {
  Json without_nbf = Claims();
  without_nbf.erase("nbf");
  ExpectAccepted(Sign(Header(), without_nbf));
  Json without_iat = Claims();
  without_iat.erase("iat");
  auto verified = service_->Verify(Sign(Header(), without_iat));
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->iat, kStart);
}

TEST_F(JwtVerifierTest, Verify_RefusesMissingClaim_ForEachRequiredClaim) {
  for (const char* name : {"iss", "sub", "aud", "exp", "jti", "auth_method"}) {
    SCOPED_TRACE(name);
    Json claims = Claims();
    claims.erase(name);
    ExpectRefused(Sign(Header(), claims), "token_missing_claim");
  }
  Json claims = Claims();
  claims.erase("nbf");
  claims.erase("iat");
  ExpectRefused(Sign(Header(), claims), "token_missing_claim");
}

TEST_F(JwtVerifierTest, Verify_RefusesMalformedClaims) {
  const std::vector<std::pair<const char*, Json>> cases = {
      {"exp", "1800000600"},
      {"exp", 1800000600.5},
      {"exp", -1},
      {"nbf", nullptr},
      {"sub", 42},
      {"aud", Json::array()},
      {"aud", Json::array({kAudience, 7})},
      {"jti", "short"},
      {"auth_method", "jwt"},
      {"scope", "admin"},
      {"scope", 1},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(std::string(name) + "=" + value.dump());
    Json claims = Claims();
    claims[name] = value;
    ExpectRefused(Sign(Header(), claims), "token_malformed");
  }
}

TEST_F(JwtVerifierTest, Verify_ReadsScope_FullWhenAbsent) {
  auto full = service_->Verify(Sign(Header(), Claims()));
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(full->scope, TokenScope::kFull);

  Json claims = Claims();
  claims["scope"] = "password_change";
  auto restricted = service_->Verify(Sign(Header(), claims));
  ASSERT_TRUE(restricted.ok()) << restricted.error().ToString();
  EXPECT_EQ(restricted->scope, TokenScope::kPasswordChange);

  auto issued =
      service_->Issue("user:admin", "", 60, AuthMethod::kScram, TokenScope::kPasswordChange);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(service_->Verify(issued->access_token.expose_chars())->scope,
            TokenScope::kPasswordChange);
}

TEST_F(JwtVerifierTest, Verify_RefusesWrongIssuer) {
  Json claims = Claims();
  claims["iss"] = "https://kms.weftkit.test/";
  ExpectRefused(Sign(Header(), claims), "token_issuer");
}

TEST_F(JwtVerifierTest, Verify_ChecksAudienceArray) {
  Json claims = Claims();
  claims["aud"] = Json::array({"https://other.test", kAudience});
  ExpectAccepted(Sign(Header(), claims));
  claims["aud"] = Json::array({"https://other.test"});
  ExpectRefused(Sign(Header(), claims), "token_audience");
  claims["aud"] = "https://kms.weftkit.test";  // the issuer, not the audience
  ExpectRefused(Sign(Header(), claims), "token_audience");
}

TEST_F(JwtVerifierTest, Verify_ChecksType) {
  Json header = Header();
  header["typ"] = "application/AT+JWT";
  ExpectAccepted(Sign(header, Claims()));
  for (const Json& typ : {Json("JWT"), Json("at+jwt "), Json(1)}) {
    header["typ"] = typ;
    ExpectRefused(Sign(header, Claims()), "token_type");
  }
  header.erase("typ");
  ExpectRefused(Sign(header, Claims()), "token_type");
}

TEST_F(JwtVerifierTest, Verify_RefusesAlgorithmOtherThanEs256_EvenWithValidSignature) {
  for (const Json& alg : {Json("none"), Json("None"), Json("es256"), Json("ES384"), Json("HS256"),
                          Json("RS256"), Json(nullptr)}) {
    SCOPED_TRACE(alg.dump());
    Json header = Header();
    header["alg"] = alg;
    ExpectRefused(Sign(header, Claims()), "token_algorithm");
  }
  Json header = Header();
  header.erase("alg");
  ExpectRefused(Sign(header, Claims()), "token_algorithm");
}

TEST_F(JwtVerifierTest, Verify_RefusesAlgNone_WithEmptySignature) {
  Json header = Header();
  header["alg"] = "none";
  // The classic unsigned token: no signature at all, with or without the trailing dot.
  const std::string unsigned_token = Unsigned(header, Claims(), "");
  ExpectRefused(unsigned_token, "token_malformed");
  ExpectRefused(unsigned_token.substr(0, unsigned_token.size() - 1), "token_malformed");
  // And with a signature part that is valid base64url, so parsing reaches the algorithm.
  ExpectRefused(Unsigned(header, Claims(), "AA"), "token_algorithm");
}

TEST_F(JwtVerifierTest, Verify_RefusesHs256_KeyedWithThePublicKey) {
  const std::string der = PublicKeyDer();
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  const std::string base64 = Base64Encode(AsBytes(der));
  for (std::size_t i = 0; i < base64.size(); i += 64) pem += base64.substr(i, 64) + "\n";
  pem += "-----END PUBLIC KEY-----\n";
  const std::string jwks = service_->JwkSetJson();
  const std::string jwk = Json::parse(jwks)["keys"][0].dump();

  for (const std::string& key : {der, pem, jwks, jwk}) {
    ExpectRefused(Hs256Token(key), "token_algorithm");
  }
}

TEST_F(JwtVerifierTest, Verify_RefusesUnknownOrMissingKid) {
  Json header = Header();
  header["kid"] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
  ExpectRefused(Sign(header, Claims()), "token_unknown_key");
  header["kid"] = 5;
  ExpectRefused(Sign(header, Claims()), "token_unknown_key");
  header.erase("kid");
  ExpectRefused(Sign(header, Claims()), "token_unknown_key");
}

TEST_F(JwtVerifierTest, Verify_RefusesSignatureFromAnotherKey) {
  ASSERT_TRUE(hsm_->CreateEcSigningKey("stranger").ok());
  // The header names our active key, the HSM signs with a key nobody published.
  ExpectRefused(Sign(Header(), Claims(), "stranger"), "token_signature");
}

TEST_F(JwtVerifierTest, Verify_RefusesChangedClaims_UnderOriginalSignature) {
  const std::string token = Issue();
  Json claims = DecodePart(token, 1);
  claims["sub"] = "spiffe://weftkit.dev/admin/root";
  ExpectRefused(Unsigned(DecodePart(token, 0), claims, SignaturePart(token)), "token_signature");

  Json header = DecodePart(token, 0);
  header["x"] = 1;
  ExpectRefused(Unsigned(header, DecodePart(token, 1), SignaturePart(token)), "token_signature");
}

TEST_F(JwtVerifierTest, Verify_RefusesSignature_OfWrongLength) {
  const std::string token = Issue();
  auto signature = Base64UrlDecode(SignaturePart(token));
  ASSERT_TRUE(signature.ok());
  std::vector<std::uint8_t> longer = *signature;
  longer.push_back(0);
  const std::string prefix = token.substr(0, token.rfind('.') + 1);
  ExpectRefused(prefix + Base64UrlEncode(longer), "token_signature");
  std::vector<std::uint8_t> shorter(signature->begin(), signature->end() - 1);
  ExpectRefused(prefix + Base64UrlEncode(shorter), "token_signature");
}

TEST_F(JwtVerifierTest, Verify_RefusesEveryBitFlip) {
  const std::string token = Issue();
  ExpectAccepted(token);
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = token;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto verified = service_->Verify(tampered);
      ASSERT_FALSE(verified.ok()) << "accepted a flip of bit " << bit << " at " << i;
      ASSERT_EQ(verified.error().kind(), ErrorKind::kUnauthenticated);
    }
  }
}

TEST_F(JwtVerifierTest, Verify_RefusesEveryTruncationAndExtension) {
  const std::string token = Issue();
  for (std::size_t length = 0; length < token.size(); ++length) {
    ASSERT_FALSE(service_->Verify(token.substr(0, length)).ok()) << "length " << length;
  }
  for (const char* suffix : {".", "=", "A", " ", ".AAAA"}) {
    ExpectRefused(token + suffix,
                  suffix == std::string("A") ? "token_signature" : "token_malformed");
  }
}

TEST_F(JwtVerifierTest, Verify_RefusesMalformedStructure) {
  const std::string token = Issue();
  const std::size_t first = token.find('.');
  ExpectRefused(token.substr(0, first) + "=" + token.substr(first), "token_malformed");
  ExpectRefused(std::string(kMaxTokenBytes + 1, 'A'), "token_malformed");
  ExpectRefused("", "token_malformed");
  ExpectRefused("..", "token_malformed");
  ExpectRefused("a.b.c.d", "token_malformed");
  // Parts that are base64url but not JSON objects.
  ExpectRefused(SignText("[1,2]", Claims().dump()), "token_malformed");
  ExpectRefused(SignText(Header().dump(), "\"claims\""), "token_malformed");
  ExpectRefused(SignText(Header().dump(), "{\"iss\":"), "token_malformed");
}

TEST_F(JwtVerifierTest, Verify_RefusesDuplicateMembers) {
  std::string claims = Claims().dump();
  claims.insert(1, "\"sub\":\"spiffe://weftkit.dev/admin/root\",");
  ExpectRefused(SignText(Header().dump(), claims), "token_malformed");
  std::string header = Header().dump();
  header.insert(1, "\"alg\":\"none\",");
  ExpectRefused(SignText(header, Claims().dump()), "token_malformed");
}

TEST_F(JwtVerifierTest, Verify_RefusesCriticalHeader) {
  Json header = Header();
  header["crit"] = Json::array({"exp"});
  ExpectRefused(Sign(header, Claims()), "token_malformed");
}

TEST_F(JwtVerifierTest, Verify_RefusesRevoked_AlsoAfterRestart) {
  auto issued = service_->Issue(kPrincipal, "", 300, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok());
  const std::string token(issued->access_token.expose_chars());
  const std::string other = Issue();

  ASSERT_TRUE(service_->Revoke(issued->jti, "spiffe://weftkit.dev/admin/alice").ok());
  ExpectRefused(token, "token_revoked");
  ExpectAccepted(other);

  OpenService();
  ExpectRefused(token, "token_revoked");
  ExpectAccepted(other);
}

// The verified-signature cache (see jwt_verifier.h) skips only the signature check: a token that
// verified once is still refused once it is revoked, and every claim is checked again.
TEST_F(JwtVerifierTest, Verify_RefusesRevoked_AfterItVerifiedOnce) {
  auto issued = service_->Issue(kPrincipal, "", 300, AuthMethod::kMtls);
  ASSERT_TRUE(issued.ok());
  const std::string token(issued->access_token.expose_chars());
  ExpectAccepted(token);
  ExpectAccepted(token);

  ASSERT_TRUE(service_->Revoke(issued->jti, "spiffe://weftkit.dev/admin/alice").ok());
  ExpectRefused(token, "token_revoked");
}

TEST_F(JwtVerifierTest, Verify_RefusesOtherSignature_OverClaimsThatVerifiedBefore) {
  const std::string token = Issue();
  ExpectAccepted(token);
  ASSERT_TRUE(hsm_->CreateEcSigningKey("stranger").ok());
  // Same header and claims as an accepted token, signed by a key nobody published.
  ExpectRefused(Sign(DecodePart(token, 0), DecodePart(token, 1), "stranger"), "token_signature");
}

TEST_F(JwtVerifierTest, Verify_KeepsAccepting_AfterTheCacheFillsAndEmpties) {
  const std::string first = Issue();
  ExpectAccepted(first);
  for (std::size_t i = 0; i < kVerifiedSignatureCacheEntries + 1; ++i) {
    ExpectAccepted(Issue());
  }
  ExpectAccepted(first);
}

}  // namespace
}  // namespace weftkit::auth
