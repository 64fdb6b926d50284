// BundleSigner: signs policy bundles with an ES256 key pair held in the HSM.
//
// The bundle signing key is its own key pair, apart from the API-token keys of
// auth/signing_key_ring.h: a token key must never be able to vouch for a policy, or the other
// way round. On first start Open creates the pair (label "policy-es256-<16 hex>") and records
// its kid (the RFC 7638 thumbprint, auth/jwk.h) in policy_signing_keys; later starts read the
// public key back from the HSM and refuse to start if its thumbprint is not the recorded kid.
// Signing happens once per publish; serving and verification never call the HSM.
//
// Rotate creates and records a new pair, which signs from then on. Old keys are never deleted:
// they stay in the JWK set, so bundles signed before a rotation keep verifying, and an engine
// that meets an unknown kid fetches the set again. The newest recorded key is the active one.
// TODO(#4): retiring a key (dropping it from the set so that what it signed is refused).
//
// Thread safety: all members are thread-safe (the Hsm serialises its sessions; the active key
// and the JWK set are replaced together under a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwk.h"
#include "common/error.h"
#include "pkcs11/hsm.h"
#include "policy_store/bundle_jws.h"
#include "policy_store/sqlite_policy_store.h"

namespace weftkit::policy_store {

class BundleSigner {
 public:
  // Loads or creates the signing key as described above. `hsm` and `store` must outlive the
  // signer. Fails with kDataLoss "policy_signing_key_mismatch" if the HSM holds another key
  // under the recorded label, or with the HSM's or store's error.
  static Result<std::unique_ptr<BundleSigner>> Open(pkcs11::Hsm& hsm, SqlitePolicyStore& store,
                                                    std::int64_t now);

  BundleSigner(const BundleSigner&) = delete;
  BundleSigner& operator=(const BundleSigner&) = delete;

  // The kid new signatures carry.
  std::string kid() const { return Current()->active.kid; }

  // A compact JWS over some claims and the kid of the key that made it.
  struct Signature {
    std::string kid;
    std::string jws;
  };

  // The compact JWS over `claims` (bundle_jws.h), signed in the HSM with the active key.
  Result<Signature> Sign(const BundleClaims& claims) const;

  // {"keys":[<JWK>...]}: every recorded bundle key, oldest first. Pure memory.
  std::string JwkSetJson() const { return Current()->jwk_set_json; }

  // Creates, records and activates a new key pair; returns its record. Fails with the HSM's or
  // the store's errors, leaving the active key as it was and no unrecorded key in the HSM.
  Result<BundleKeyRecord> Rotate(std::int64_t now);

 private:
  struct State {
    BundleKeyRecord active;
    nlohmann::ordered_json jwks;  // the "keys" array
    std::string jwk_set_json;     // {"keys": jwks}, rendered once
  };

  BundleSigner(pkcs11::Hsm& hsm, SqlitePolicyStore& store, std::shared_ptr<const State> state)
      : hsm_(hsm), store_(store), state_(std::move(state)) {}

  std::shared_ptr<const State> Current() const;

  pkcs11::Hsm& hsm_;
  SqlitePolicyStore& store_;
  std::mutex rotate_mutex_;  // one rotation at a time
  mutable std::mutex state_mutex_;
  std::shared_ptr<const State> state_;  // guarded by state_mutex_
};

}  // namespace weftkit::policy_store
