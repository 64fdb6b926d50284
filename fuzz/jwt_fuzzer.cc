// Fuzzes API token verification (auth/jwt_verifier.h) through TokenService::Verify, against a
// real signing key in a fresh SoftHSM token (made once, in LLVMFuzzerInitialize).
//
// The first input byte picks a mode:
//   even: the rest is the token as received. This reaches the size limit, the split into three
//         parts, base64url decoding, the strict header parser and the key look-up; the fuzzer
//         cannot forge an ES256 signature, so the claims parser is not reached this way.
//   odd:  the rest is "<header JSON>\n<claims JSON>". The fuzz target base64url-encodes both and
//         signs them with the active key in the HSM (one ECDSA signature per input), so the
//         strict JSON parser and every claim check run on arbitrary, correctly signed content.
//         "$KID" in the header text is replaced by the active key's id, which no mutation could
//         guess. The verifier's clock is fixed at kNow (see the corpus for matching claims).
// Verify itself never calls the HSM. Properties checked, promised by jwt_verifier.h:
//   - every refusal is kUnauthenticated with a "token_*" code (kInternal "openssl_error" would
//     mean OpenSSL failed on attacker input, which is a bug too);
//   - error details quote no part of the token (parts of 24 or more base64url characters are
//     looked for: shorter ones, or ones with other characters, could be crafted to match the
//     fixed texts by chance);
//   - an accepted token names the active kid, a non-empty sub and jti, this server's audience,
//     and an exp that has not passed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/token_service.h"
#include "common/base64.h"
#include "fuzz/fuzz_check.h"
#include "pkcs11/hsm.h"
#include "store/database.h"
#include "test/support/softhsm_token.h"

namespace weftkit::auth {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kLeeway = 30;
constexpr const char* kIssuer = "https://kms.weftkit.test";
constexpr const char* kAudience = "https://kms.weftkit.test/api";

// Everything the target needs, built once.
struct JwtWorld {
  std::unique_ptr<test::SoftHsmToken> token;
  std::unique_ptr<pkcs11::Hsm> hsm;
  std::unique_ptr<TokenService> service;
  ActiveSigningKey active;
};

// Heap-allocated and destroyed by DestroyWorld rather than as a function-local static: a static
// would be registered for destruction before SoftHSM is loaded, so it would run after SoftHSM's
// own globals are gone, and C_Finalize would crash.
JwtWorld& World() {
  static JwtWorld* world = new JwtWorld();
  return *world;
}

// The service before the HSM, the HSM before its token's folder is deleted.
void DestroyWorld() {
  World().service.reset();
  World().hsm.reset();
  World().token.reset();
}

template <typename T>
T Require(Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "jwt_fuzzer: %s: %s\n", what, result.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

void BuildWorld() {
  JwtWorld& world = World();
  world.token = test::SoftHsmToken::Create("weftkit-jwt-fuzz");
  if (world.token == nullptr) std::exit(1);
  pkcs11::HsmConfig config;
  config.module_path = world.token->module_path();
  config.token_label = world.token->label();
  config.pin = world.token->pin_secret();
  config.sessions = 1;
  world.hsm = Require(pkcs11::Hsm::Open(std::move(config)), "opening the HSM");
  std::shared_ptr<store::Database> database =
      Require(store::Database::Open(world.token->dir() / "kms.db"), "opening the database");

  TokenPolicy policy;
  policy.issuer = kIssuer;
  policy.audience = kAudience;
  policy.leeway_s = kLeeway;
  policy.now = [] { return kNow; };
  world.service = Require(TokenService::Create(*world.hsm, database, std::move(policy)),
                          "creating the token service");
  world.active = world.service->keys().ActiveKey();
  // Registered after SoftHSM was loaded, so it runs before SoftHSM's globals are destroyed.
  std::atexit(DestroyWorld);
}

// header "." claims "." signature, signed by the active key in the HSM.
std::string SignedToken(std::string header, std::string_view claims) {
  for (std::size_t at = header.find("$KID"); at != std::string::npos; at = header.find("$KID")) {
    header.replace(at, 4, World().active.kid);
  }
  const std::string input =
      Base64UrlEncode(AsBytes(header)) + "." + Base64UrlEncode(AsBytes(claims));
  auto signature = World().hsm->SignEcdsaSha256(World().active.hsm_label, AsBytes(input));
  FUZZ_CHECK(signature.ok());
  return input + "." + Base64UrlEncode(*signature);
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void CheckRefusal(std::string_view token, const Error& error) {
  FUZZ_CHECK(error.kind() == ErrorKind::kUnauthenticated);
  FUZZ_CHECK(error.code().rfind("token_", 0) == 0);
  const std::string text = error.ToString();
  std::size_t start = 0;
  while (start < token.size()) {
    std::size_t end = token.find('.', start);
    if (end == std::string_view::npos) end = token.size();
    const std::string_view part = token.substr(start, end - start);
    if (part.size() >= 24 && std::all_of(part.begin(), part.end(), IsBase64UrlChar)) {
      FUZZ_CHECK(text.find(part) == std::string::npos);
    }
    start = end + 1;
  }
}

void CheckAccepted(const VerifiedToken& verified) {
  FUZZ_CHECK(verified.kid == World().active.kid);
  FUZZ_CHECK(!verified.sub.empty() && !verified.jti.empty());
  FUZZ_CHECK(std::find(verified.aud.begin(), verified.aud.end(), kAudience) != verified.aud.end());
  FUZZ_CHECK(kNow < verified.exp + kLeeway);
}

}  // namespace
}  // namespace weftkit::auth

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  weftkit::auth::BuildWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest = weftkit::fuzz::AsText(data + 1, size - 1);
  std::string token;
  if ((data[0] & 1) == 0) {
    token.assign(rest);
  } else {
    auto [header, claims] = weftkit::fuzz::SplitOnce(rest, '\n');
    token = weftkit::auth::SignedToken(std::string(header), claims);
  }
  auto verified = weftkit::auth::World().service->Verify(token);
  if (verified.ok()) {
    weftkit::auth::CheckAccepted(*verified);
  } else {
    weftkit::auth::CheckRefusal(token, verified.error());
  }
  return 0;
}
