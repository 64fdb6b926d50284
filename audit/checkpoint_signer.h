// CheckpointSigner: signs audit checkpoints with an ES256 key held in the HSM and publishes its
// public keys.
//
// The key pair lives in the HSM under the label "weftkit-audit-checkpoint-<created ms>"
// (private half sensitive and non-extractable, as pkcs11::Hsm::CreateEcSigningKey makes it)
// and is recorded in the audit database's audit_signing_keys table with its kid, the RFC 7638
// thumbprint of its public key. The first Open creates it; later ones check that the HSM still
// holds the recorded key. Every recorded key stays in the published JWK set, so checkpoints
// signed before a key change keep verifying. TODO(#5): rotation of the checkpoint key.
//
// Thread safety: all members are thread-safe (the HSM serialises its own sessions).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/sqlite_audit_store.h"
#include "auth/jwk.h"
#include "common/error.h"
#include "pkcs11/hsm.h"

namespace weftkit::audit {

class CheckpointSigner {
 public:
  // Loads (or, on first use, creates and records) the checkpoint key. `hsm` and `store` must
  // outlive the signer. Fails with the HSM's or the store's error, or kDataLoss
  // "audit_checkpoint_key_mismatch" if the HSM holds another key under the recorded label.
  static Result<std::unique_ptr<CheckpointSigner>> Open(pkcs11::Hsm& hsm, SqliteAuditStore& store);

  // A checkpoint of (`tree_size`, `root`, `time_ms`) signed with the current key, not stored.
  Result<Checkpoint> Sign(std::uint64_t tree_size, const Hash& root, std::int64_t time_ms);

  // {"keys":[...]} with every recorded key, the current one first.
  nlohmann::ordered_json JwkSet() const;
  // The same, parsed for VerifyCheckpointSignature.
  const CheckpointKeys& keys() const { return keys_; }

 private:
  struct Key {
    CheckpointKeyRecord record;
    std::shared_ptr<const auth::P256PublicKey> public_key;
  };

  CheckpointSigner(pkcs11::Hsm& hsm, std::vector<Key> keys);

  pkcs11::Hsm& hsm_;
  const std::vector<Key> keys_list_;  // current first
  CheckpointKeys keys_;
};

}  // namespace weftkit::audit
