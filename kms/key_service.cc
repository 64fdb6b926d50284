#include "kms/key_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "common/base64.h"
#include "common/time_util.h"
#include "kms/envelope.h"

namespace weftkit::kms {
namespace {

constexpr std::size_t kTagBytes = 16;

Error KeyNotFound(const std::string& name) {
  return Error(ErrorKind::kNotFound, "key_not_found", "no master key named '" + name + "'");
}

Error VersionNotFound(const std::string& name, std::uint32_t version) {
  return Error(ErrorKind::kNotFound, "key_version_not_found",
               "key '" + name + "' has no version " + std::to_string(version));
}

Error Precondition(const char* code, const std::string& detail) {
  return Error(ErrorKind::kFailedPrecondition, code, detail);
}

std::string VersionName(const std::string& name, std::uint32_t version) {
  return name + " v" + std::to_string(version);
}

// A unique HSM label per version. The random suffix keeps a retried rotation from colliding
// with an object left behind by one that crashed between the HSM and the store.
Result<std::string> NewHsmLabel(const std::string& name, std::uint32_t version) {
  std::array<std::uint8_t, 6> suffix{};
  if (RAND_bytes(suffix.data(), suffix.size()) != 1) {
    return Error(ErrorKind::kInternal, "rng_failed", "RAND_bytes failed for an HSM label");
  }
  return "wk-mk/" + name + "/v" + std::to_string(version) + "/" + Base64UrlEncode(suffix);
}

std::int64_t SystemNow() { return UnixNow(); }

}  // namespace

KeyService::KeyService(pkcs11::Hsm& hsm, KeyStore& store, KeyServiceOptions options)
    : hsm_(hsm), store_(store), options_(std::move(options)) {
  if (!options_.now) options_.now = SystemNow;
}

Result<std::unique_ptr<KeyService>> KeyService::Create(pkcs11::Hsm& hsm, KeyStore& store,
                                                       KeyServiceOptions options) {
  if (options.reservation_block == 0 || options.max_encryptions_per_version > (1ull << 32) / 4) {
    return Error(ErrorKind::kInvalidArgument, "invalid_key_options",
                 "encryption limit must stay well under 2^32 and the reservation block above 0");
  }
  std::unique_ptr<KeyService> service(new KeyService(hsm, store, std::move(options)));
  WK_ASSIGN_OR_RETURN(std::vector<MasterKey> keys, store.ListKeys());
  for (MasterKey& key : keys) {
    // After a restart the durable reservation is the count: it may over-count, never under.
    for (const KeyVersion& version : key.versions) {
      Counter& counter = service->CounterFor(key.name, version.version);
      counter.used = version.encryptions_reserved;
      counter.reserved = version.encryptions_reserved;
    }
    std::string name = key.name;
    service->cache_[name] = std::make_shared<const MasterKey>(std::move(key));
  }
  return service;
}

// ---------------------------------------------------------------------------------------------
// Cache and counters

Result<std::shared_ptr<const MasterKey>> KeyService::CachedKey(const std::string& name) const {
  std::shared_lock lock(cache_mutex_);
  auto found = cache_.find(name);
  if (found == cache_.end()) return KeyNotFound(name);
  return found->second;
}

Status KeyService::RefreshCache(const std::string& name) {
  WK_ASSIGN_OR_RETURN(MasterKey key, store_.GetKey(name));
  std::unique_lock lock(cache_mutex_);
  cache_[name] = std::make_shared<const MasterKey>(std::move(key));
  return OkStatus();
}

KeyService::Counter& KeyService::CounterFor(const std::string& name, std::uint32_t version) {
  auto id = std::make_pair(name, version);
  {
    std::shared_lock lock(counters_mutex_);
    auto found = counters_.find(id);
    if (found != counters_.end()) return *found->second;
  }
  std::unique_lock lock(counters_mutex_);
  auto& slot = counters_[id];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

KeyReport KeyService::Report(const MasterKey& key) const {
  KeyReport report{key, {}};
  std::shared_lock lock(counters_mutex_);
  for (const KeyVersion& version : key.versions) {
    auto found = counters_.find({key.name, version.version});
    report.encryptions[version.version] = found == counters_.end() ? 0 : found->second->used.load();
  }
  return report;
}

std::mutex& KeyService::LifecycleMutex(const std::string& name) {
  std::lock_guard lock(lifecycle_mutexes_guard_);
  auto& slot = lifecycle_mutexes_[name];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

Status KeyService::CountEncryption(const std::string& name, std::uint32_t version) {
  Counter& counter = CounterFor(name, version);
  std::uint64_t position = counter.used.fetch_add(1) + 1;
  if (position > options_.max_encryptions_per_version) {
    return Precondition("key_version_exhausted",
                        VersionName(name, version) + " reached its encryption limit");
  }
  if (position <= counter.reserved.load()) return OkStatus();

  // Reserve the next block durably before the encryption it covers happens.
  std::lock_guard lock(reservation_mutex_);
  if (position <= counter.reserved.load()) return OkStatus();
  std::uint64_t target =
      std::min(position - 1 + options_.reservation_block, options_.max_encryptions_per_version);
  WK_RETURN_IF_ERROR(store_.ReserveEncryptions(name, version, target));
  counter.reserved = target;
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

Result<KeyVersion> KeyService::CreateHsmVersion(const std::string& name, std::uint32_t version) {
  WK_ASSIGN_OR_RETURN(std::string label, NewHsmLabel(name, version));
  WK_RETURN_IF_ERROR(hsm_.CreateAesKey(label));
  KeyVersion created;
  created.version = version;
  created.state = VersionState::kEnabled;
  created.hsm_label = std::move(label);
  created.created_at = Now();
  return created;
}

Result<KeyReport> KeyService::CreateKey(const std::string& name, const std::string& description,
                                        std::optional<std::int64_t> rotation_period_s) {
  WK_RETURN_IF_ERROR(ValidateKeyName(name));
  if (rotation_period_s && *rotation_period_s < 60) {
    return Error(ErrorKind::kInvalidArgument, "invalid_rotation_period",
                 "rotation period must be at least 60 seconds");
  }
  std::lock_guard lock(LifecycleMutex(name));
  if (CachedKey(name).ok()) {
    return Error(ErrorKind::kAlreadyExists, "key_exists", "key '" + name + "' already exists");
  }

  WK_ASSIGN_OR_RETURN(KeyVersion first, CreateHsmVersion(name, 1));
  MasterKey key;
  key.name = name;
  key.description = description;
  key.primary_version = 1;
  key.min_decrypt_version = 1;
  key.created_at = first.created_at;
  key.rotated_at = first.created_at;
  key.rotation_period = rotation_period_s;
  key.versions.push_back(first);
  Status stored = store_.CreateKey(key);
  if (!stored.ok()) {
    // The HSM object is not referenced by anything; remove it rather than leave an orphan.
    (void)hsm_.DestroyObjects(first.hsm_label);
    return stored.error();
  }
  WK_RETURN_IF_ERROR(RefreshCache(name));
  return GetKey(name);
}

Result<KeyReport> KeyService::GetKey(const std::string& name) const {
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(name));
  return Report(*key);
}

Result<std::vector<KeyReport>> KeyService::ListKeys() const {
  std::vector<std::shared_ptr<const MasterKey>> keys;
  {
    std::shared_lock lock(cache_mutex_);
    for (const auto& [name, key] : cache_) keys.push_back(key);
  }
  std::vector<KeyReport> reports;
  reports.reserve(keys.size());
  for (const auto& key : keys) reports.push_back(Report(*key));
  return reports;
}

Result<KeyReport> KeyService::Rotate(const std::string& name) {
  std::lock_guard lock(LifecycleMutex(name));
  return RotateLocked(name);
}

Result<KeyReport> KeyService::RotateLocked(const std::string& name) {
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(name));
  std::uint32_t next = key->versions.empty() ? 1 : key->versions.back().version + 1;
  WK_ASSIGN_OR_RETURN(KeyVersion created, CreateHsmVersion(name, next));
  Status stored = store_.AddPrimaryVersion(name, key->primary_version, created);
  if (!stored.ok()) {
    (void)hsm_.DestroyObjects(created.hsm_label);
    return stored.error();
  }
  WK_RETURN_IF_ERROR(RefreshCache(name));
  return GetKey(name);
}

// One allowed change of a version's state: from which states, to which, and what to say when
// the version is in another state.
struct KeyService::VersionTransition {
  const char* doing;               // "disabling", for messages
  std::vector<VersionState> from;  // the states it may start from
  bool refuses_primary;            // the primary must be rotated away first
  VersionState to;
  const char* wrong_state_code;  // the error code when the state is not in `from`
};

Result<KeyReport> KeyService::ChangeVersionState(const std::string& name, std::uint32_t version,
                                                 const VersionTransition& transition,
                                                 std::optional<std::int64_t> destroy_after) {
  std::lock_guard lock(LifecycleMutex(name));
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(name));
  const KeyVersion* found = key->FindVersion(version);
  if (found == nullptr) return VersionNotFound(name, version);
  if (transition.refuses_primary && version == key->primary_version) {
    return Precondition("key_version_is_primary", std::string("rotate before ") + transition.doing +
                                                      " the primary " + VersionName(name, version));
  }
  if (std::find(transition.from.begin(), transition.from.end(), found->state) ==
      transition.from.end()) {
    return Precondition(transition.wrong_state_code,
                        VersionName(name, version) + " is " + VersionStateName(found->state) +
                            "; " + transition.doing + " is not allowed from that state");
  }
  WK_RETURN_IF_ERROR(
      store_.UpdateVersionState(name, version, transition.to, destroy_after, std::nullopt));
  WK_RETURN_IF_ERROR(RefreshCache(name));
  return GetKey(name);
}

Result<KeyReport> KeyService::DisableVersion(const std::string& name, std::uint32_t version) {
  static const VersionTransition kDisable{"disabling",
                                          {VersionState::kEnabled, VersionState::kDisabled},
                                          true,
                                          VersionState::kDisabled,
                                          "key_version_state"};
  return ChangeVersionState(name, version, kDisable, std::nullopt);
}

Result<KeyReport> KeyService::EnableVersion(const std::string& name, std::uint32_t version) {
  static const VersionTransition kEnable{"enabling",
                                         {VersionState::kEnabled, VersionState::kDisabled},
                                         false,
                                         VersionState::kEnabled,
                                         "key_version_state"};
  return ChangeVersionState(name, version, kEnable, std::nullopt);
}

Result<KeyReport> KeyService::ScheduleDestruction(const std::string& name, std::uint32_t version,
                                                  std::int64_t wait_s) {
  if (wait_s < options_.min_destruction_wait_s) {
    return Error(ErrorKind::kInvalidArgument, "destruction_wait_too_short",
                 "the waiting period must be at least " +
                     std::to_string(options_.min_destruction_wait_s) + " seconds");
  }
  static const VersionTransition kSchedule{"destroying",
                                           {VersionState::kEnabled, VersionState::kDisabled},
                                           true,
                                           VersionState::kScheduledForDestruction,
                                           "key_version_state"};
  return ChangeVersionState(name, version, kSchedule, Now() + wait_s);
}

Result<KeyReport> KeyService::CancelDestruction(const std::string& name, std::uint32_t version) {
  // A cancelled version comes back disabled: someone decided it should go, so it stays out of
  // use until someone decides otherwise.
  static const VersionTransition kCancel{"cancelling destruction",
                                         {VersionState::kScheduledForDestruction},
                                         false,
                                         VersionState::kDisabled,
                                         "key_version_not_scheduled"};
  return ChangeVersionState(name, version, kCancel, std::nullopt);
}

Result<KeyReport> KeyService::SetMinDecryptVersion(const std::string& name, std::uint32_t version) {
  std::lock_guard lock(LifecycleMutex(name));
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(name));
  if (version < 1 || version > key->primary_version) {
    return Error(ErrorKind::kInvalidArgument, "invalid_min_decrypt_version",
                 "the minimum decryption version must lie between 1 and the primary version");
  }
  WK_RETURN_IF_ERROR(store_.SetMinDecryptVersion(name, version));
  WK_RETURN_IF_ERROR(RefreshCache(name));
  return GetKey(name);
}

