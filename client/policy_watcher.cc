#include "client/policy_watcher.h"

#include <algorithm>

#include "client/backoff.h"
#include "client/policy_state_file.h"
#include "policy_store/policy_scope.h"

namespace weftkit::client {
namespace {

using nlohmann::json;

Error InvalidOption(const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, std::string(kInvalidOption), why);
}

Error Cancelled() {
  return Error(ErrorKind::kUnavailable, "client_cancelled", "the watcher is stopping");
}

// The least time between two long polls that found the bundle unchanged.
constexpr std::chrono::seconds kMinPollInterval{1};

// Whether a refused bundle named a key the watcher may not have fetched yet.
bool UnknownKid(const Error& error) { return error.code() == "bundle_unknown_kid"; }

}  // namespace

Result<std::unique_ptr<PolicyWatcher>> PolicyWatcher::Create(KmsClient& client,
                                                             PolicyWatcherOptions options) {
  if (!policy_store::ValidateScope(options.scope).ok()) {
    return InvalidOption("scope must be KIND/NAME, e.g. cluster/prod");
  }
  if (options.wait.count() < 0 || options.max_clock_skew.count() < 0 ||
      (options.max_age && options.max_age->count() <= 0) || options.min_version < 0) {
    return InvalidOption("wait, max_clock_skew, max_age and min_version must not be negative");
  }
  std::shared_ptr<const policy_store::PolicyBundleVerifier> pinned;
  if (!options.pinned_jwk_set.is_null()) {
    WK_ASSIGN_OR_RETURN(policy_store::PolicyBundleVerifier verifier,
                        policy_store::PolicyBundleVerifier::FromJwkSet(options.pinned_jwk_set));
    pinned = std::make_shared<const policy_store::PolicyBundleVerifier>(std::move(verifier));
  }
  std::int64_t floor = options.min_version;
  if (!options.state_file.empty()) {
    WK_ASSIGN_OR_RETURN(std::optional<PolicyState> state,
                        LoadPolicyState(options.state_file, options.scope));
    if (state) floor = std::max(floor, state->version);
  }
  std::string path = "/v1/policy/scopes/" + options.scope + "/bundle";  // a valid scope is URL-safe
  std::unique_ptr<PolicyWatcher> watcher(
      new PolicyWatcher(client, std::move(options), std::move(path), floor));
  watcher->verifier_ = std::move(pinned);
  return watcher;
}

PolicyWatcher::PolicyWatcher(KmsClient& client, PolicyWatcherOptions options,
                             std::string bundle_path, std::int64_t floor)
    : client_(client),
      options_(std::move(options)),
      bundle_path_(std::move(bundle_path)),
      floor_(floor) {}

PolicyWatcher::~PolicyWatcher() { Stop(); }

void PolicyWatcher::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void PolicyWatcher::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (in_flight_ != nullptr) in_flight_->Abort();
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (!thread.joinable()) return;
  // Stop from a callback (against the contract) must not join its own thread: the loop ends
  // by itself once the callback returns.
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

bool PolicyWatcher::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

std::shared_ptr<const PolicySnapshot> PolicyWatcher::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

Result<policy::Decision> PolicyWatcher::Decide(const policy::AccessRequest& request) const {
  std::shared_ptr<const PolicySnapshot> snapshot = Current();
  if (!snapshot) {
    return Error(ErrorKind::kFailedPrecondition, std::string(kPolicyNotLoaded),
                 "no bundle of " + options_.scope + " has been accepted yet");
  }
  return policy::Decide(*snapshot->policy, request);
}

PolicyWatcherStats PolicyWatcher::stats() const {
  return PolicyWatcherStats{requests_.load(), not_modified_.load(), accepted_.load(),
                            refused_.load(),  failures_.load(),     key_fetches_.load()};
}

