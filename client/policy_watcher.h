// PolicyWatcher: keeps an engine's policy bundle for one scope current, verified and ready to
// answer decisions locally (docs/client-library.md#policy-bundles).
//
// It fetches GET /v1/policy/scopes/{kind}/{name}/bundle through a KmsClient, then long-polls it
// with If-None-Match (the ETag of the bundle it holds) and "Prefer: wait=N", so a publish
// reaches it within milliseconds and an unchanged policy costs one parked request per N
// seconds. Every bundle passes CheckPolicyBundle (policy_bundle_check.h) before it replaces the
// one held; a bundle that fails keeps the last good one in force and is reported, as a typed
// Error, to on_error.
//
// Trust: the bundle signing keys come either from `pinned_jwk_set` (configuration; then nothing
// the server says can add a key), or, when that is null, from GET /v1/policy/keys over the
// client's TLS 1.3 channel, which is authenticated by the configured CA (and SPKI pins, if any)
// and by the client certificate. In the second mode a bundle naming a kid the watcher does not
// know makes it fetch the key set once more (a rotated key) before refusing the bundle.
//
// Rollback: a bundle whose version is lower than the last one accepted is refused
// ("bundle_rollback"). The floor starts at max(min_version, the state file's version) and, with
// a state_file, survives restarts (policy_state_file.h). A rollback published on the server is a
// new, higher version with old content, and is accepted like any other.
//
// Thread safety: every method may be called from any thread. Callbacks run on the thread that
// fetched or offered the bundle (the watcher's own thread once Start was called), one at a time;
// they may read Current and Decide, and must not call Refresh, Offer or Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "client/kms_client.h"
#include "client/policy_bundle_check.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/policy_bundle_verifier.h"

namespace weftkit::client {

struct PolicyWatcherOptions {
  std::string scope;  // "cluster/prod", "pool/eu-1", "engine/relational"

  // The trusted JWK set ({"keys": [...]}), pinned in configuration; null: fetch it (above).
  nlohmann::json pinned_jwk_set;
  // Where the rollback floor is kept across restarts; empty: in memory only.
  std::filesystem::path state_file;
  // A floor from configuration, e.g. the version the engine was deployed with.
  std::int64_t min_version = 0;

  // How long each long poll may wait (kmsd caps it at policy.max_wait_s); 0 turns long polling
  // off, and the watcher then asks once a second.
  std::chrono::seconds wait{300};
  std::chrono::seconds max_clock_skew{300};
  std::optional<std::chrono::seconds> max_age;  // refuse bundles older than this

  // When set, every accepted version is reported to POST .../reports under this instance name
  // (action policy.report), so the fleet status shows what this engine enforces.
  std::string report_instance;

  // Called with each newly accepted bundle, and with each failure: a refused bundle (the
  // PolicyError codes), a server refusal or a transport failure.
  std::function<void(std::shared_ptr<const PolicySnapshot>)> on_update;
  std::function<void(const Error&)> on_error;

  std::function<std::int64_t()> now;  // Unix seconds, for tests; the system clock when empty
};

// Counters for tests and monitoring.
struct PolicyWatcherStats {
  std::uint64_t requests = 0;      // bundle requests answered (any status)
  std::uint64_t not_modified = 0;  // 304 answers
  std::uint64_t accepted = 0;      // bundles that replaced the one held
  std::uint64_t refused = 0;       // bundles that failed a check
  std::uint64_t failures = 0;      // transport failures and error statuses
  std::uint64_t key_fetches = 0;   // GET /v1/policy/keys
};

class PolicyWatcher {
 public:
  // Checks the options and reads the state file; sends nothing. `client` must outlive the
  // watcher. Fails with client_invalid_option (a bad scope, a negative wait), jwk_set_invalid
  // (a bad pinned set) or policy_state_invalid.
  static Result<std::unique_ptr<PolicyWatcher>> Create(KmsClient& client,
                                                       PolicyWatcherOptions options);

  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;
  ~PolicyWatcher();  // stops the watcher

  // Fetches the bundle once now, without waiting (If-None-Match when one is held), retrying
  // transient failures under the client's RetryPolicy. Returns the bundle in force afterwards.
  Result<std::shared_ptr<const PolicySnapshot>> Refresh();

  // Checks a bundle obtained another way (a file, a sidecar) exactly like a fetched one and,
  // if it passes, puts it in force.
  Result<std::shared_ptr<const PolicySnapshot>> Offer(const nlohmann::json& served);

  // Starts the long-polling thread (a second call does nothing). Failures are reported to
  // on_error and retried with the client's backoff (full jitter, Retry-After honoured). Polls
  // that find the bundle unchanged start at least one second apart, even if the server answers
  // them at once.
  void Start();

  // Ends the thread: a long poll in progress is cut by shutting its socket down, a backoff wait
  // is woken, so Stop returns within milliseconds (a TCP connect in progress is not cut; it
  // ends within the client's io_timeout). Start may not be called again.
  void Stop();

  // The bundle in force, or null before the first one was accepted.
  std::shared_ptr<const PolicySnapshot> Current() const;

  // The reference evaluator's decision (policy_store/language) on the bundle in force: the same
  // answer as POST .../check on that version. Fails with policy_not_loaded before a bundle.
  Result<policy::Decision> Decide(const policy::AccessRequest& request) const;

  PolicyWatcherStats stats() const;

 private:
  PolicyWatcher(KmsClient& client, PolicyWatcherOptions options, std::string bundle_path,
                std::int64_t floor);

  void Run();
  // One conditional GET of the bundle on `connection` (opened when null or closed), waiting up
  // to `wait`; an `abortable` one is registered so that Stop can cut it.
  Result<std::shared_ptr<const PolicySnapshot>> Poll(std::unique_ptr<TlsConnection>& connection,
                                                     std::chrono::seconds wait, bool abortable);
  Result<HttpResponse> Exchange(std::unique_ptr<TlsConnection>& connection,
                                std::chrono::seconds wait, bool abortable);
  // Checks `served` against the floor and, if it passes, puts it in force.
  Result<std::shared_ptr<const PolicySnapshot>> Accept(const nlohmann::json& served);
  // The pinned or fetched keys; `refetch` asks the server again.
  Result<std::shared_ptr<const policy_store::PolicyBundleVerifier>> Verifier(bool refetch);
  void Report(const PolicySnapshot& snapshot);
  Error Failed(Error error);
  bool stopping() const;

  KmsClient& client_;
  const PolicyWatcherOptions options_;
  const std::string bundle_path_;  // "/v1/policy/scopes/<kind>/<name>/bundle"

  // Serializes Accept: the check against the floor and the replacement are one step.
  std::mutex accept_mutex_;
  std::int64_t floor_;  // guarded by accept_mutex_

  mutable std::mutex mutex_;
  std::shared_ptr<const PolicySnapshot> current_;                       // guarded by mutex_
  std::shared_ptr<const policy_store::PolicyBundleVerifier> verifier_;  // guarded by mutex_
  bool stopping_ = false;                                               // guarded by mutex_
  TlsConnection* in_flight_ = nullptr;  // the long poll's connection; guarded by mutex_
  std::optional<std::chrono::seconds> retry_after_;  // of the last 503; guarded by mutex_
  std::condition_variable wake_;
  std::thread thread_;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> not_modified_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> key_fetches_{0};
};

}  // namespace weftkit::client
