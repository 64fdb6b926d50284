#include "policy_store/policy_service.h"

#include "common/time_util.h"
#include "policy_store/canonical_json.h"
#include "policy_store/policy_scope.h"

namespace weftkit::policy_store {
namespace {

constexpr std::size_t kMaxInstanceLength = 128;

Error VersionNotFound(const std::string& scope, std::int64_t version) {
  return Error(ErrorKind::kNotFound, "policy_version_not_found",
               scope + " has no version " + std::to_string(version));
}

// Parses stored canonical text; a failure means the row was damaged outside the server.
Result<nlohmann::json> ParseStored(const PolicyVersion& version) {
  nlohmann::json document = nlohmann::json::parse(version.content, nullptr, false);
  if (document.is_discarded()) {
    return Error(
        ErrorKind::kInternal, "store_corrupt",
        version.scope + " version " + std::to_string(version.version) + " does not hold JSON");
  }
  return document;
}

Status ValidateInstance(const std::string& instance) {
  bool valid = !instance.empty() && instance.size() <= kMaxInstanceLength;
  for (char c : instance) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == ':' || c == '-';
    valid = valid && allowed;
  }
  if (valid) return OkStatus();
  return Error(ErrorKind::kInvalidArgument, "invalid_instance",
               "an instance id has 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'");
}

}  // namespace

Result<std::unique_ptr<PolicyService>> PolicyService::Open(
    pkcs11::Hsm& hsm, std::shared_ptr<store::Database> database, PolicyServiceOptions options) {
  if (!options.now) options.now = [] { return UnixNow(); };
  WK_ASSIGN_OR_RETURN(std::unique_ptr<SqlitePolicyStore> store,
                      SqlitePolicyStore::Open(std::move(database)));
  WK_ASSIGN_OR_RETURN(std::unique_ptr<BundleSigner> signer,
                      BundleSigner::Open(hsm, *store, options.now()));
  return std::unique_ptr<PolicyService>(
      new PolicyService(std::move(store), std::move(signer), std::move(options)));
}

std::int64_t PolicyService::Now() const { return options_.now(); }

Result<PublishOutcome> PolicyService::Publish(const SecurityContext& context,
                                              const PublishRequest& request) {
  WK_RETURN_IF_ERROR(ValidateScope(request.scope));
  policy::PolicyValidation validation = policy::ValidatePolicy(request.document);
  if (!validation.problems.empty()) return PublishOutcome{{}, std::move(validation.problems)};

  WK_ASSIGN_OR_RETURN(std::string content, CanonicalJson(request.document));
  WK_ASSIGN_OR_RETURN(PolicyVersion published,
                      Commit(context, request.scope, std::move(content), request.base_version,
                             request.comment, std::nullopt, validation.document));
  return PublishOutcome{std::move(published), {}};
}

Result<BundleKeyRecord> PolicyService::RotateSigningKey() { return signer_->Rotate(Now()); }

Result<PublishOutcome> PolicyService::Rollback(const SecurityContext& context,
                                               const std::string& scope, std::int64_t target,
                                               std::int64_t base_version,
                                               const std::string& comment) {
  WK_ASSIGN_OR_RETURN(PolicyVersion old, Version(scope, target));
  WK_ASSIGN_OR_RETURN(nlohmann::json document, ParseStored(old));
  // The language may have become stricter since version `target` was accepted: a rollback is a
  // publish, and enforces what a publish enforces today.
  policy::PolicyValidation validation = policy::ValidatePolicy(document);
  if (!validation.problems.empty()) return PublishOutcome{{}, std::move(validation.problems)};

  std::string why = comment.empty() ? "rollback to version " + std::to_string(target) : comment;
  WK_ASSIGN_OR_RETURN(PolicyVersion published,
                      Commit(context, scope, std::move(old.content), base_version, std::move(why),
                             target, validation.document));
  return PublishOutcome{std::move(published), {}};
}

Result<PolicyVersion> PolicyService::Commit(
    const SecurityContext& context, const std::string& scope, std::string content,
    std::int64_t base_version, std::string comment, std::optional<std::int64_t> rolled_back_from,
    std::shared_ptr<const policy::PolicyDocument> document) {
  if (base_version < 0) {
    return Error(ErrorKind::kInvalidArgument, "invalid_base_version", "base_version below 0");
  }
  PolicyVersion next;
  next.scope = scope;
  // Signed before the write transaction, so the HSM call never holds the database lock: the
  // version can only be base_version + 1, because Insert refuses any other base.
  next.version = base_version + 1;
  WK_ASSIGN_OR_RETURN(next.content_hash, Sha256Hex(content));
  next.content = std::move(content);
  next.author = context.principal();
  next.published_at = Now();
  next.comment = std::move(comment);
  next.based_on = base_version;
  next.rolled_back_from = rolled_back_from;
  WK_ASSIGN_OR_RETURN(BundleSigner::Signature signature,
                      signer_->Sign({scope, next.version, next.content_hash, next.published_at}));
  next.kid = std::move(signature.kid);
  next.signature = std::move(signature.jws);
  WK_RETURN_IF_ERROR(store_->Insert(next));

  Remember(scope, Loaded{std::make_shared<const PolicyVersion>(next), std::move(document)});
  if (options_.on_publish) options_.on_publish(scope);
  return next;
}

