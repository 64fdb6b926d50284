#include "server/request_dispatcher.h"

#include <openssl/crypto.h>

#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/log.h"
#include "common/time_util.h"
#include "server/problem.h"
#include "server/request_audit.h"

namespace weftkit::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kKnownMethods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                         "PATCH", "DELETE", "OPTIONS"};

// Methods outside the standard set become "other", so a client cannot mint metric series.
std::string MethodLabel(const std::string& method) {
  for (const char* known : kKnownMethods) {
    if (method == known) return method;
  }
  return "other";
}

SecurityContext AnonymousContext(const Request& request) {
  return SecurityContext({.principal = "",
                          .auth_method = AuthMethod::kNone,
                          .roles = {},
                          .request_id = request.request_id,
                          .peer = request.peer,
                          .time = UnixNow()});
}

void AddStandardHeaders(const std::string& request_id, Response& response) {
  response.headers.emplace_back("X-Request-Id", request_id);
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
}

Response InternalError(const Request& request, const char* stage, const char* what) {
  log::Error("handler_threw",
             {{"request_id", request.request_id}, {"stage", stage}, {"what", what}});
  return ProblemResponse(Error(ErrorKind::kInternal, "internal", what), request.request_id);
}

// The method a request without a verified identity tried, for the audit entry of a refusal.
std::string AttemptedAuthMethod(const Request& request) {
  std::optional<std::string_view> authorization = request.Header("authorization");
  if (authorization && authorization->starts_with("Bearer ")) return "jwt";
  if (authorization) return "scram";
  if (request.peer_certificate.present) return "mtls";
  return "none";
}

// The stable code of a problem response, or "" for any other response.
std::string ProblemCode(const Response& response) {
  if (response.content_type != "application/problem+json") return "";
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) return "";
  return body["code"].get<std::string>();
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FillFromRoute(const Request& request, AuditDetails& details) {
  if (!request.path.starts_with("/v1/keys/")) return;
  auto name = request.path_params.find("name");
  if (details.key_name.empty() && name != request.path_params.end())
    details.key_name = name->second;
  auto version = request.path_params.find("version");
  if (!details.key_version && version != request.path_params.end() && !version->second.empty() &&
      version->second.size() <= 9 &&
      version->second.find_first_not_of("0123456789") == std::string::npos) {
    details.key_version = static_cast<std::uint32_t>(std::stoul(version->second));
  }
}

// The handler's details over the noted authorization decisions over the defaults.
AuditDetails MergeDetails(const AuditDetails& noted, const AuditDetails& from_handler) {
  AuditDetails merged = noted;
  auto take = [](std::string& into, const std::string& value) {
    if (!value.empty()) into = value;
  };
  take(merged.action, from_handler.action);
  take(merged.resource, from_handler.resource);
  take(merged.key_name, from_handler.key_name);
  take(merged.decision, from_handler.decision);
  take(merged.rule, from_handler.rule);
  if (from_handler.key_version) merged.key_version = from_handler.key_version;
  if (from_handler.policy_version) merged.policy_version = from_handler.policy_version;
  return merged;
}

}  // namespace

struct RequestDispatcher::Exchange {
  Request request;
  const Route* route = nullptr;
  std::string route_label = "unmatched";
  std::string principal;
  std::string auth_method;  // empty until authenticated
  AuditDetails noted;       // authorization decisions noted while the handler ran
  Clock::time_point start = Clock::now();
};

// A request waiting in the parking lot: what is needed to answer it later.
struct RequestDispatcher::Parked {
  Exchange exchange;
  Completion done;
  AuditMode mode;  // how the request's entry is recorded once it is answered
};

// One request on its way through the worker pool. Counted in flight from construction until
// destruction, and the completion (which keeps the connection alive) is dropped before the count
// goes down, so that the server can wait for the count before tearing down its I/O context.
class RequestDispatcher::WorkerTask {
 public:
  WorkerTask(RequestDispatcher& dispatcher, Exchange exchange, Completion done)
      : dispatcher_(dispatcher), exchange_(std::move(exchange)), done_(std::move(done)) {
    std::lock_guard<std::mutex> lock(dispatcher_.in_flight_mutex_);
    ++dispatcher_.in_flight_;
  }
  WorkerTask(const WorkerTask&) = delete;
  WorkerTask& operator=(const WorkerTask&) = delete;
  ~WorkerTask() {
    done_ = nullptr;
    dispatcher_.TaskFinished();
  }

