// Fuzzes the engine-side policy bundle verifier (policy_store/policy_bundle_verifier.h) and the
// bundle JWS parser (policy_store/bundle_jws.h), the code an engine runs on what a server, a
// proxy or an attacker sends it.
//
// The verifier trusts one P-256 key generated at start-up whose private half is thrown away, so
// no input can carry a valid signature. The first input byte picks a mode:
//   even: the rest is a served bundle (JSON). Verify must refuse it with one of its documented
//         codes, never accept it and never throw.
//   odd:  the rest is a compact JWS. ParseBundleJws either succeeds, with a kid and a 3-part
//         split whose signing input is a prefix of the input, or fails with
//         "bundle_signature_malformed".
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/jwk.h"
#include "fuzz/fuzz_check.h"
#include "policy_store/bundle_jws.h"
#include "policy_store/policy_bundle_verifier.h"

namespace weftkit::policy_store {
namespace {

std::optional<PolicyBundleVerifier>& Verifier() {
  static std::optional<PolicyBundleVerifier> verifier;
  return verifier;
}

// A JWK set of one fresh P-256 key, made with OpenSSL; the private key is freed at once.
nlohmann::json FreshJwkSet() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  FUZZ_CHECK(key != nullptr);
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key, &der);
  FUZZ_CHECK(length > 0);
  auto parsed = auth::P256PublicKey::FromSpkiDer({der, static_cast<std::size_t>(length)});
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  FUZZ_CHECK(parsed.ok());
  return {{"keys", {parsed->ToJwk(parsed->Thumbprint())}}};
}

const std::set<std::string> kVerifyCodes = {
    "bundle_malformed",     "bundle_scope_mismatch",    "bundle_signature_malformed",
    "bundle_unknown_kid",   "bundle_signature_invalid", "bundle_claims_mismatch",
    "bundle_hash_mismatch", "bundle_rollback",          "policy_not_utf8",
};

void FuzzVerify(std::string_view text) {
  nlohmann::json served = nlohmann::json::parse(text, nullptr, false);
  if (served.is_discarded()) return;
  Result<VerifiedBundle> verified = Verifier()->Verify(served, "cluster/prod", 2);
  FUZZ_CHECK(!verified.ok());
  FUZZ_CHECK(kVerifyCodes.count(verified.error().code()) == 1);
}

void FuzzParse(std::string_view jws) {
  Result<BundleJwsParts> parts = ParseBundleJws(jws);
  if (!parts.ok()) {
    FUZZ_CHECK(parts.error().code() == "bundle_signature_malformed");
    return;
  }
  FUZZ_CHECK(jws.substr(0, parts->signing_input.size()) == parts->signing_input);
  FUZZ_CHECK(jws.size() > parts->signing_input.size() && jws[parts->signing_input.size()] == '.');
}

}  // namespace
}  // namespace weftkit::policy_store

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace weftkit::policy_store;
  auto verifier = PolicyBundleVerifier::FromJwkSet(FreshJwkSet());
  FUZZ_CHECK(verifier.ok());
  Verifier().emplace(std::move(verifier).value());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest = weftkit::fuzz::AsText(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    weftkit::policy_store::FuzzVerify(rest);
  } else {
    weftkit::policy_store::FuzzParse(rest);
  }
  return 0;
}
