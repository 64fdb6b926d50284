// HttpServer: the HTTPS front end of kmsd (HTTP/1.1 over TLS 1.3 with optional client
// certificates), on Boost.Beast and Boost.Asio.
//
// N I/O threads run all socket work and never block. Each connection is served on its own
// strand: TLS handshake, then requests one at a time (keep-alive, no pipelining). A complete
// request goes to RequestDispatcher (routing, authentication, worker pool, problem responses,
// access log, metrics); its response is written back on the connection's strand.
//
// Limits enforced per connection: handshake, read (a whole request, so a slow sender is cut
// off), idle keep-alive and write timeouts; header size (431) and body size (413); and a cap on
// open connections (over it, a new connection is accepted and closed at once, and counted in
// connections_rejected_total).
//
// Long polls: a request whose handler returns Response::wait is parked on the I/O context (one
// Asio timer and one ChangeNotifier waiter each, no thread; at most max_parked_requests at once)
// and answered when its topic changes, its timeout passes, or Stop() begins, whichever is first.
//
// Beast and Asio appear only in http_server.cc; this header stays light for kmsd and tests.
//
// Thread safety: Start, Stop and RunUntilSignal are meant for one controlling thread; port() may
// be read from any thread after Start.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "server/metrics.h"
#include "server/request_dispatcher.h"
#include "server/router.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace weftkit::server {

struct HttpServerSettings {
  std::string listen_address = "127.0.0.1";  // an IPv4 or IPv6 literal
  std::uint16_t port = 8443;                 // 0: the OS picks a free port; see port()
  std::size_t io_threads = 2;
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};  // one whole request, headers and body
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds drain_timeout{10000};  // Stop() waits this long for requests
  // Long polls waiting at once (parking_lot.h); over it a new one gets 503 too_many_waiting.
  std::size_t max_parked_requests = 10000;
  TlsContextSettings tls;
  // Where every request's audit entry goes (see request_dispatcher.h); must outlive the server.
  // Null only in tests of the server itself.
  audit::AuditSink* audit = nullptr;
};

class HttpServer {
 public:
  // Builds the TLS context (so a bad certificate or an unsafe key file fails here, before
  // anything listens) and registers the server metrics. Fails with kInvalidArgument for
  // out-of-range settings or an unparsable listen address, or with TlsContext::Create's
  // errors. `router`, `workers`, `metrics` and `limits` (null: no rate limits) must outlive the
  // server; `authenticator` runs on worker threads and must be thread-safe.
  static Result<std::unique_ptr<HttpServer>> Create(HttpServerSettings settings,
                                                    const Router& router,
                                                    Authenticator authenticator,
                                                    WorkerPool& workers, Metrics& metrics,
                                                    RateLimits* limits = nullptr);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops the server, then waits for requests still running on the worker pool to finish
  // (a handler that never returns blocks here).
  ~HttpServer();

  // Binds and listens, then starts the I/O threads. Fails with kUnavailable ("listen_failed")
  // when the address cannot be bound, and kFailedPrecondition when already started.
  Status Start();

  // The bound port (useful with port 0); 0 before Start.
  std::uint16_t port() const;

  // Graceful stop: stops accepting, closes idle connections, lets requests in flight finish and
  // be answered (with Connection: close) for up to drain_timeout, then closes what remains and
  // joins the I/O threads. Idempotent; a no-op before Start.
  void Stop();

  // Blocks until the process receives SIGTERM or SIGINT, then calls Stop().
  void RunUntilSignal();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace weftkit::server