Result<KeyReport> KeyService::SetRotationPeriod(const std::string& name,
                                                std::optional<std::int64_t> seconds) {
  if (seconds && *seconds < 60) {
    return Error(ErrorKind::kInvalidArgument, "invalid_rotation_period",
                 "rotation period must be at least 60 seconds");
  }
  std::lock_guard lock(LifecycleMutex(name));
  WK_RETURN_IF_ERROR(CachedKey(name));
  WK_RETURN_IF_ERROR(store_.SetRotationPeriod(name, seconds));
  WK_RETURN_IF_ERROR(RefreshCache(name));
  return GetKey(name);
}

Status KeyService::DestroyVersion(const std::string& name, std::uint32_t version) {
  std::lock_guard lock(LifecycleMutex(name));
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(name));
  const KeyVersion* found = key->FindVersion(version);
  if (found == nullptr || found->state != VersionState::kScheduledForDestruction) {
    return OkStatus();  // cancelled or already destroyed since the query
  }
  // Destroy in the HSM first: a crash after it leaves the row scheduled, and the next pass
  // finds no object (kNotFound) and finishes the job.
  Status destroyed = hsm_.DestroyObjects(found->hsm_label);
  if (!destroyed.ok() && destroyed.error().kind() != ErrorKind::kNotFound) return destroyed;
  WK_RETURN_IF_ERROR(store_.UpdateVersionState(name, version, VersionState::kDestroyed,
                                               found->destroy_after, Now()));
  return RefreshCache(name);
}