void PolicyWatcher::Run() {
  Backoff backoff(client_.retry_policy());
  std::unique_ptr<TlsConnection> connection;
  int failed_in_a_row = 0;
  while (!stopping()) {
    // Until a bundle is held there is no ETag to wait on: the first request answers at once.
    std::shared_ptr<const PolicySnapshot> held = Current();
    std::chrono::seconds wait = held ? options_.wait : std::chrono::seconds(0);
    auto asked = std::chrono::steady_clock::now();
    Result<std::shared_ptr<const PolicySnapshot>> polled = Poll(connection, wait, true);

    std::unique_lock<std::mutex> lock(mutex_);
    if (polled.ok()) {
      failed_in_a_row = 0;
      // An unchanged answer that came back early (wait = 0, a proxy that drops Prefer) must not
      // turn this loop into a busy one.
      if (*polled == held) {
        wake_.wait_until(lock, asked + kMinPollInterval, [this] { return stopping_; });
      }
      continue;
    }
    // A refused bundle comes back at once on the next request too, so every failure backs off.
    std::chrono::milliseconds delay = backoff.DelayBefore(++failed_in_a_row, retry_after_);
    retry_after_.reset();
    wake_.wait_for(lock, delay, [this] { return stopping_; });
  }
}

Result<std::shared_ptr<const PolicySnapshot>> PolicyWatcher::Refresh() {
  Backoff backoff(client_.retry_policy());
  const RetryPolicy& policy = client_.retry_policy();
  auto start = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<TlsConnection> connection;
    Result<std::shared_ptr<const PolicySnapshot>> polled =
        Poll(connection, std::chrono::seconds(0), false);
    bool out_of_time = std::chrono::steady_clock::now() - start >= policy.max_elapsed;
    if (polled.ok() || !IsTransient(polled.error()) || attempt >= policy.max_attempts ||
        out_of_time) {
      return polled;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    std::chrono::milliseconds delay = backoff.DelayBefore(attempt, retry_after_);
    retry_after_.reset();
    if (wake_.wait_for(lock, delay, [this] { return stopping_; })) return Cancelled();
  }
}

Result<HttpResponse> PolicyWatcher::Exchange(std::unique_ptr<TlsConnection>& connection,
                                             std::chrono::seconds wait, bool abortable) {
  if (connection == nullptr || !connection->Reusable()) {
    WK_ASSIGN_OR_RETURN(connection, client_.OpenDedicatedConnection());
  }
  // The server answers a parked request after `wait`; the socket waits a little longer.
  WK_RETURN_IF_ERROR(connection->SetReadTimeout(wait + client_.io_timeout()));

  HttpRequest request{"GET", bundle_path_, {}, ""};
  if (std::shared_ptr<const PolicySnapshot> held = Current()) {
    request.headers.emplace_back("If-None-Match", held->etag);
    if (wait.count() > 0) {
      request.headers.emplace_back("Prefer", "wait=" + std::to_string(wait.count()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return Cancelled();
    if (abortable) in_flight_ = connection.get();
  }
  Result<HttpResponse> response = client_.SendOn(*connection, std::move(request));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abortable) in_flight_ = nullptr;
    if (stopping_) response = Cancelled();
  }
  if (!response.ok() || !response->keep_alive) connection.reset();
  return response;
}

Result<std::shared_ptr<const PolicySnapshot>> PolicyWatcher::Poll(
    std::unique_ptr<TlsConnection>& connection, std::chrono::seconds wait, bool abortable) {
  Result<HttpResponse> response = Exchange(connection, wait, abortable);
  if (!response.ok()) {
    if (response.error().code() == "client_cancelled") return response.error();
    return Failed(response.error());
  }
  requests_.fetch_add(1);
  if (response->status == 304) {
    not_modified_.fetch_add(1);
    std::shared_ptr<const PolicySnapshot> held = Current();
    if (held) return held;
    return Failed(
        Error(ErrorKind::kInternal, std::string(kBadResponse), "304 without a bundle held"));
  }
  if (response->status != 200) {
    if (response->status == 503) {
      std::lock_guard<std::mutex> lock(mutex_);
      retry_after_ = ParseRetryAfter(response->Header("retry-after"));
    }
    return Failed(ErrorFromResponse(*response));
  }
  json served = json::parse(response->body, nullptr, false);
  if (served.is_discarded()) {
    return Failed(Error(ErrorKind::kInternal, std::string(kBadResponse), "the bundle is not JSON"));
  }
  return Accept(served);
}

Result<std::shared_ptr<const PolicySnapshot>> PolicyWatcher::Offer(const json& served) {
  return Accept(served);
}

Result<std::shared_ptr<const policy_store::PolicyBundleVerifier>> PolicyWatcher::Verifier(
    bool refetch) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (verifier_ && !refetch) return verifier_;
  }
  key_fetches_.fetch_add(1);
  WK_ASSIGN_OR_RETURN(CallResult keys,
                      client_.Call("GET", "/v1/policy/keys", nullptr, Retry::kIdempotent));
  WK_ASSIGN_OR_RETURN(policy_store::PolicyBundleVerifier verifier,
                      policy_store::PolicyBundleVerifier::FromJwkSet(keys.body));
  auto shared = std::make_shared<const policy_store::PolicyBundleVerifier>(std::move(verifier));
  std::lock_guard<std::mutex> lock(mutex_);
  verifier_ = shared;
  return shared;
}

