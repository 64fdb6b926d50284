#include "policy_store/bundle_signer.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>

#include "common/base64.h"

namespace weftkit::policy_store {
namespace {

// A label no other object carries: the kid is only known once the key exists.
Result<std::string> NewLabel() {
  std::array<unsigned char, 8> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "RAND_bytes failed");
  }
  std::string label = "policy-es256-";
  std::array<char, 3> hex{};
  for (unsigned char byte : bytes) {
    std::snprintf(hex.data(), hex.size(), "%02x", byte);
    label += hex.data();
  }
  return label;
}

Result<auth::P256PublicKey> PublicKey(pkcs11::Hsm& hsm, const std::string& label) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> der, hsm.EcPublicKeyDer(label));
  return auth::P256PublicKey::FromSpkiDer(der);
}

struct NewKey {
  BundleKeyRecord record;
  nlohmann::ordered_json jwk;
};

// Creates a key pair and records it; destroys it again if recording fails, so that no
// unrecorded key stays in the HSM.
Result<NewKey> CreateKey(pkcs11::Hsm& hsm, SqlitePolicyStore& store, std::int64_t now) {
  WK_ASSIGN_OR_RETURN(std::string label, NewLabel());
  WK_RETURN_IF_ERROR(hsm.CreateEcSigningKey(label));
  Result<auth::P256PublicKey> key = PublicKey(hsm, label);
  BundleKeyRecord record{key.ok() ? key->Thumbprint() : "", label, now};
  Status recorded = key.ok() ? store.InsertSigningKey(record) : Status(key.error());
  if (!recorded.ok()) {
    (void)hsm.DestroyObjects(label);
    return recorded.error();
  }
  return NewKey{record, key->ToJwk(record.kid)};
}

std::string Render(const nlohmann::ordered_json& jwks) {
  nlohmann::ordered_json set = {{"keys", jwks}};
  return set.dump();
}

}  // namespace

Result<std::unique_ptr<BundleSigner>> BundleSigner::Open(pkcs11::Hsm& hsm, SqlitePolicyStore& store,
                                                         std::int64_t now) {
  WK_ASSIGN_OR_RETURN(std::vector<BundleKeyRecord> records, store.SigningKeys());
  if (records.empty()) {
    WK_ASSIGN_OR_RETURN(NewKey first, CreateKey(hsm, store, now));
    records.push_back(std::move(first.record));
  }

  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const BundleKeyRecord& record : records) {
    WK_ASSIGN_OR_RETURN(auth::P256PublicKey key, PublicKey(hsm, record.hsm_label));
    if (key.Thumbprint() != record.kid) {
      // Signing with it would publish bundles no engine could verify against the recorded kid.
      return Error(ErrorKind::kDataLoss, "policy_signing_key_mismatch",
                   "HSM object " + record.hsm_label + " does not hold bundle key " + record.kid);
    }
    keys.push_back(key.ToJwk(record.kid));
  }
  std::string rendered = Render(keys);
  auto state = std::make_shared<const State>(State{records.back(), std::move(keys), rendered});
  return std::unique_ptr<BundleSigner>(new BundleSigner(hsm, store, std::move(state)));
}

std::shared_ptr<const BundleSigner::State> BundleSigner::Current() const {
  std::lock_guard lock(state_mutex_);
  return state_;
}

Result<BundleSigner::Signature> BundleSigner::Sign(const BundleClaims& claims) const {
  std::shared_ptr<const State> state = Current();
  std::string signing_input = BundleSigningInput(state->active.kid, claims);
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> signature,
                      hsm_.SignEcdsaSha256(state->active.hsm_label, AsBytes(signing_input)));
  return Signature{state->active.kid, signing_input + "." + Base64UrlEncode(signature)};
}

Result<BundleKeyRecord> BundleSigner::Rotate(std::int64_t now) {
  std::lock_guard rotating(rotate_mutex_);
  WK_ASSIGN_OR_RETURN(NewKey created, CreateKey(hsm_, store_, now));
  nlohmann::ordered_json jwks = Current()->jwks;
  jwks.push_back(std::move(created.jwk));
  std::string rendered = Render(jwks);
  auto next =
      std::make_shared<const State>(State{created.record, std::move(jwks), std::move(rendered)});
  std::lock_guard lock(state_mutex_);
  state_ = std::move(next);
  return created.record;
}

}  // namespace weftkit::policy_store
