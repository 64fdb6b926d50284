#include "server/request_dispatcher.h"

#include <openssl/crypto.h>

#include <exception>
#include <string>
#include <utility>

#include "common/log.h"
#include "common/time_util.h"
#include "server/problem.h"

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

}  // namespace

struct RequestDispatcher::Exchange {
  Request request;
  const Route* route = nullptr;
  std::string route_label = "unmatched";
  std::string principal;
  Clock::time_point start = Clock::now();
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
    done_(dispatcher_.Finish(exchange_, ProblemResponse(overloaded, exchange_.request.request_id)));
  }

 private:
  RequestDispatcher& dispatcher_;
  Exchange exchange_;
  Completion done_;
};

RequestDispatcher::RequestDispatcher(const Router& router, Authenticator authenticator,
                                     WorkerPool& workers, ServerMetrics metrics, RateLimits* limits)
    : router_(router),
      authenticator_(std::move(authenticator)),
      workers_(workers),
      metrics_(metrics),
      limits_(limits) {}

void RequestDispatcher::Dispatch(Request request, Completion done) {
  Exchange exchange{.request = std::move(request)};
  const std::string& id = exchange.request.request_id;
  Router::Match match = router_.Find(exchange.request.method, exchange.request.path);
  if (match.outcome == Router::MatchOutcome::kNotFound) {
    Error not_found(ErrorKind::kNotFound, "route_not_found", "no route");
    return done(Finish(exchange, ProblemResponse(not_found, id)));
  }
  if (match.outcome == Router::MatchOutcome::kMethodNotAllowed) {
    return done(Finish(exchange, ProblemResponse(405, "method_not_allowed", id)));
  }
  exchange.route = match.route;
  exchange.route_label = match.route->pattern;
  exchange.request.path_params = std::move(match.params);

  // Checked here, before any queueing, so that clients without credentials cannot fill the
  // worker queue; the Authenticator checks the credentials themselves on a worker.
  if (!match.route->is_public && !exchange.request.peer_certificate.present &&
      !exchange.request.Header("authorization")) {
    Error none(ErrorKind::kUnauthenticated, "credentials_required", "no certificate or token");
    return done(Finish(exchange, ProblemResponse(none, id)));
  }
  if (std::optional<RateRefusal> refusal = AdmitBeforeQueue(exchange)) {
    return done(Finish(exchange, RateLimitedResponse(*refusal, id)));
  }
  if (match.route->is_public && match.route->run_on == RunOn::kInline) {
    return RunInline(std::move(exchange), std::move(done));
  }
  Submit(std::move(exchange), std::move(done));
}

Response RequestDispatcher::Reject(const Request& request, int status, const std::string& code) {
  Exchange exchange{.request = request};
  return Finish(exchange, ProblemResponse(status, code, request.request_id));
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
  done(Finish(exchange, Handle(exchange, context)));
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
    return done(Finish(exchange, ProblemResponse(context.error(), request.request_id)));
  }
  exchange.principal = context->principal();
  if (limits_ != nullptr && exchange.route->is_login && context->authenticated()) {
    if (std::optional<RateRefusal> refusal = limits_->AdmitLoginPrincipal(exchange.principal)) {
      return done(Finish(exchange, RateLimitedResponse(*refusal, request.request_id)));
    }
  }
  done(Finish(exchange, Handle(exchange, *context)));
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

Response RequestDispatcher::Finish(const Exchange& exchange, Response response) const {
  const Request& request = exchange.request;
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
