// SigningKeyRing: the ES256 keys that sign API tokens, held in the HSM and recorded in SQLite.
//
// Exactly one key is active: it signs every new token. Rotation creates a new key pair in the
// HSM and makes it active; the previous active key becomes retiring. A retiring key signs
// nothing but stays in the JWK set and keeps verifying until every token it signed has expired
// (retire_after = rotation time + max token lifetime + leeway); then it is retired and its kid is
// refused. The published set therefore always lists the old and the new key during a rotation.
//
// Verification never calls the HSM: the public keys of active and retiring keys are read from
// the HSM once (at Open and at rotation), checked against their stored kid, and cached. Whether a
// retiring key has passed retire_after is decided from the clock on every look-up, so a key
// stops verifying on time even if RetireExpired() has not yet recorded it.
//
// Thread safety: all members are thread-safe. Rotations are serialised; look-ups take a shared
// lock and never touch the HSM or the store.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.h"
#include "auth/token_policy.h"
#include "common/error.h"
#include "pkcs11/hsm.h"
#include "store/database.h"

namespace weftkit::auth {

enum class SigningKeyState { kActive, kRetiring, kRetired };

// "active", "retiring", "retired".
const char* SigningKeyStateName(SigningKeyState state);

// One row of jwt_signing_keys.
struct SigningKeyRecord {
  std::string kid;        // RFC 7638 thumbprint of the public key
  std::string hsm_label;  // CKA_LABEL of the key pair in the HSM
  SigningKeyState state = SigningKeyState::kActive;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> retire_after;  // set once the key stopped signing
  std::optional<std::int64_t> retired_at;
};

// The key that signs new tokens right now.
struct ActiveSigningKey {
  std::string kid;
  std::string hsm_label;
};

class SigningKeyRing {
 public:
  // Migrates the "jwt" schema, loads the active and retiring keys, reads each public key from
  // the HSM and checks that its thumbprint is the stored kid, and records expired retiring keys
  // as retired. If no key is active (first start), creates one in the HSM and records it.
  // `policy` supplies the clock and the retirement delay. `hsm` must outlive the ring.
  // Fails with kInvalidArgument "invalid_token_policy", kDataLoss "jwt_signing_key_mismatch" if
  // the HSM holds another key under a recorded label, or the HSM's or store's error.
  static Result<std::unique_ptr<SigningKeyRing>> Open(pkcs11::Hsm& hsm,
                                                      std::shared_ptr<store::Database> database,
                                                      TokenPolicy policy);

  SigningKeyRing(const SigningKeyRing&) = delete;
  SigningKeyRing& operator=(const SigningKeyRing&) = delete;

  // The key new tokens are signed with.
  ActiveSigningKey ActiveKey() const;

  // The public key for `kid` if it is active, or retiring and not yet past retire_after;
  // nullptr for unknown or retired kids.
  std::shared_ptr<const P256PublicKey> VerificationKey(std::string_view kid) const;

  // The JWK set of every key VerificationKey would accept: {"keys":[{...}, ...]}, the active
  // key first. Pure memory, cheap enough for the I/O thread.
  std::string JwkSetJson() const;

  // Creates a new key pair in the HSM, records it as active and the previous active key as
  // retiring (retire_after = now + max lifetime + leeway), in one transaction. Returns the new
  // key's record. If recording fails, the new HSM objects are destroyed again.
  Result<SigningKeyRecord> Rotate();

  // Records every retiring key past its retire_after as retired and drops it from memory.
  // Safe to call at any time; kmsd may call it periodically to keep the table tidy.
  // TODO(#5): destroy a retired key's private half in the HSM once the audit log records it.
  Status RetireExpired();

  // Every recorded key, retired ones included, oldest first (for operators and tests).
  Result<std::vector<SigningKeyRecord>> ListKeys() const;

 private:
  struct LoadedKey {
    SigningKeyRecord record;
    std::shared_ptr<const P256PublicKey> public_key;
  };

  SigningKeyRing(pkcs11::Hsm& hsm, std::shared_ptr<store::Database> database, TokenPolicy policy)
      : hsm_(hsm), database_(std::move(database)), policy_(std::move(policy)) {}

  // Loads the non-retired rows and their public keys; creates the first key if none is active.
  Status Load();
  // A fresh key pair in the HSM, and its public key and kid.
  Result<LoadedKey> CreateKeyPair(std::int64_t now);
  // Reads `record`'s public key from the HSM and checks it against the kid.
  Result<LoadedKey> LoadPublicKey(SigningKeyRecord record);
  bool Verifiable(const LoadedKey& key, std::int64_t now) const;

  pkcs11::Hsm& hsm_;
  const std::shared_ptr<store::Database> database_;
  const TokenPolicy policy_;

  std::mutex rotate_mutex_;  // serialises Rotate and RetireExpired
  mutable std::shared_mutex keys_mutex_;
  std::vector<LoadedKey> keys_;  // active first, then retiring; guarded by keys_mutex_
};

}  // namespace weftkit::auth
