// BundleSigner: signs policy bundles with an ES256 key pair held in the HSM.
//
// The bundle signing key is its own key pair, apart from the API-token keys of
// auth/signing_key_ring.h: a token key must never be able to vouch for a policy, or the other
// way round. On first start Open creates the pair (label "policy-es256-<16 hex>") and records
// its kid (the RFC 7638 thumbprint, auth/jwk.h) in policy_signing_keys; later starts read the
// public key back from the HSM and refuse to start if its thumbprint is not the recorded kid.
// Signing happens once per publish; serving and verification never call the HSM.
//
// TODO(#4): rotating the bundle signing key (a new pair signs, old ones stay in the JWK set).
//
// Thread safety: all members are thread-safe (the Hsm serialises its sessions).
#pragma once

#include <memory>
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
  const std::string& kid() const { return active_.kid; }

  // The compact JWS over `claims` (bundle_jws.h), signed in the HSM.
  Result<std::string> Sign(const BundleClaims& claims) const;

  // {"keys":[<JWK>...]}: every recorded bundle key. Pure memory.
  const std::string& JwkSetJson() const { return jwk_set_json_; }

 private:
  BundleSigner(pkcs11::Hsm& hsm, BundleKeyRecord active, std::string jwk_set_json)
      : hsm_(hsm), active_(std::move(active)), jwk_set_json_(std::move(jwk_set_json)) {}

  pkcs11::Hsm& hsm_;
  const BundleKeyRecord active_;
  const std::string jwk_set_json_;
};

}  // namespace weftkit::policy_store