Result<int> KeyService::RunMaintenance(const MaintenanceObserver& on_change) {
  int changes = 0;
  auto changed = [&](MaintenanceChange change) -> Status {
    ++changes;
    return on_change ? on_change(change) : OkStatus();
  };

  WK_ASSIGN_OR_RETURN(auto due, store_.DueForDestruction(Now()));
  for (const auto& [name, version] : due) {
    WK_RETURN_IF_ERROR(DestroyVersion(name, version));
    WK_RETURN_IF_ERROR(
        changed({MaintenanceChange::Kind::kDestroyed, name, version, "destruction_due"}));
  }

  WK_ASSIGN_OR_RETURN(std::vector<KeyReport> keys, ListKeys());
  for (const KeyReport& report : keys) {
    const MasterKey& key = report.key;
    bool period_over =
        key.rotation_period && key.rotated_at && Now() >= *key.rotated_at + *key.rotation_period;
    // Rotate at 90% of the per-version limit so that wraps never hit it under load.
    bool near_limit =
        report.encryptions.at(key.primary_version) >= options_.max_encryptions_per_version / 10 * 9;
    if (!period_over && !near_limit) continue;
    std::unique_lock lock(LifecycleMutex(key.name));
    WK_ASSIGN_OR_RETURN(auto current, CachedKey(key.name));
    if (current->primary_version != key.primary_version) continue;  // rotated meanwhile
    WK_ASSIGN_OR_RETURN(KeyReport rotated, RotateLocked(key.name));
    lock.unlock();
    WK_RETURN_IF_ERROR(
        changed({MaintenanceChange::Kind::kRotated, key.name, rotated.key.primary_version,
                 period_over ? "rotation_period" : "encryption_limit"}));
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// DEK operations

Result<WrappedDek> KeyService::WrapUnder(const MasterKey& key, const SecretBytes& dek,
                                         const EncryptionContext& context) {
  const KeyVersion* primary = key.FindVersion(key.primary_version);
  if (primary == nullptr) return VersionNotFound(key.name, key.primary_version);
  WK_RETURN_IF_ERROR(CountEncryption(key.name, primary->version));

  Envelope envelope;
  envelope.algorithm = Algorithm::kAes256Gcm;
  envelope.key_name = key.name;
  envelope.key_version = primary->version;
  if (RAND_bytes(envelope.iv.data(), envelope.iv.size()) != 1) {
    return Error(ErrorKind::kInternal, "rng_failed", "RAND_bytes failed for a GCM IV");
  }
  std::vector<std::uint8_t> aad = BuildAad(envelope, context);
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> sealed,
                      hsm_.EncryptGcm(primary->hsm_label, envelope.iv, aad, dek.expose()));
  if (sealed.size() != dek.size() + kTagBytes) {
    return Error(ErrorKind::kInternal, "hsm_error", "C_Encrypt returned an unexpected length");
  }
  envelope.ciphertext.assign(sealed.begin(), sealed.end() - kTagBytes);
  std::copy(sealed.end() - kTagBytes, sealed.end(), envelope.tag.begin());
  return WrappedDek{key.name, primary->version, EncodeEnvelope(envelope)};
}

Result<WrappedDek> KeyService::WrapWithPrimary(const std::string& key_name, const SecretBytes& dek,
                                               const EncryptionContext& context) {
  if (dek.size() < kMinDekBytes || dek.size() > kMaxDekBytes) {
    return Error(ErrorKind::kInvalidArgument, "invalid_dek_length",
                 "a DEK must be 16 to 64 bytes long");
  }
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(key_name));
  Result<WrappedDek> wrapped = WrapUnder(*key, dek, context);
  if (wrapped.ok() || wrapped.error().code() != "key_version_exhausted") return wrapped;

  // The primary hit its limit between maintenance passes: rotate now, once, and retry.
  {
    std::lock_guard lock(LifecycleMutex(key_name));
    WK_ASSIGN_OR_RETURN(auto current, CachedKey(key_name));
    if (current->primary_version == key->primary_version) {
      WK_RETURN_IF_ERROR(RotateLocked(key_name));
    }
  }
  WK_ASSIGN_OR_RETURN(key, CachedKey(key_name));
  return WrapUnder(*key, dek, context);
}