  void Run() { dispatcher_.RunOnWorker(exchange_, done_); }

  void Refuse() {
    Error overloaded(ErrorKind::kUnavailable, "overloaded", "worker queue full");
    done_(dispatcher_.Finish(exchange_, ProblemResponse(overloaded, exchange_.request.request_id),
                             AuditMode::kDetached));
  }

 private:
  RequestDispatcher& dispatcher_;
  Exchange exchange_;
  Completion done_;
};

RequestDispatcher::RequestDispatcher(const Router& router, Authenticator authenticator,
                                     WorkerPool& workers, ServerMetrics metrics,
                                     ParkingLot* parking, audit::AuditSink* audit,
                                     RateLimits* limits)
    : router_(router),
      authenticator_(std::move(authenticator)),
      workers_(workers),
      metrics_(metrics),
      parking_(parking),
      audit_(audit),
      limits_(limits) {}

void RequestDispatcher::Dispatch(Request request, Completion done) {
  Exchange exchange{.request = std::move(request)};
  const std::string& id = exchange.request.request_id;
  Router::Match match = router_.Find(exchange.request.method, exchange.request.path);
  if (match.outcome == Router::MatchOutcome::kNotFound) {
    Error not_found(ErrorKind::kNotFound, "route_not_found", "no route");
    return done(Finish(exchange, ProblemResponse(not_found, id), AuditMode::kDetached));
  }
  if (match.outcome == Router::MatchOutcome::kMethodNotAllowed) {
    return done(
        Finish(exchange, ProblemResponse(405, "method_not_allowed", id), AuditMode::kDetached));
  }
  exchange.route = match.route;
  exchange.route_label = match.route->pattern;
  exchange.request.path_params = std::move(match.params);

  // Checked here, before any queueing, so that clients without credentials cannot fill the
  // worker queue; the Authenticator checks the credentials themselves on a worker.
  if (!match.route->is_public && !exchange.request.peer_certificate.present &&
      !exchange.request.Header("authorization")) {
    Error none(ErrorKind::kUnauthenticated, "credentials_required", "no certificate or token");
    return done(Finish(exchange, ProblemResponse(none, id), AuditMode::kDetached));
  }
  if (std::optional<RateRefusal> refusal = AdmitBeforeQueue(exchange)) {
    return done(Finish(exchange, RateLimitedResponse(*refusal, id), AuditMode::kDetached));
  }
  if (match.route->is_public && match.route->run_on == RunOn::kInline) {
    return RunInline(std::move(exchange), std::move(done));
  }
  Submit(std::move(exchange), std::move(done));
}

Response RequestDispatcher::Reject(const Request& request, int status, const std::string& code) {
  Exchange exchange{.request = request};
  return Finish(exchange, ProblemResponse(status, code, request.request_id), AuditMode::kDetached);
}

// On the I/O thread, so that a source over its limit costs no worker time at all.
std::optional<RateRefusal> RequestDispatcher::AdmitBeforeQueue(const Exchange& exchange) const {
  if (limits_ == nullptr) return std::nullopt;
  if (exchange.route->is_login) return limits_->AdmitLogin(exchange.request.peer);
  if (!exchange.route->is_public) return limits_->CheckSource(exchange.request.peer);
  return std::nullopt;
}

void RequestDispatcher::RunInline(Exchange exchange, Completion done) {
  SecurityContext context = AnonymousContext(exchange.request);
  // Public inline routes (health, readiness, public keys) are not audited: they are
  // anonymous, read-only and polled constantly.
  Deliver(exchange, done, Handle(exchange, context), AuditMode::kNone);
}

void RequestDispatcher::Submit(Exchange exchange, Completion done) {
  auto task = std::make_shared<WorkerTask>(*this, std::move(exchange), std::move(done));
  bool queued = workers_.TrySubmit([task] { task->Run(); });
  metrics_.worker_queue_depth->Set(static_cast<double>(workers_.queue_depth()));
  if (!queued) task->Refuse();
}

