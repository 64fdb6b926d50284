// KeyStore: durable metadata of master keys and versions.
//
// An interface because a multi-node deployment will keep the same schema in a replicated
// database; SqliteKeyStore is the embedded implementation. Every mutating call is one
// transaction that is durable when it returns (synchronous=FULL), so an acknowledged rotation
// survives a crash. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "kms/key_model.h"

namespace weftkit::kms {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Stores a new key with its first version, which becomes primary.
  // Fails with kAlreadyExists if the name was ever used.
  virtual Status CreateKey(const MasterKey& key) = 0;

  // The key with all its versions, or kNotFound.
  virtual Result<MasterKey> GetKey(const std::string& name) = 0;

  // All keys with their versions, ordered by name.
  virtual Result<std::vector<MasterKey>> ListKeys() = 0;

  // Appends `version` to key `name` and makes it primary, in one transaction, provided the
  // current primary is still `expected_primary`; otherwise fails with kConflict (a concurrent
  // rotation won). Sets rotated_at to version.created_at.
  virtual Status AddPrimaryVersion(const std::string& name, std::uint32_t expected_primary,
                                   const KeyVersion& version) = 0;

  // Replaces the state and destruction times of one version.
  virtual Status UpdateVersionState(const std::string& name, std::uint32_t version,
                                    VersionState state, std::optional<std::int64_t> destroy_after,
                                    std::optional<std::int64_t> destroyed_at) = 0;

  // Raises the durable encryption count of a version to `reserved` (never lowers it).
  virtual Status ReserveEncryptions(const std::string& name, std::uint32_t version,
                                    std::uint64_t reserved) = 0;

  virtual Status SetMinDecryptVersion(const std::string& name, std::uint32_t version) = 0;
  virtual Status SetRotationPeriod(const std::string& name,
                                   std::optional<std::int64_t> seconds) = 0;

  // Versions in state kScheduledForDestruction whose destroy_after is at or before `now`,
  // as (key name, version) pairs.
  virtual Result<std::vector<std::pair<std::string, std::uint32_t>>> DueForDestruction(
      std::int64_t now) = 0;
};

}  // namespace weftkit::kms
