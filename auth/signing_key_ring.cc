#include "auth/signing_key_ring.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "auth/jwt_schema.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::auth {
namespace {

using store::Connection;
using store::Statement;

struct StateName {
  SigningKeyState state;
  const char* name;
};
constexpr std::array<StateName, 3> kStateNames = {{
    {SigningKeyState::kActive, "active"},
    {SigningKeyState::kRetiring, "retiring"},
    {SigningKeyState::kRetired, "retired"},
}};

// Column order read by ReadRecord; whole statements are spelled out so every SQL text is constant.
// rowid breaks ties between keys created within one second: it grows with every insert.
constexpr const char* kSelectLiveNewestFirst =
    "SELECT kid, hsm_label, state, created_at, retire_after, retired_at FROM jwt_signing_keys "
    "WHERE state != 'retired' ORDER BY created_at DESC, rowid DESC";
constexpr const char* kSelectAllOldestFirst =
    "SELECT kid, hsm_label, state, created_at, retire_after, retired_at FROM jwt_signing_keys "
    "ORDER BY created_at, rowid";

Error Corrupt(const std::string& what) {
  return Error(ErrorKind::kInternal, "store_corrupt", "jwt_signing_keys row holds " + what);
}

std::optional<SigningKeyState> ParseState(const std::string& name) {
  for (const StateName& entry : kStateNames) {
    if (name == entry.name) return entry.state;
  }
  return std::nullopt;
}

Result<SigningKeyRecord> ReadRecord(const Statement& row) {
  SigningKeyRecord record;
  record.kid = row.ColumnText(0);
  record.hsm_label = row.ColumnText(1);
  std::optional<SigningKeyState> state = ParseState(row.ColumnText(2));
  if (!state.has_value()) return Corrupt("an unknown state");
  record.state = *state;
  record.created_at = row.ColumnInt64(3);
  record.retire_after = row.ColumnOptionalInt64(4);
  record.retired_at = row.ColumnOptionalInt64(5);
  if (record.state == SigningKeyState::kRetiring && !record.retire_after.has_value()) {
    return Corrupt("a retiring key without retire_after");
  }
  return record;
}

Result<std::vector<SigningKeyRecord>> SelectRecords(store::Database& database, const char* sql) {
  using Records = std::vector<SigningKeyRecord>;
  return store::InReadTransaction(database, [&](Connection& connection) -> Result<Records> {
    WK_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(connection, sql));
    Records records;
    while (true) {
      WK_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return records;
      WK_ASSIGN_OR_RETURN(SigningKeyRecord record, ReadRecord(query));
      records.push_back(std::move(record));
    }
  });
}

Status InsertRecord(Connection& connection, const SigningKeyRecord& record) {
  WK_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(connection,
                         "INSERT INTO jwt_signing_keys (kid, hsm_label, algorithm, state, "
                         "created_at, retire_after, retired_at) VALUES (?1, ?2, 'ES256', ?3, ?4, "
                         "?5, ?6)"));
  WK_RETURN_IF_ERROR(insert.Bind(1, record.kid));
  WK_RETURN_IF_ERROR(insert.Bind(2, record.hsm_label));
  WK_RETURN_IF_ERROR(insert.Bind(3, SigningKeyStateName(record.state)));
  WK_RETURN_IF_ERROR(insert.Bind(4, record.created_at));
  WK_RETURN_IF_ERROR(insert.Bind(5, record.retire_after));
  WK_RETURN_IF_ERROR(insert.Bind(6, record.retired_at));
  return insert.StepToEnd();
}

Status MarkActiveRetiring(Connection& connection, std::int64_t retire_after) {
  WK_ASSIGN_OR_RETURN(Statement update,
                      Statement::Prepare(connection,
                                         "UPDATE jwt_signing_keys SET state = 'retiring', "
                                         "retire_after = ?1 WHERE state = 'active'"));
  WK_RETURN_IF_ERROR(update.Bind(1, retire_after));
  return update.StepToEnd();
}