void RequestDispatcher::RunOnWorker(Exchange& exchange, const Completion& done) {
  metrics_.worker_queue_depth->Set(static_cast<double>(workers_.queue_depth()));
  const Request& request = exchange.request;
  Result<SecurityContext> context = Authenticate(exchange);
  if (!context.ok()) {
    log::Info("authentication_failed", {{"request_id", request.request_id},
                                        {"peer", request.peer},
                                        {"code", context.error().code()},
                                        {"detail", context.error().detail()}});
    if (limits_ != nullptr) limits_->RecordFailedAuthentication(request.peer);
    return done(Finish(exchange, ProblemResponse(context.error(), request.request_id),
                       AuditMode::kDurable));
  }
  exchange.principal = context->principal();
  exchange.auth_method = AuthMethodName(context->auth_method());
  if (limits_ != nullptr && exchange.route->is_login && context->authenticated()) {
    if (std::optional<RateRefusal> refusal = limits_->AdmitLoginPrincipal(exchange.principal)) {
      return done(
          Finish(exchange, RateLimitedResponse(*refusal, request.request_id), AuditMode::kDurable));
    }
  }
  if (audit_ != nullptr && !audit_->Healthy()) {
    Error unavailable(ErrorKind::kUnavailable, "audit_unavailable", "the audit log is failing");
    return done(
        Finish(exchange, ProblemResponse(unavailable, request.request_id), AuditMode::kDurable));
  }
  Deliver(exchange, done, Handle(exchange, *context), AuditMode::kDurable);
}

void RequestDispatcher::Deliver(Exchange& exchange, const Completion& done, Response response,
                                AuditMode mode) {
  if (!response.wait) return done(Finish(exchange, std::move(response), mode));
  // The completion is copied: it keeps the connection alive while the request is parked.
  Park(std::make_shared<Parked>(Parked{std::move(exchange), done, mode}), std::move(response.wait));
}

void RequestDispatcher::Park(std::shared_ptr<Parked> parked,
                             std::shared_ptr<const WaitForChange> wait) {
  ParkingLot::Outcome outcome = ParkingLot::Outcome::kStopping;
  if (parking_ != nullptr && wait->notifier != nullptr) {
    outcome = parking_->Park(
        *wait, [this, parked, wait](bool changed) { Resume(*parked, *wait, changed); });
  }
  if (outcome == ParkingLot::Outcome::kParked) return;
  if (outcome == ParkingLot::Outcome::kFull) {
    Error full(ErrorKind::kUnavailable, "too_many_waiting", "the parking lot is full");
    const Request& request = parked->exchange.request;
    return parked->done(
        Finish(parked->exchange, ProblemResponse(full, request.request_id), parked->mode));
  }
  // Stopping: answer now, as a timeout would.
  Resume(*parked, *wait, /*changed=*/false);
}

void RequestDispatcher::Resume(Parked& parked, const WaitForChange& wait, bool changed) {
  Response response;
  try {
    response = wait.resume(changed);
  } catch (const std::exception& e) {
    response = InternalError(parked.exchange.request, "resume", e.what());
  } catch (...) {
    response = InternalError(parked.exchange.request, "resume", "non-standard exception");
  }
  response.wait.reset();  // a resumed request is answered, never parked again
  Completion done = std::move(parked.done);
  // Resumed on an I/O thread, which must not block on a durable write; a long poll reads and
  // changes nothing, like the other requests recorded this way.
  const AuditMode mode = parked.mode == AuditMode::kNone ? AuditMode::kNone : AuditMode::kDetached;
  done(Finish(parked.exchange, std::move(response), mode));
}

Result<SecurityContext> RequestDispatcher::Authenticate(const Exchange& exchange) const {
  const Request& request = exchange.request;
  if (exchange.route->is_public) return AnonymousContext(request);
  try {
    return authenticator_(request);
  } catch (const std::exception& e) {
    log::Error("authenticator_threw", {{"request_id", request.request_id}, {"what", e.what()}});
  } catch (...) {
    log::Error("authenticator_threw", {{"request_id", request.request_id}});
  }
  return Error(ErrorKind::kInternal, "internal", "the authenticator threw");
}

