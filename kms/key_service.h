// KeyService: master key lifecycle and the DEK operations, over the HSM and the key store.
//
// Master keys never leave the HSM: each version is one AES-256 object there, and this service
// only names them. DEKs are wrapped with AES-256-GCM inside the HSM under the primary version,
// with a fresh random 96-bit IV and AAD that binds the envelope header (key name, version, IV)
// and the caller's encryption context. An envelope names its own key version, so unwrap needs
// no lookup of the DEK and rotation is O(1): it creates one HSM object and writes one row.
//
// Because random IVs under one key are safe only up to 2^32 encryptions (NIST SP 800-38D), each
// version counts its encryptions durably (reserved in blocks ahead of use, so a crash over-counts)
// and the key is rotated automatically before the configured limit is reached.
//
// Thread safety: all methods may be called concurrently from worker threads. Key metadata is
// cached in memory and written through to the store; this process is the store's only writer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"
#include "common/security_context.h"
#include "kms/encryption_context.h"
#include "kms/key_model.h"
#include "kms/key_store.h"
#include "pkcs11/hsm.h"

namespace weftkit::kms {

struct KeyServiceOptions {
  // Wraps allowed per version before the key rotates itself; well under the 2^32 GCM bound.
  std::uint64_t max_encryptions_per_version = 1ull << 30;
  // Encryptions reserved in the store per write; bounds the over-count after a crash.
  std::uint64_t reservation_block = 1ull << 16;
  // Shortest waiting period a destruction may be scheduled with.
  std::int64_t min_destruction_wait_s = 86400;
  // The clock, in Unix seconds; replaceable in tests.
  std::function<std::int64_t()> now;
};

// A DEK wrapped under a key version: the envelope bytes of docs/envelope.md.
struct WrappedDek {
  std::string key_name;
  std::uint32_t key_version = 0;
  std::vector<std::uint8_t> envelope;
};

// A fresh DEK: its plaintext (for the authorized caller only) and its wrapped form.
struct GeneratedDek {
  SecretBytes plaintext;
  WrappedDek wrapped;
};

struct UnwrappedDek {
  SecretBytes plaintext;
  std::string key_name;
  std::uint32_t key_version = 0;
};

// The state of one key as reported to operators: the stored metadata plus live counters.
struct KeyReport {
  MasterKey key;
  std::map<std::uint32_t, std::uint64_t> encryptions;  // version -> encryptions counted
};

// A change the maintenance task made on its own, without a request.
struct MaintenanceChange {
  enum class Kind { kRotated, kDestroyed };
  Kind kind = Kind::kRotated;
  std::string key_name;
  std::uint32_t version = 0;  // the new primary version, or the destroyed version
  // Why: "destruction_due", "rotation_period" or "encryption_limit".
  const char* reason = "";
};
using MaintenanceObserver = std::function<Status(const MaintenanceChange&)>;

class KeyService {
 public:
  // DEK sizes accepted for wrap and generate, in bytes.
  static constexpr std::size_t kMinDekBytes = 16;
  static constexpr std::size_t kMaxDekBytes = 64;

  // Loads every key from `store` into the cache. `hsm` and `store` must outlive the service.
  static Result<std::unique_ptr<KeyService>> Create(pkcs11::Hsm& hsm, KeyStore& store,
                                                    KeyServiceOptions options);

  // --- Lifecycle, for key officers. Each returns the key as it is afterwards. ---

  // Creates key `name` with version 1 as primary. kAlreadyExists if the name was ever used.
  Result<KeyReport> CreateKey(const std::string& name, const std::string& description,
                              std::optional<std::int64_t> rotation_period_s);
  Result<KeyReport> GetKey(const std::string& name) const;
  Result<std::vector<KeyReport>> ListKeys() const;

  // Creates a new HSM version and makes it primary; older versions keep unwrapping.
  Result<KeyReport> Rotate(const std::string& name);

  // Disabled versions refuse unwrap until enabled again. The primary cannot be disabled.
  Result<KeyReport> DisableVersion(const std::string& name, std::uint32_t version);
  Result<KeyReport> EnableVersion(const std::string& name, std::uint32_t version);
  // Schedules destruction after `wait_s` (at least the configured minimum); cancellable until
  // then. The primary cannot be scheduled.
  Result<KeyReport> ScheduleDestruction(const std::string& name, std::uint32_t version,
                                        std::int64_t wait_s);
  // Cancels a scheduled destruction; the version comes back disabled.
  Result<KeyReport> CancelDestruction(const std::string& name, std::uint32_t version);
  // Versions below `version` refuse unwrap. It may not exceed the primary.
  Result<KeyReport> SetMinDecryptVersion(const std::string& name, std::uint32_t version);
  Result<KeyReport> SetRotationPeriod(const std::string& name, std::optional<std::int64_t> seconds);