// A label no other object carries: the kid is only known once the key exists.
Result<std::string> NewLabel() {
  std::array<unsigned char, 8> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "RAND_bytes failed");
  }
  std::string label = "jwt-es256-";
  std::array<char, 3> hex{};
  for (unsigned char byte : bytes) {
    std::snprintf(hex.data(), hex.size(), "%02x", byte);
    label += hex.data();
  }
  return label;
}

}  // namespace

const char* SigningKeyStateName(SigningKeyState state) {
  for (const StateName& entry : kStateNames) {
    if (entry.state == state) return entry.name;
  }
  return "unknown";
}

Result<std::unique_ptr<SigningKeyRing>> SigningKeyRing::Open(
    pkcs11::Hsm& hsm, std::shared_ptr<store::Database> database, TokenPolicy policy) {
  WK_RETURN_IF_ERROR(ValidateTokenPolicy(policy));
  if (database == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "signing key ring opened without a database");
  }
  WK_RETURN_IF_ERROR(MigrateJwtSchema(*database));
  std::unique_ptr<SigningKeyRing> ring(
      new SigningKeyRing(hsm, std::move(database), std::move(policy)));
  WK_RETURN_IF_ERROR(ring->Load());
  WK_RETURN_IF_ERROR(ring->RetireExpired());
  return ring;
}

Status SigningKeyRing::Load() {
  WK_ASSIGN_OR_RETURN(std::vector<SigningKeyRecord> records,
                      SelectRecords(*database_, kSelectLiveNewestFirst));
  std::vector<LoadedKey> loaded;
  for (SigningKeyRecord& record : records) {
    WK_ASSIGN_OR_RETURN(LoadedKey key, LoadPublicKey(std::move(record)));
    loaded.push_back(std::move(key));
  }

  const bool has_active = std::any_of(loaded.begin(), loaded.end(), [](const LoadedKey& key) {
    return key.record.state == SigningKeyState::kActive;
  });
  if (!has_active) {
    // First start: no token has been signed yet, so nothing else needs to change.
    WK_ASSIGN_OR_RETURN(LoadedKey first, CreateKeyPair(policy_.now()));
    Status recorded = store::InWriteTransaction(
        *database_, [&](Connection& connection) { return InsertRecord(connection, first.record); });
    if (!recorded.ok()) {
      (void)hsm_.DestroyObjects(first.record.hsm_label);
      return recorded.error();
    }
    loaded.push_back(std::move(first));
  }

  // The active key first, then the retiring ones newest first: the order of the JWK set.
  std::stable_partition(loaded.begin(), loaded.end(), [](const LoadedKey& key) {
    return key.record.state == SigningKeyState::kActive;
  });
  std::unique_lock lock(keys_mutex_);
  keys_ = std::move(loaded);
  return OkStatus();
}

Result<SigningKeyRing::LoadedKey> SigningKeyRing::CreateKeyPair(std::int64_t now) {
  WK_ASSIGN_OR_RETURN(std::string label, NewLabel());
  WK_RETURN_IF_ERROR(hsm_.CreateEcSigningKey(label));

  auto public_key = [&]() -> Result<P256PublicKey> {
    WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> der, hsm_.EcPublicKeyDer(label));
    return P256PublicKey::FromSpkiDer(der);
  }();
  if (!public_key.ok()) {
    // A key pair nobody recorded would sit in the HSM forever.
    (void)hsm_.DestroyObjects(label);
    return public_key.error();
  }

  LoadedKey key;
  key.record.kid = public_key->Thumbprint();
  key.record.hsm_label = std::move(label);
  key.record.state = SigningKeyState::kActive;
  key.record.created_at = now;
  key.public_key = std::make_shared<const P256PublicKey>(std::move(public_key).value());
  return key;
}

