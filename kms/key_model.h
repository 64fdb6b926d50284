// The data model of master keys and their versions, as the key store keeps it.
//
// A master key is a name and a list of versions. Each version is its own AES-256 object in the
// HSM; the store keeps only its metadata. Exactly one enabled version is primary: new wraps use
// it, and every version that is enabled and at or above the key's minimum decryption version can
// unwrap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weftkit::kms {

// The life of one key version:
//
//   enabled <-> disabled
//      |           |
//      +-----+-----+
//            v
//   scheduled_for_destruction --(waiting period over)--> destroyed
//            |
//            +--(cancel)--> disabled
enum class VersionState { kEnabled, kDisabled, kScheduledForDestruction, kDestroyed };

const char* VersionStateName(VersionState state);
std::optional<VersionState> ParseVersionState(const std::string& name);

struct KeyVersion {
  std::uint32_t version = 0;
  VersionState state = VersionState::kEnabled;
  std::string hsm_label;                      // CKA_LABEL of the HSM object, unique per version
  std::int64_t created_at = 0;                // Unix seconds
  std::optional<std::int64_t> destroy_after;  // set while scheduled for destruction
  std::optional<std::int64_t> destroyed_at;
  // Encryptions counted durably for this version. The service reserves blocks ahead of use, so
  // after a crash this over-counts and never under-counts.
  std::uint64_t encryptions_reserved = 0;
};

struct MasterKey {
  std::string name;
  std::string algorithm = "AES-256-GCM";
  std::uint32_t primary_version = 0;
  std::uint32_t min_decrypt_version = 1;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> rotated_at;       // time the current primary became primary
  std::optional<std::int64_t> rotation_period;  // seconds; automatic rotation when set
  std::string description;
  std::vector<KeyVersion> versions;  // ascending by version

  const KeyVersion* FindVersion(std::uint32_t version) const;
};

}  // namespace weftkit::kms
