// RequestDispatcher: what happens to a complete, parsed request, free of Beast so that it can
// be read and tested on its own.
//
// For each request it finds the route (404 and 405 problems otherwise), runs public kInline
// handlers on the calling I/O thread, and sends everything else through the bounded worker pool
// (a full queue answers 503 "overloaded" with Retry-After: 1). Non-public routes need a verified
// client certificate or an Authorization header (401 "credentials_required" with neither) and
// then the Authenticator, which runs on the worker because it may read the store; its error
// becomes the problem response. With RateLimits, login routes and the source's failed
// authentications are rate-limited before anything is queued (429 "rate_limited" with
// Retry-After), and a failed authentication is charged to its source. A handler that throws yields
// 500 "internal"; the exception is logged with the request id, never echoed.
//
// Long polling: a handler may return a Response with `wait` set (http_types.h). The request is
// then parked in the ParkingLot (no thread held) and answered by WaitForChange::resume when the
// wait ends; a full lot answers 503 "too_many_waiting" with Retry-After, and a stopping server
// (or a dispatcher without a lot) resumes at once as if the wait had timed out.
//
// Audit (docs/audit.md): every request except those to public inline routes (health, readiness,
// public keys) produces one audit entry. Requests that reach a worker record it durably before
// the response leaves: if the audit sink cannot write it, the response is replaced by 503
// "audit_unavailable" (the body of the original, which may hold a plaintext DEK, is wiped).
// While the sink is unhealthy, authenticated requests are refused with that problem before
// their handler runs, so that no further operation takes effect unaudited. Requests refused on
// the I/O thread (no route, wrong method, no credentials, queue full, malformed) are recorded
// without waiting, because an I/O thread must not block and those requests changed nothing.
//
// Every response leaving here carries X-Request-Id, Cache-Control: no-store,
// X-Content-Type-Options: nosniff and Strict-Transport-Security, is counted in the server
// metrics and produces one access-log line (request id, peer, principal, method, route pattern,
// status, duration), never bodies or credentials.
//
// Thread safety: Dispatch and Reject may be called from any thread. The Router, WorkerPool and
// ServerMetrics' registry must outlive the dispatcher and every task it submitted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "audit/audit_sink.h"
#include "common/error.h"
#include "common/security_context.h"
#include "server/http_types.h"
#include "server/parking_lot.h"
#include "server/rate_limits.h"
#include "server/router.h"
#include "server/server_metrics.h"
#include "server/worker_pool.h"

namespace weftkit::server {

// Turns a request on a non-public route into a SecurityContext, or fails (usually
// kUnauthenticated, which answers 401). Runs on a worker thread; must be thread-safe.
using Authenticator = std::function<Result<SecurityContext>(const Request&)>;

// Receives the finished response exactly once, on the I/O thread (inline routes and early
// refusals) or on a worker thread.
using Completion = std::function<void(Response)>;

class RequestDispatcher {
 public:
  // `parking` (may be null: long polls then end at once) must outlive the dispatcher. `audit` may
  // be null only in tests of the dispatcher itself; kmsd always passes its log, which must outlive
  // the dispatcher. `limits` may be null (no rate limits); otherwise it must outlive the
  // dispatcher.
  RequestDispatcher(const Router& router, Authenticator authenticator, WorkerPool& workers,
                    ServerMetrics metrics, ParkingLot* parking = nullptr,
                    audit::AuditSink* audit = nullptr, RateLimits* limits = nullptr);
  RequestDispatcher(const RequestDispatcher&) = delete;
  RequestDispatcher& operator=(const RequestDispatcher&) = delete;

  // Routes `request` (request_id, peer and peer_certificate already filled in) and calls `done`
  // with the finished response.
  void Dispatch(Request request, Completion done);

  // The finished problem response for a request refused before dispatch (limits, malformed
  // input); `request` may be partly filled. Logged and counted like any other response.
  Response Reject(const Request& request, int status, const std::string& code);

  // Requests handed to the worker pool whose completion has not yet been destroyed.
  std::size_t worker_tasks_in_flight() const;
  // Blocks until worker_tasks_in_flight() is zero or `timeout` passes; true when zero.
  bool WaitForWorkerTasks(std::chrono::milliseconds timeout) const;

 private:
  struct Exchange;
  struct Parked;
  class WorkerTask;
  // How Finish records the request's audit entry.
  enum class AuditMode { kNone, kDetached, kDurable };
  friend class WorkerTask;

  void RunInline(Exchange exchange, Completion done);
  void Submit(Exchange exchange, Completion done);
  void RunOnWorker(Exchange& exchange, const Completion& done);
  Result<SecurityContext> Authenticate(const Exchange& exchange) const;
  std::optional<RateRefusal> AdmitBeforeQueue(const Exchange& exchange) const;
  Response Handle(Exchange& exchange, const SecurityContext& context);
  // Sends `response` on, or parks the exchange when the handler asked to wait.
  void Deliver(Exchange& exchange, const Completion& done, Response response, AuditMode mode);
  void Park(std::shared_ptr<Parked> parked, std::shared_ptr<const WaitForChange> wait);
  void Resume(Parked& parked, const WaitForChange& wait, bool changed);
  Response Finish(const Exchange& exchange, Response response, AuditMode mode) const;
  // Records the entry; returns the response to send (503 "audit_unavailable" if it failed).
  Response Audit(const Exchange& exchange, Response response, AuditMode mode) const;
  void TaskFinished();

  const Router& router_;
  const Authenticator authenticator_;
  WorkerPool& workers_;
  const ServerMetrics metrics_;
  ParkingLot* const parking_;
  audit::AuditSink* const audit_;
  RateLimits* const limits_;

  mutable std::mutex in_flight_mutex_;
  mutable std::condition_variable in_flight_zero_;
  std::size_t in_flight_ = 0;
};

}  // namespace weftkit::server