Result<SigningKeyRing::LoadedKey> SigningKeyRing::LoadPublicKey(SigningKeyRecord record) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> der, hsm_.EcPublicKeyDer(record.hsm_label));
  WK_ASSIGN_OR_RETURN(P256PublicKey public_key, P256PublicKey::FromSpkiDer(der));
  if (public_key.Thumbprint() != record.kid) {
    // Another token, or an object replaced under a recorded label: tokens signed now would not
    // verify against the published kid, so refuse to start rather than sign with it.
    return Error(ErrorKind::kDataLoss, "jwt_signing_key_mismatch",
                 "HSM object " + record.hsm_label + " does not hold signing key " + record.kid);
  }
  return LoadedKey{std::move(record), std::make_shared<const P256PublicKey>(std::move(public_key))};
}

bool SigningKeyRing::Verifiable(const LoadedKey& key, std::int64_t now) const {
  switch (key.record.state) {
    case SigningKeyState::kActive:
      return true;
    case SigningKeyState::kRetiring:
      return key.record.retire_after.has_value() && now < *key.record.retire_after;
    case SigningKeyState::kRetired:
      return false;
  }
  return false;
}

ActiveSigningKey SigningKeyRing::ActiveKey() const {
  std::shared_lock lock(keys_mutex_);
  // Load() and Rotate() keep the active key at the front, and there always is one.
  const SigningKeyRecord& active = keys_.front().record;
  return {active.kid, active.hsm_label};
}

std::shared_ptr<const P256PublicKey> SigningKeyRing::VerificationKey(std::string_view kid) const {
  const std::int64_t now = policy_.now();
  std::shared_lock lock(keys_mutex_);
  for (const LoadedKey& key : keys_) {
    if (key.record.kid == kid) return Verifiable(key, now) ? key.public_key : nullptr;
  }
  return nullptr;
}

std::string SigningKeyRing::JwkSetJson() const {
  const std::int64_t now = policy_.now();
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  std::shared_lock lock(keys_mutex_);
  for (const LoadedKey& key : keys_) {
    if (Verifiable(key, now)) keys.push_back(key.public_key->ToJwk(key.record.kid));
  }
  return nlohmann::ordered_json{{"keys", keys}}.dump();
}

Result<SigningKeyRecord> SigningKeyRing::Rotate() {
  std::lock_guard rotating(rotate_mutex_);
  const std::int64_t now = policy_.now();
  const std::int64_t retire_after = now + RetirementDelay(policy_);
  WK_ASSIGN_OR_RETURN(LoadedKey fresh, CreateKeyPair(now));

  Status recorded = store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_RETURN_IF_ERROR(MarkActiveRetiring(connection, retire_after));
    return InsertRecord(connection, fresh.record);
  });
  if (!recorded.ok()) {
    (void)hsm_.DestroyObjects(fresh.record.hsm_label);
    return recorded.error();
  }

  SigningKeyRecord result = fresh.record;
  std::unique_lock lock(keys_mutex_);
  for (LoadedKey& key : keys_) {
    if (key.record.state != SigningKeyState::kActive) continue;
    key.record.state = SigningKeyState::kRetiring;
    key.record.retire_after = retire_after;
  }
  keys_.insert(keys_.begin(), std::move(fresh));
  return result;
}

Status SigningKeyRing::RetireExpired() {
  std::lock_guard rotating(rotate_mutex_);
  const std::int64_t now = policy_.now();
  WK_RETURN_IF_ERROR(store::InWriteTransaction(*database_, [&](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement update,
                        Statement::Prepare(connection,
                                           "UPDATE jwt_signing_keys SET state = 'retired', "
                                           "retired_at = ?1 WHERE state = 'retiring' AND "
                                           "retire_after <= ?1"));
    WK_RETURN_IF_ERROR(update.Bind(1, now));
    return update.StepToEnd();
  }));

  std::unique_lock lock(keys_mutex_);
  std::erase_if(keys_, [&](const LoadedKey& key) {
    return key.record.state == SigningKeyState::kRetiring && !Verifiable(key, now);
  });
  return OkStatus();
}

Result<std::vector<SigningKeyRecord>> SigningKeyRing::ListKeys() const {
  return SelectRecords(*database_, kSelectAllOldestFirst);
}

}  // namespace weftkit::auth