Response RequestDispatcher::Handle(Exchange& exchange, const SecurityContext& context) {
  Response response;
  RequestAuditScope audit_scope(exchange.noted);
  try {
    response = exchange.route->handler(exchange.request, context);
  } catch (const std::exception& e) {
    response = InternalError(exchange.request, "handler", e.what());
  } catch (...) {
    response = InternalError(exchange.request, "handler", "non-standard exception");
  }
  // A request body may carry a caller's plaintext DEK; nothing reads it after the handler.
  // TODO(#8): Beast's read buffer still holds the raw bytes until the next request reuses it.
  OPENSSL_cleanse(exchange.request.body.data(), exchange.request.body.size());
  return response;
}

Response RequestDispatcher::Audit(const Exchange& exchange, Response response,
                                  AuditMode mode) const {
  const Request& request = exchange.request;
  AuditDetails details = MergeDetails(exchange.noted, response.audit);
  FillFromRoute(request, details);
  audit::AuditEntry entry;
  entry.time_ms = NowMs();
  entry.request_id = request.request_id;
  entry.principal = exchange.principal;
  entry.auth_method =
      exchange.auth_method.empty() ? AttemptedAuthMethod(request) : exchange.auth_method;
  entry.peer = request.peer;
  entry.action = details.action.empty() ? MethodLabel(request.method) + " " + exchange.route_label
                                        : details.action;
  entry.resource = details.resource.empty() ? request.path : details.resource;
  entry.key_name = details.key_name;
  entry.key_version = details.key_version;
  entry.policy_version = details.policy_version;
  entry.decision = details.decision;
  entry.rule = details.rule;
  entry.outcome = response.status < 400 ? "success" : "failure";
  entry.status = response.status;
  entry.error_code = ProblemCode(response);

  if (mode == AuditMode::kDetached) {
    audit_->RecordDetached(std::move(entry));
    return response;
  }
  Result<std::uint64_t> recorded = audit_->Record(entry);
  if (recorded.ok()) return response;
  log::Error("audit_record_failed", {{"request_id", request.request_id},
                                     {"principal", entry.principal},
                                     {"action", entry.action},
                                     {"resource", entry.resource},
                                     {"status", std::to_string(entry.status)},
                                     {"code", recorded.error().code()}});
  if (response.wipe_after_send) OPENSSL_cleanse(response.body.data(), response.body.size());
  return ProblemResponse(recorded.error(), request.request_id);
}

Response RequestDispatcher::Finish(const Exchange& exchange, Response response,
                                   AuditMode mode) const {
  const Request& request = exchange.request;
  if (audit_ != nullptr && mode != AuditMode::kNone) {
    response = Audit(exchange, std::move(response), mode);
  }
  AddStandardHeaders(request.request_id, response);
  double seconds = std::chrono::duration<double>(Clock::now() - exchange.start).count();
  std::string method = MethodLabel(request.method);
  std::string status = std::to_string(response.status);
  metrics_.requests->WithLabels({exchange.route_label, method, status}).Increment();
  metrics_.request_duration->WithLabels({exchange.route_label}).Observe(seconds);
  log::Info("http_access", {{"request_id", request.request_id},
                            {"peer", request.peer},
                            {"principal", exchange.principal},
                            {"method", method},
                            {"route", exchange.route_label},
                            {"status", status},
                            {"duration_ms", std::to_string(seconds * 1000.0)}});
  return response;
}

std::size_t RequestDispatcher::worker_tasks_in_flight() const {
  std::lock_guard<std::mutex> lock(in_flight_mutex_);
  return in_flight_;
}

bool RequestDispatcher::WaitForWorkerTasks(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(in_flight_mutex_);
  return in_flight_zero_.wait_for(lock, timeout, [this] { return in_flight_ == 0; });
}

void RequestDispatcher::TaskFinished() {
  std::lock_guard<std::mutex> lock(in_flight_mutex_);
  if (--in_flight_ == 0) in_flight_zero_.notify_all();
}

}  // namespace weftkit::server
