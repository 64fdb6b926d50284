#include "audit/checkpoint_signer.h"

#include <algorithm>

#include "common/base64.h"
#include "common/time_util.h"

namespace weftkit::audit {
namespace {

Result<std::shared_ptr<const auth::P256PublicKey>> LoadPublicKey(pkcs11::Hsm& hsm,
                                                                 const std::string& label) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> der, hsm.EcPublicKeyDer(label));
  WK_ASSIGN_OR_RETURN(auth::P256PublicKey key, auth::P256PublicKey::FromSpkiDer(der));
  return std::make_shared<const auth::P256PublicKey>(std::move(key));
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<CheckpointSigner>> CheckpointSigner::Open(pkcs11::Hsm& hsm,
                                                                 SqliteAuditStore& store) {
  WK_ASSIGN_OR_RETURN(std::vector<CheckpointKeyRecord> records, store.CheckpointKeysRecorded());
  if (records.empty()) {
    CheckpointKeyRecord record;
    record.created_ms = NowMs();
    record.hsm_label = "weftkit-audit-checkpoint-" + std::to_string(record.created_ms);
    WK_RETURN_IF_ERROR(hsm.CreateEcSigningKey(record.hsm_label));
    Result<std::shared_ptr<const auth::P256PublicKey>> key = LoadPublicKey(hsm, record.hsm_label);
    if (key.ok()) {
      record.kid = (*key)->Thumbprint();
      Status recorded = store.AddCheckpointKey(record);
      if (recorded.ok()) return Open(hsm, store);
      key = recorded.error();
    }
    // Leave no unrecorded key behind in the HSM.
    (void)hsm.DestroyObjects(record.hsm_label);
    return key.error();
  }

  std::vector<Key> keys;
  for (CheckpointKeyRecord& record : records) {
    WK_ASSIGN_OR_RETURN(auto public_key, LoadPublicKey(hsm, record.hsm_label));
    if (public_key->Thumbprint() != record.kid) {
      return Error(ErrorKind::kDataLoss, "audit_checkpoint_key_mismatch",
                   "the HSM object " + record.hsm_label + " is not the recorded key " + record.kid);
    }
    keys.push_back({std::move(record), std::move(public_key)});
  }
  // The newest key signs.
  std::reverse(keys.begin(), keys.end());
  return std::unique_ptr<CheckpointSigner>(new CheckpointSigner(hsm, std::move(keys)));
}

CheckpointSigner::CheckpointSigner(pkcs11::Hsm& hsm, std::vector<Key> keys)
    : hsm_(hsm), keys_list_(std::move(keys)) {
  for (const Key& key : keys_list_) keys_.emplace(key.record.kid, key.public_key);
}

Result<Checkpoint> CheckpointSigner::Sign(std::uint64_t tree_size, const Hash& root,
                                          std::int64_t time_ms) {
  const Key& current = keys_list_.front();
  Checkpoint checkpoint{tree_size, root, time_ms, current.record.kid, {}};
  std::string input = CheckpointSigningInput(tree_size, root, time_ms, current.record.kid);
  WK_ASSIGN_OR_RETURN(checkpoint.signature,
                      hsm_.SignEcdsaSha256(current.record.hsm_label, AsBytes(input)));
  return checkpoint;
}

nlohmann::ordered_json CheckpointSigner::JwkSet() const {
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const Key& key : keys_list_) keys.push_back(key.public_key->ToJwk(key.record.kid));
  nlohmann::ordered_json set;
  set["keys"] = std::move(keys);
  return set;
}

}  // namespace weftkit::audit