  // Destroys versions whose waiting period is over and rotates keys whose rotation period has
  // elapsed or whose primary nears its encryption limit. Calls `on_change` (when set) after each
  // change and before the next one, so that each is recorded as it happens; an error from
  // `on_change` stops the run there. Returns how many changes it made. Called periodically by the
  // server.
  Result<int> RunMaintenance(const MaintenanceObserver& on_change = {});

  // --- DEK operations, for engines. ---

  // Wraps a caller-supplied DEK under the primary version of `key_name`.
  Result<WrappedDek> Wrap(const std::string& key_name, const SecretBytes& dek,
                          const EncryptionContext& context);
  // Generates a DEK of `bytes` bytes with the process's DRBG and wraps it.
  Result<GeneratedDek> GenerateDataKey(const std::string& key_name, std::size_t bytes,
                                       const EncryptionContext& context);
  // Unwraps an envelope. When `expected_key` is set the envelope must name that key.
  Result<UnwrappedDek> Unwrap(std::span<const std::uint8_t> envelope,
                              const EncryptionContext& context,
                              const std::optional<std::string>& expected_key);
  // Re-encrypts an envelope under the primary version of its key, keeping its context. The
  // plaintext never leaves this call. An envelope already under the primary is authenticated
  // and returned unchanged.
  Result<WrappedDek> Rewrap(std::span<const std::uint8_t> envelope,
                            const EncryptionContext& context,
                            const std::optional<std::string>& expected_key);

 private:
  // Live encryption counter of one version, and how far the store has reserved.
  struct Counter {
    std::atomic<std::uint64_t> used{0};
    std::atomic<std::uint64_t> reserved{0};  // written under reservation_mutex_
  };

  KeyService(pkcs11::Hsm& hsm, KeyStore& store, KeyServiceOptions options);

  std::int64_t Now() const { return options_.now(); }
  Result<std::shared_ptr<const MasterKey>> CachedKey(const std::string& name) const;
  Status RefreshCache(const std::string& name);
  KeyReport Report(const MasterKey& key) const;
  std::mutex& LifecycleMutex(const std::string& name);

  struct VersionTransition;
  Result<KeyReport> ChangeVersionState(const std::string& name, std::uint32_t version,
                                       const VersionTransition& transition,
                                       std::optional<std::int64_t> destroy_after);
  Result<KeyVersion> CreateHsmVersion(const std::string& name, std::uint32_t version);
  Result<KeyReport> RotateLocked(const std::string& name);
  Status DestroyVersion(const std::string& name, std::uint32_t version);

  // Counts one encryption under (name, version); reserves a new block in the store when needed.
  // Fails with kFailedPrecondition "key_version_exhausted" past the configured limit.
  Status CountEncryption(const std::string& name, std::uint32_t version);
  Result<WrappedDek> WrapWithPrimary(const std::string& key_name, const SecretBytes& dek,
                                     const EncryptionContext& context);
  Result<WrappedDek> WrapUnder(const MasterKey& key, const SecretBytes& dek,
                               const EncryptionContext& context);
  Result<const KeyVersion*> CheckUnwrappable(const MasterKey& key, std::uint32_t version) const;

  pkcs11::Hsm& hsm_;
  KeyStore& store_;
  KeyServiceOptions options_;

  mutable std::shared_mutex cache_mutex_;
  std::map<std::string, std::shared_ptr<const MasterKey>> cache_;

  std::mutex lifecycle_mutexes_guard_;
  std::map<std::string, std::unique_ptr<std::mutex>> lifecycle_mutexes_;

  Counter& CounterFor(const std::string& name, std::uint32_t version);

  mutable std::shared_mutex counters_mutex_;  // guards the map; entries are never removed
  std::map<std::pair<std::string, std::uint32_t>, std::unique_ptr<Counter>> counters_;
  std::mutex reservation_mutex_;  // serializes store reservations
};

}  // namespace weftkit::kms