Result<WrappedDek> KeyService::Wrap(const std::string& key_name, const SecretBytes& dek,
                                    const EncryptionContext& context) {
  return WrapWithPrimary(key_name, dek, context);
}

Result<GeneratedDek> KeyService::GenerateDataKey(const std::string& key_name, std::size_t bytes,
                                                 const EncryptionContext& context) {
  if (bytes < kMinDekBytes || bytes > kMaxDekBytes) {
    return Error(ErrorKind::kInvalidArgument, "invalid_dek_length",
                 "a DEK must be 16 to 64 bytes long");
  }
  SecretBytes plaintext(bytes);
  std::span<std::uint8_t> raw = plaintext.expose_mutable();
  if (RAND_priv_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return Error(ErrorKind::kInternal, "rng_failed", "RAND_priv_bytes failed for a DEK");
  }
  WK_ASSIGN_OR_RETURN(WrappedDek wrapped, WrapWithPrimary(key_name, plaintext, context));
  return GeneratedDek{std::move(plaintext), std::move(wrapped)};
}

Result<const KeyVersion*> KeyService::CheckUnwrappable(const MasterKey& key,
                                                       std::uint32_t version) const {
  const KeyVersion* found = key.FindVersion(version);
  if (found == nullptr) return VersionNotFound(key.name, version);
  switch (found->state) {
    case VersionState::kEnabled:
      break;
    case VersionState::kDisabled:
      return Precondition("key_version_disabled", VersionName(key.name, version) + " is disabled");
    case VersionState::kScheduledForDestruction:
      return Precondition("key_version_scheduled_for_destruction",
                          VersionName(key.name, version) + " is scheduled for destruction");
    case VersionState::kDestroyed:
      return Precondition("key_version_destroyed",
                          VersionName(key.name, version) + " was destroyed");
  }
  if (version < key.min_decrypt_version) {
    return Precondition(
        "key_version_below_minimum",
        VersionName(key.name, version) + " is below the minimum decryption version");
  }
  return found;
}

