// PolicyService: authoring, signing, serving and fleet tracking of policy bundles (issue 4).
//
// A bundle is one validated policy document (policy_store/language/policy_language.h) published
// under a scope (policy_scope.h). Every publish creates an immutable version (1, 2, 3... per
// scope) holding the document's canonical text, its content hash, the author (from the
// SecurityContext), the time, a comment and the version it was based on, and is signed once,
// at publish, with the bundle key in the HSM (bundle_signer.h, bundle_jws.h).
//
// Concurrency control is optimistic: a publish names the version the author edited
// (base_version, 0 for a new scope) and fails with kConflict "policy_version_conflict" if
// another publish came first. Rollback republishes an old version's content as a new version,
// with the same check.
//
// The current version of each scope is cached in memory once read, so that serving (including
// thousands of long polls waking after a publish) costs no store read; the cache is replaced
// after each committed publish, and `on_publish` is then called with the scope, which kmsd uses to
// wake long polls (server/change_notifier.h).
// TODO(#4): with several kmsd processes on one database, a publish by one does not refresh the
// others' caches or wake their pollers.
//
// Thread safety: all members are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/security_context.h"
#include "pkcs11/hsm.h"
#include "policy_store/bundle_signer.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/sqlite_policy_store.h"
#include "store/database.h"

namespace weftkit::policy_store {

struct PolicyServiceOptions {
  std::function<std::int64_t()> now;  // Unix seconds; UnixNow when empty
  // A reporter whose last report is older than this is listed as stale in the fleet status.
  std::int64_t stale_after_s = 3600;
  // Called after every committed publish or rollback, with the scope, on the publishing thread.
  std::function<void(const std::string& scope)> on_publish;
};

// What Publish and Rollback ask for.
struct PublishRequest {
  std::string scope;
  nlohmann::json document;
  std::int64_t base_version = 0;
  std::string comment;
};

// The result of a publish: the new version, or the reasons the document was refused.
struct PublishOutcome {
  std::optional<PolicyVersion> published;       // set when accepted
  std::vector<policy::PolicyProblem> problems;  // set when refused (every problem found)
};

// One reporter in the fleet status.
struct FleetMember {
  FleetReport report;
  // Enforces other content than the current version's (a version with the same content hash,
  // e.g. the target of a rollback, counts as current).
  bool behind = false;
  bool stale = false;  // has not reported for stale_after_s
};

struct FleetStatus {
  std::string scope;
  std::int64_t current_version = 0;  // 0: nothing published
  std::vector<FleetMember> members;
};

class PolicyService {
 public:
  // Opens the store (migrating the "policy" schema) and the bundle signing key (creating it in
  // `hsm` on first start). `hsm` must outlive the service. Fails with the store's or HSM's
  // errors, or BundleSigner's kDataLoss "policy_signing_key_mismatch".
  static Result<std::unique_ptr<PolicyService>> Open(pkcs11::Hsm& hsm,
                                                     std::shared_ptr<store::Database> database,
                                                     PolicyServiceOptions options);

  PolicyService(const PolicyService&) = delete;
  PolicyService& operator=(const PolicyService&) = delete;

  // Validates, signs and stores request.document as version base_version + 1 of its scope.
  // A document with problems is refused with outcome.problems (nothing stored); other failures:
  // kInvalidArgument "invalid_scope", "policy_not_utf8"; kConflict "policy_version_conflict";
  // kFailedPrecondition "policy_unchanged" (same content as the current version); the HSM's or
  // store's error.
  Result<PublishOutcome> Publish(const SecurityContext& context, const PublishRequest& request);

  // Republishes version `target` of `scope` as a new version based on `base_version`; the
  // comment is the given one or "rollback to version N". The old document is validated again,
  // as a publish would be. Fails like Publish, and with kNotFound "policy_version_not_found"
  // when `target` does not exist.
  Result<PublishOutcome> Rollback(const SecurityContext& context, const std::string& scope,
                                  std::int64_t target, std::int64_t base_version,
                                  const std::string& comment);

  // The current version of `scope`, from memory after the first read; nullptr when nothing was
  // published there.
  Result<std::shared_ptr<const PolicyVersion>> Current(const std::string& scope);

  // Version `version` of `scope`; kNotFound "policy_version_not_found" when absent.
  Result<PolicyVersion> Version(const std::string& scope, std::int64_t version);

  // Up to `limit` versions below `before` (0: from the newest), newest first.
  Result<std::vector<PolicyVersion>> History(const std::string& scope, std::int64_t before,
                                             std::int64_t limit);

  // The RFC 6902 JSON Patch that turns version `from`'s document into version `to`'s.
  Result<nlohmann::json> Diff(const std::string& scope, std::int64_t from, std::int64_t to);

  // Every scope with at least one version.
  Result<std::vector<std::string>> Scopes();

  // Records that `context.principal()`'s instance `instance` enforces `version` of `scope`.
  // kFailedPrecondition "policy_version_not_found" when the version was never published.
  Status Report(const SecurityContext& context, const std::string& scope,
                const std::string& instance, std::int64_t version);

  // The scope's current version and every reporter, with who is behind and who is stale.
  Result<FleetStatus> Fleet(const std::string& scope);

  // Decides `request` against the current version (or `version`) of `scope`. kNotFound
  // "policy_version_not_found" when there is none.
  Result<policy::Decision> Check(const std::string& scope, std::optional<std::int64_t> version,
                                 const policy::AccessRequest& request);

  // The bundle signing keys as a JWK set (RFC 7517), for GET /v1/policy/keys.
  std::string JwkSetJson() const { return signer_->JwkSetJson(); }

  // Makes a new bundle signing key the one that signs; every earlier key stays in the JWK set.
  // Returns the new key's record. Fails with the HSM's or the store's errors.
  Result<BundleKeyRecord> RotateSigningKey();

 private:
  // A version with its validated document, cached for Check.
  struct Loaded {
    std::shared_ptr<const PolicyVersion> version;
    std::shared_ptr<const policy::PolicyDocument> document;
  };

  PolicyService(std::unique_ptr<SqlitePolicyStore> store, std::unique_ptr<BundleSigner> signer,
                PolicyServiceOptions options)
      : store_(std::move(store)), signer_(std::move(signer)), options_(std::move(options)) {}

  // Signs and stores `content` as the next version; shared by Publish and Rollback.
  Result<PolicyVersion> Commit(const SecurityContext& context, const std::string& scope,
                               std::string content, std::int64_t base_version, std::string comment,
                               std::optional<std::int64_t> rolled_back_from,
                               std::shared_ptr<const policy::PolicyDocument> document);
  Result<Loaded> LoadCurrent(const std::string& scope);
  void Remember(const std::string& scope, Loaded loaded);
  std::int64_t Now() const;

  const std::unique_ptr<SqlitePolicyStore> store_;
  const std::unique_ptr<BundleSigner> signer_;
  const PolicyServiceOptions options_;

  std::shared_mutex cache_mutex_;
  std::map<std::string, Loaded> current_;  // by scope; guarded by cache_mutex_
};

}  // namespace weftkit::policy_store