void PolicyService::Remember(const std::string& scope, Loaded loaded) {
  std::unique_lock lock(cache_mutex_);
  auto [entry, inserted] = current_.try_emplace(scope, loaded);
  // Two publishes of one scope may finish out of order; the cache keeps the newer.
  if (!inserted && entry->second.version->version < loaded.version->version) {
    entry->second = std::move(loaded);
  }
}

Result<PolicyService::Loaded> PolicyService::LoadCurrent(const std::string& scope) {
  {
    std::shared_lock lock(cache_mutex_);
    auto cached = current_.find(scope);
    if (cached != current_.end()) return cached->second;
  }
  WK_RETURN_IF_ERROR(ValidateScope(scope));
  WK_ASSIGN_OR_RETURN(std::optional<PolicyVersion> latest, store_->Latest(scope));
  if (!latest) return Loaded{};
  WK_ASSIGN_OR_RETURN(nlohmann::json document, ParseStored(*latest));
  // A version the language no longer accepts is still served (engines verify and decide with
  // their own library), but Check cannot use it: its document stays null.
  Loaded loaded{std::make_shared<const PolicyVersion>(std::move(latest).value()),
                policy::ValidatePolicy(document).document};
  Remember(scope, loaded);
  return loaded;
}

Result<std::shared_ptr<const PolicyVersion>> PolicyService::Current(const std::string& scope) {
  WK_ASSIGN_OR_RETURN(Loaded loaded, LoadCurrent(scope));
  return loaded.version;
}

Result<PolicyVersion> PolicyService::Version(const std::string& scope, std::int64_t version) {
  WK_RETURN_IF_ERROR(ValidateScope(scope));
  WK_ASSIGN_OR_RETURN(std::optional<PolicyVersion> found, store_->Get(scope, version));
  if (!found) return VersionNotFound(scope, version);
  return std::move(found).value();
}

Result<std::vector<PolicyVersion>> PolicyService::History(const std::string& scope,
                                                          std::int64_t before, std::int64_t limit) {
  WK_RETURN_IF_ERROR(ValidateScope(scope));
  return store_->History(scope, before, limit);
}

Result<nlohmann::json> PolicyService::Diff(const std::string& scope, std::int64_t from,
                                           std::int64_t to) {
  WK_ASSIGN_OR_RETURN(PolicyVersion old_version, Version(scope, from));
  WK_ASSIGN_OR_RETURN(PolicyVersion new_version, Version(scope, to));
  WK_ASSIGN_OR_RETURN(nlohmann::json old_document, ParseStored(old_version));
  WK_ASSIGN_OR_RETURN(nlohmann::json new_document, ParseStored(new_version));
  return nlohmann::json::diff(old_document, new_document);
}

Result<std::vector<std::string>> PolicyService::Scopes() { return store_->Scopes(); }

Status PolicyService::Report(const SecurityContext& context, const std::string& scope,
                             const std::string& instance, std::int64_t version) {
  WK_RETURN_IF_ERROR(ValidateScope(scope));
  WK_RETURN_IF_ERROR(ValidateInstance(instance));
  WK_ASSIGN_OR_RETURN(std::optional<PolicyVersion> found, store_->Get(scope, version));
  if (!found) {
    return Error(ErrorKind::kFailedPrecondition, "policy_version_not_found",
                 "reported " + scope + " version " + std::to_string(version) + " does not exist");
  }
  return store_->RecordReport(scope, {context.principal(), instance, version, Now()});
}

Result<FleetStatus> PolicyService::Fleet(const std::string& scope) {
  WK_ASSIGN_OR_RETURN(std::shared_ptr<const PolicyVersion> current, Current(scope));
  WK_ASSIGN_OR_RETURN(std::vector<FleetReport> reports, store_->Reports(scope));
  FleetStatus status{scope, current ? current->version : 0, {}};
  std::map<std::int64_t, std::string> hashes;  // of the versions reported, read once each
  std::int64_t now = Now();
  for (FleetReport& report : reports) {
    auto [entry, added] = hashes.try_emplace(report.version);
    if (added) {
      WK_ASSIGN_OR_RETURN(std::optional<PolicyVersion> found, store_->Get(scope, report.version));
      entry->second = found ? found->content_hash : "";
    }
    // Behind means enforcing other content than the current version's: after a rollback to
    // identical content, an engine still on the old number enforces the current policy (its
    // If-None-Match keeps matching the ETag, which is the content hash).
    bool behind = current != nullptr && entry->second != current->content_hash;
    bool stale = now - report.reported_at > options_.stale_after_s;
    status.members.push_back({std::move(report), behind, stale});
  }
  return status;
}

Result<policy::Decision> PolicyService::Check(const std::string& scope,
                                              std::optional<std::int64_t> version,
                                              const policy::AccessRequest& request) {
  std::shared_ptr<const policy::PolicyDocument> document;
  if (version) {
    WK_ASSIGN_OR_RETURN(PolicyVersion found, Version(scope, *version));
    WK_ASSIGN_OR_RETURN(nlohmann::json json, ParseStored(found));
    document = policy::ValidatePolicy(json).document;
  } else {
    WK_ASSIGN_OR_RETURN(Loaded loaded, LoadCurrent(scope));
    if (!loaded.version) return VersionNotFound(scope, 0);
    document = loaded.document;
  }
  if (document == nullptr) {
    return Error(ErrorKind::kFailedPrecondition, "policy_not_checkable",
                 "the stored document no longer passes validation");
  }
  return policy::Decide(*document, request);
}

}  // namespace weftkit::policy_store
