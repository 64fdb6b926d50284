// SqlitePolicyStore: policy bundle versions, the bundle signing keys and fleet reports, in the
// same SQLite file as the key store (schema component "policy").
//
// Versions are immutable: triggers refuse UPDATE and DELETE on policy_versions, so history,
// diffs and rollbacks always see what was signed. Versions of a scope are 1, 2, 3... with no
// gaps; Insert takes the write lock (BEGIN IMMEDIATE) and checks the author's base version
// against the latest one in the same transaction, so two concurrent publishes based on the same
// version cannot both succeed.
//
// Thread safety: all members are thread-safe (serialised through the Database lock).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "store/database.h"

namespace weftkit::policy_store {

// One published version of a scope's bundle.
struct PolicyVersion {
  std::string scope;
  std::int64_t version = 0;
  std::string content;       // the document's canonical text (canonical_json.h)
  std::string content_hash;  // SHA-256 of content, lower-case hex
  std::string author;        // principal of the SecurityContext that published it
  std::int64_t published_at = 0;
  std::string comment;
  std::int64_t based_on = 0;                     // the version the author edited; 0: none
  std::optional<std::int64_t> rolled_back_from;  // set when this republishes an old version
  std::string kid;                               // key that signed it
  std::string signature;                         // compact JWS (bundle_jws.h)
};

// The signing key of policy bundles, as recorded.
struct BundleKeyRecord {
  std::string kid;
  std::string hsm_label;
  std::int64_t created_at = 0;
};

// What one engine instance last said it enforces.
struct FleetReport {
  std::string principal;
  std::string instance;
  std::int64_t version = 0;
  std::int64_t reported_at = 0;
};

class SqlitePolicyStore {
 public:
  // Brings the "policy" schema up to date. Fails with the store's errors.
  static Result<std::unique_ptr<SqlitePolicyStore>> Open(std::shared_ptr<store::Database> database);

  // Adds `version` (its scope, version = based_on + 1 and every other field set by the caller),
  // provided the latest version of the scope is still `version.based_on`. Fails with
  //   kConflict "policy_version_conflict" if another version was published in between,
  //   kFailedPrecondition "policy_unchanged" if the content equals the latest version's,
  //   kInternal "store_error" if version != based_on + 1 (a caller bug),
  // or the store's error. Nothing is written when it fails.
  Status Insert(const PolicyVersion& version);

  // The latest version of `scope`, or nullopt when nothing was published there.
  Result<std::optional<PolicyVersion>> Latest(const std::string& scope);
  // Version `version` of `scope`, or nullopt when it does not exist.
  Result<std::optional<PolicyVersion>> Get(const std::string& scope, std::int64_t version);
  // Up to `limit` versions of `scope` below `before` (0: from the latest), newest first.
  Result<std::vector<PolicyVersion>> History(const std::string& scope, std::int64_t before,
                                             std::int64_t limit);
  // Every scope with at least one version, sorted.
  Result<std::vector<std::string>> Scopes();

  // Signing keys, oldest first; and recording a new one.
  Result<std::vector<BundleKeyRecord>> SigningKeys();
  Status InsertSigningKey(const BundleKeyRecord& key);

  // Records (or replaces) what `report.principal`'s instance `report.instance` enforces.
  Status RecordReport(const std::string& scope, const FleetReport& report);
  // Every report for `scope`, by principal then instance.
  Result<std::vector<FleetReport>> Reports(const std::string& scope);

 private:
  explicit SqlitePolicyStore(std::shared_ptr<store::Database> database)
      : database_(std::move(database)) {}

  const std::shared_ptr<store::Database> database_;
};

}  // namespace weftkit::policy_store