Result<std::shared_ptr<const PolicySnapshot>> PolicyWatcher::Accept(const json& served) {
  std::lock_guard<std::mutex> accepting(accept_mutex_);
  bool pinned = !options_.pinned_jwk_set.is_null();
  Result<std::shared_ptr<const policy_store::PolicyBundleVerifier>> verifier = Verifier(false);
  if (!verifier.ok()) return Failed(verifier.error());
  PolicyBundleCheck check{options_.scope, floor_, options_.max_clock_skew, options_.max_age,
                          options_.now};
  Result<PolicySnapshot> checked = CheckPolicyBundle(**verifier, served, check);
  if (!checked.ok() && UnknownKid(checked.error()) && !pinned) {
    // Perhaps a new signing key: the key set is fetched again, once, over the same channel.
    verifier = Verifier(true);
    if (!verifier.ok()) return Failed(verifier.error());
    checked = CheckPolicyBundle(**verifier, served, check);
  }
  if (!checked.ok()) {
    refused_.fetch_add(1);
    return Failed(checked.error());
  }

  auto snapshot = std::make_shared<const PolicySnapshot>(std::move(checked).value());
  std::shared_ptr<const PolicySnapshot> held = Current();
  if (held && held->version == snapshot->version && held->content_hash == snapshot->content_hash) {
    return held;  // the same version again: nothing changes
  }
  floor_ = snapshot->version;
  if (!options_.state_file.empty()) {
    Status saved = SavePolicyState(options_.state_file,
                                   {snapshot->scope, snapshot->version, snapshot->content_hash});
    // The bundle is genuine and newer, so it is enforced; only its persistence failed.
    if (!saved.ok()) (void)Failed(saved.error());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = snapshot;
  }
  accepted_.fetch_add(1);
  if (options_.on_update) options_.on_update(snapshot);
  Report(*snapshot);
  return snapshot;
}

void PolicyWatcher::Report(const PolicySnapshot& snapshot) {
  if (options_.report_instance.empty()) return;
  json body = {{"instance", options_.report_instance}, {"version", snapshot.version}};
  Result<CallResult> reported = client_.Call(
      "POST", "/v1/policy/scopes/" + options_.scope + "/reports", body, Retry::kIdempotent);
  if (!reported.ok()) (void)Failed(reported.error());
}

Error PolicyWatcher::Failed(Error error) {
  if (PolicyErrorOf(error) == PolicyError::kNone) failures_.fetch_add(1);
  if (options_.on_error) options_.on_error(error);
  return error;
}

}  // namespace weftkit::client