Result<UnwrappedDek> KeyService::Unwrap(std::span<const std::uint8_t> envelope_bytes,
                                        const EncryptionContext& context,
                                        const std::optional<std::string>& expected_key) {
  WK_ASSIGN_OR_RETURN(Envelope envelope, DecodeEnvelope(envelope_bytes));
  if (expected_key && *expected_key != envelope.key_name) {
    return Error(ErrorKind::kInvalidArgument, "envelope_wrong_key",
                 "envelope is for key '" + envelope.key_name + "', not '" + *expected_key + "'");
  }
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(envelope.key_name));
  WK_ASSIGN_OR_RETURN(const KeyVersion* version, CheckUnwrappable(*key, envelope.key_version));

  std::vector<std::uint8_t> sealed = envelope.ciphertext;
  sealed.insert(sealed.end(), envelope.tag.begin(), envelope.tag.end());
  std::vector<std::uint8_t> aad = BuildAad(envelope, context);
  Result<SecretBytes> plaintext = hsm_.DecryptGcm(version->hsm_label, envelope.iv, aad, sealed);
  if (!plaintext.ok()) {
    if (plaintext.error().kind() != ErrorKind::kDataLoss) return plaintext.error();
    // GCM cannot tell a tampered envelope from a different context: say both.
    return Error(ErrorKind::kDataLoss, "envelope_authentication_failed",
                 "envelope for " + VersionName(key->name, version->version) +
                     " failed authentication: tampered, or a different encryption context");
  }
  return UnwrappedDek{std::move(plaintext).value(), key->name, version->version};
}

Result<WrappedDek> KeyService::Rewrap(std::span<const std::uint8_t> envelope,
                                      const EncryptionContext& context,
                                      const std::optional<std::string>& expected_key) {
  WK_ASSIGN_OR_RETURN(UnwrappedDek dek, Unwrap(envelope, context, expected_key));
  WK_ASSIGN_OR_RETURN(auto key, CachedKey(dek.key_name));
  if (dek.key_version == key->primary_version) {
    // Already current and just authenticated: a bulk rewrap may repeat itself at no cost and
    // without spending the primary's encryption budget.
    return WrappedDek{dek.key_name, dek.key_version, {envelope.begin(), envelope.end()}};
  }
  return WrapWithPrimary(dek.key_name, dek.plaintext, context);
}

}  // namespace weftkit::kms
