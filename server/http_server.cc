#include "server/http_server.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "server/change_notifier.h"
#include "server/parking_lot.h"
#include "server/peer_certificate.h"
#include "server/request_id.h"
#include "server/tls_stream.h"

namespace weftkit::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

constexpr std::size_t kReadChunk = 4096;
// How long a closing connection waits for the client's close_notify before dropping the socket.
constexpr std::chrono::milliseconds kShutdownTimeout{1000};

std::string EndpointText(const tcp::socket& socket) {
  error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A malformed request, as opposed to the peer leaving or a timeout: only these get a 400.
bool IsParseError(const error_code& ec) {
  static const error_code kSample = http::make_error_code(http::error::bad_target);
  return ec.category() == kSample.category() && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

// A fresh request id, or "" (logged) in the unlikely case that the random generator fails.
std::string RequestIdOrEmpty() {
  Result<std::string> id = NewRequestId();
  if (id.ok()) return std::move(id).value();
  log::Error("request_id_failed", {{"detail", id.error().detail()}});
  return std::string();
}

// Beast 1.74 has its own string_view type.
std::string_view Std(beast::string_view text) { return {text.data(), text.size()}; }

class Connection;

// The parking lot of long polls (parking_lot.h) on the server's I/O context. Each parked request
// is a ParkedWait: a timer on its own strand and a ticket in the ChangeNotifier. Everything that
// ends a wait (the change, the timer, Shutdown) is funnelled onto that strand, so the first one
// wins and the others find the wait already finished, without locks on the wait itself.
class AsioParkingLot : public ParkingLot {
 public:
  AsioParkingLot(asio::io_context& io, std::size_t capacity) : io_(io), capacity_(capacity) {}

  Outcome Park(const WaitForChange& wait, std::function<void(bool)> wake) override;

  // Ends every wait (wake(false)) and refuses new ones. Idempotent.
  void Shutdown();

 private:
  class ParkedWait;

  void Remove(std::uint64_t id);

  asio::io_context& io_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<ParkedWait>> parked_;  // guarded by mutex_
  std::uint64_t next_id_ = 0;                                              // guarded by mutex_
  bool stopping_ = false;                                                  // guarded by mutex_
};

class AsioParkingLot::ParkedWait : public std::enable_shared_from_this<ParkedWait> {
 public:
  ParkedWait(AsioParkingLot& lot, std::uint64_t id, const WaitForChange& wait,
             std::function<void(bool)> wake)
      : lot_(lot),
        id_(id),
        notifier_(*wait.notifier),
        topic_(wait.topic),
        wake_(std::move(wake)),
        timer_(asio::make_strand(lot.io_)) {}

  // Arms the timer and subscribes, on the strand.
  void Start(std::uint64_t seen, std::chrono::milliseconds timeout) {
    asio::dispatch(timer_.get_executor(), [self = shared_from_this(), seen, timeout] {
      if (self->ended_) return;  // Shutdown got to the strand first
      self->timer_.expires_after(timeout);
      self->timer_.async_wait([self](error_code ec) {
        if (!ec) self->End(false);
      });
      std::weak_ptr<ParkedWait> weak = self;
      self->ticket_ = self->notifier_.Subscribe(self->topic_, seen, [weak] {
        if (auto wait = weak.lock()) wait->EndSoon(true);
      });
    });
  }

  // Ends the wait from any thread.
  void EndSoon(bool changed) {
    asio::post(timer_.get_executor(), [self = shared_from_this(), changed] { self->End(changed); });
  }

 private:
  // On the strand only.
  void End(bool changed) {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    if (!changed && ticket_ != 0) notifier_.Cancel(topic_, ticket_);
    lot_.Remove(id_);
    auto wake = std::move(wake_);
    wake(changed);
  }

  AsioParkingLot& lot_;
  const std::uint64_t id_;
  ChangeNotifier& notifier_;
  const std::string topic_;
  std::function<void(bool)> wake_;
  asio::steady_timer timer_;
  std::uint64_t ticket_ = 0;
  bool ended_ = false;
};

ParkingLot::Outcome AsioParkingLot::Park(const WaitForChange& wait,
                                         std::function<void(bool)> wake) {
  std::shared_ptr<ParkedWait> parked;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return Outcome::kStopping;
    if (parked_.size() >= capacity_) return Outcome::kFull;
    parked = std::make_shared<ParkedWait>(*this, next_id_, wait, std::move(wake));
    parked_.emplace(next_id_++, parked);
  }
  parked->Start(wait.seen, wait.timeout);
  return Outcome::kParked;
}

void AsioParkingLot::Shutdown() {
  std::vector<std::shared_ptr<ParkedWait>> waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (auto& [id, parked] : parked_) waiting.push_back(parked);
  }
  for (auto& parked : waiting) parked->EndSoon(false);
}

void AsioParkingLot::Remove(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  parked_.erase(id);
}

// Everything the listener and the connections share. Member order matters: the I/O context is
// destroyed before the registry, dispatcher and TLS context, because destroying it destroys
// queued handlers, which may hold the last reference to a connection.
class ServerCore {
 public:
  ServerCore(HttpServerSettings settings, std::unique_ptr<TlsContext> tls, const Router& router,
             Authenticator authenticator, WorkerPool& workers, ServerMetrics metrics,
             tcp::endpoint endpoint, RateLimits* limits);
  ~ServerCore();

  Status Start();
  void Stop();
  std::uint16_t port() const { return port_.load(); }

  const HttpServerSettings& settings() const { return settings_; }
  SSL_CTX* ssl_context() const { return tls_->native_handle(); }
  RequestDispatcher& dispatcher() { return dispatcher_; }
  RateLimits* limits() const { return limits_; }  // may be null
  const ServerMetrics& metrics() const { return metrics_; }
  void Unregister(std::uint64_t id);

 private:
  void Accept();
  void OnAccept(error_code ec, tcp::socket socket);
  void Admit(tcp::socket socket);
  bool WaitForConnections(std::chrono::milliseconds timeout);
  void ForEachConnection(void (Connection::*action)());
  void RunIoThread();

  const HttpServerSettings settings_;
  std::unique_ptr<TlsContext> tls_;
  const ServerMetrics metrics_;
  RateLimits* const limits_;
  RequestDispatcher dispatcher_;
  const tcp::endpoint endpoint_;
  std::atomic<std::uint16_t> port_{0};

  std::mutex mutex_;
  std::condition_variable all_closed_;
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 0;
  bool started_ = false;
  bool stopping_ = false;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  // After io_, so that its timers are destroyed while the I/O context still exists; the
  // dispatcher holds a pointer to it but uses it only between Start and Stop.
  AsioParkingLot parking_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

// One client connection, driven entirely on its own strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& server, TlsStream stream, std::uint64_t id);
  ~Connection();

  void Start();
  // Stop reading new requests: closes the connection now if it is waiting for one, otherwise
  // after the response in progress.
  void BeginDrain();
  // Closes the socket now, whatever is in progress.
  void Abort();

 private:
  enum class State { kHandshake, kIdle, kReading, kProcessing, kWriting, kClosing };

  void OnHandshake(error_code ec);
  void AwaitRequest(std::chrono::milliseconds timeout);
  void OnFirstBytes(error_code ec, std::size_t bytes);
  void ReadRequest();
  void OnRead(error_code ec);
  void RejectAndClose(int status, const char* code);
  void HandleRequest();
  Request BuildRequest(http::request<http::string_body> message, std::string request_id);
  void WriteResponse(Response response, bool close);
  void OnWrite(error_code ec, bool close);
  void Shutdown();
  void CloseSocket();
  // Closes the socket if `timeout` passes before the next call of either; every operation in
  // progress then fails and timed_out_ tells why. No deadline runs while a request is processed
  // (a long poll may be parked for minutes).
  void ExpiresAfter(std::chrono::milliseconds timeout);
  void CancelDeadline();

  ServerCore& server_;
  const std::uint64_t id_;
  const std::string peer_;
  TlsStream stream_;
  asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;  // tells a current expiry from a superseded one
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // must live until its write completes
  PeerCertificate peer_certificate_;
  std::string tls_exporter_;    // RFC 9266 channel binding value of this connection
  bool wipe_response_ = false;  // the response in flight holds secret material
  State state_ = State::kHandshake;
  bool draining_ = false;
};

// The RFC 9266 tls-exporter channel binding: 32 bytes exported under the label
// "EXPORTER-Channel-Binding" with no context. Empty if the export fails.
std::string ExportChannelBinding(SSL* ssl) {
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  std::string value(32, '\0');
  int exported = SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(value.data()),
                                            value.size(), kLabel, sizeof(kLabel) - 1, nullptr, 0,
                                            /*use_context=*/0);
  return exported == 1 ? value : std::string();
}

// ---- Connection -------------------------------------------------------------------------------

Connection::Connection(ServerCore& server, TlsStream stream, std::uint64_t id)
    : server_(server),
      id_(id),
      peer_(EndpointText(stream.socket())),
      stream_(std::move(stream)),
      deadline_(stream_.get_executor()) {
  server_.metrics().connections_open->Add(1);
}

Connection::~Connection() {
  server_.metrics().connections_open->Add(-1);
  server_.Unregister(id_);
}

void Connection::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->ExpiresAfter(self->server_.settings().handshake_timeout);
    self->stream_.async_handshake([self](error_code ec) { self->OnHandshake(ec); });
  });
}

void Connection::BeginDrain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->state_ == State::kIdle) self->CloseSocket();
  });
}

void Connection::Abort() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseSocket(); });
}

void Connection::OnHandshake(error_code ec) {
  if (ec) {
    // The verification result tells a revoked certificate from an expired or untrusted one.
    long verify = SSL_get_verify_result(stream_.native_handle());
    log::Info("tls_handshake_failed",
              {{"peer", peer_},
               {"reason", timed_out_ ? "timeout" : ec.message()},
               {"certificate", verify == X509_V_OK ? "" : X509_verify_cert_error_string(verify)}});
    // A client certificate that failed verification is a failed authentication.
    if (verify != X509_V_OK && server_.limits() != nullptr) {
      server_.limits()->RecordFailedAuthentication(peer_);
    }
    return;
  }
  // With SSL_VERIFY_PEER a presented certificate that fails verification aborts the handshake,
  // so a certificate seen here has been verified; the result check is a second line.
  X509* cert = SSL_get0_peer_certificate(stream_.native_handle());
  if (cert != nullptr && SSL_get_verify_result(stream_.native_handle()) != X509_V_OK) return;
  Result<PeerCertificate> described = DescribePeerCertificate(cert);
  if (!described.ok()) {
    log::Warning("peer_certificate_unreadable",
                 {{"peer", peer_}, {"detail", described.error().detail()}});
    return CloseSocket();
  }
  peer_certificate_ = std::move(described).value();
  tls_exporter_ = ExportChannelBinding(stream_.native_handle());
  AwaitRequest(server_.settings().read_timeout);
}

// Waits up to `timeout` for the first bytes of the next request; the read timeout for the whole
// request starts once they arrive.
void Connection::AwaitRequest(std::chrono::milliseconds timeout) {
  if (draining_) return Shutdown();
  state_ = State::kIdle;
  if (buffer_.size() > 0) return ReadRequest();
  ExpiresAfter(timeout);
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](error_code ec, std::size_t bytes) {
                            self->OnFirstBytes(ec, bytes);
                          });
}

void Connection::OnFirstBytes(error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (ec) return;  // peer left, idle timeout, or closed by a drain
  ReadRequest();
}

void Connection::ReadRequest() {
  state_ = State::kReading;
  const HttpServerSettings& settings = server_.settings();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
  parser_->body_limit(settings.max_body_bytes);
  ExpiresAfter(settings.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->OnRead(ec); });
}

void Connection::OnRead(error_code ec) {
  if (ec == http::error::header_limit) return RejectAndClose(431, "headers_too_large");
  if (ec == http::error::body_limit) return RejectAndClose(413, "payload_too_large");
  if (ec && timed_out_) {
    log::Info("request_read_timeout", {{"peer", peer_}});
    return;
  }
  if (ec && !IsParseError(ec)) return;  // the peer left, or a drain closed the socket
  if (ec) return RejectAndClose(400, "malformed_request");
  HandleRequest();
}

void Connection::RejectAndClose(int status, const char* code) {
  state_ = State::kProcessing;
  CancelDeadline();
  Request request;
  request.request_id = RequestIdOrEmpty();
  request.peer = peer_;
  if (parser_ && parser_->is_header_done()) {
    request.method = std::string(Std(parser_->get().method_string()));
  }
  WriteResponse(server_.dispatcher().Reject(request, status, code), /*close=*/true);
}

void Connection::HandleRequest() {
  state_ = State::kProcessing;
  CancelDeadline();
  bool keep_alive = parser_->get().keep_alive();
  Request request = BuildRequest(parser_->release(), RequestIdOrEmpty());
  parser_.reset();
  if (request.request_id.empty()) {
    return WriteResponse(server_.dispatcher().Reject(request, 503, "random_unavailable"), true);
  }
  server_.dispatcher().Dispatch(
      std::move(request), [self = shared_from_this(), keep_alive](Response response) {
        asio::post(self->stream_.get_executor(),
                   [self, keep_alive, response = std::move(response)]() mutable {
                     self->WriteResponse(std::move(response), !keep_alive);
                   });
      });
}

Request Connection::BuildRequest(http::request<http::string_body> message, std::string request_id) {
  Request request;
  request.method = std::string(Std(message.method_string()));
  std::string_view target = Std(message.target());
  std::size_t query = target.find('?');
  request.path = std::string(target.substr(0, query));
  if (query != std::string_view::npos) request.query = std::string(target.substr(query + 1));
  for (const auto& field : message) {
    request.headers.emplace_back(Lower(Std(field.name_string())), std::string(Std(field.value())));
  }
  request.body = std::move(message.body());
  request.request_id = std::move(request_id);
  request.peer = peer_;
  request.peer_certificate = peer_certificate_;
  request.tls_exporter = tls_exporter_;
  return request;
}

void Connection::WriteResponse(Response response, bool close) {
  state_ = State::kWriting;
  close = close || draining_;
  response_ = {};
  response_.version(11);
  response_.result(static_cast<unsigned>(response.status));
  response_.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) response_.insert(name, value);
  response_.body() = std::move(response.body);
  wipe_response_ = response.wipe_after_send;
  response_.keep_alive(!close);
  response_.prepare_payload();
  ExpiresAfter(server_.settings().write_timeout);
  http::async_write(
      stream_, response_,
      [self = shared_from_this(), close](error_code ec, std::size_t) { self->OnWrite(ec, close); });
}

void Connection::OnWrite(error_code ec, bool close) {
  if (wipe_response_) {
    std::string& body = response_.body();
    OPENSSL_cleanse(body.data(), body.size());
    wipe_response_ = false;
  }
  response_ = {};
  if (ec) return;
  if (close) return Shutdown();
  AwaitRequest(server_.settings().idle_timeout);
}

// Sends close_notify and waits briefly for the client's, so that the client reads our last
// response as complete rather than as a reset.
void Connection::Shutdown() {
  state_ = State::kClosing;
  ExpiresAfter(kShutdownTimeout);
  stream_.async_shutdown([self = shared_from_this()](error_code) { self->CloseSocket(); });
}

void Connection::CloseSocket() {
  CancelDeadline();
  stream_.close();
}

// The timer holds the connection weakly: a connection whose operations have all ended is
// destroyed (with its timer) without waiting for the deadline.
void Connection::ExpiresAfter(std::chrono::milliseconds timeout) {
  std::uint64_t generation = ++deadline_generation_;
  deadline_.expires_after(timeout);
  deadline_.async_wait([weak = weak_from_this(), generation](error_code ec) {
    std::shared_ptr<Connection> self = weak.lock();
    // An expiry already queued when the deadline moved is stale.
    if (ec || !self || generation != self->deadline_generation_) return;
    self->timed_out_ = true;
    self->stream_.close();
  });
}

void Connection::CancelDeadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

// ---- ServerCore ----------------------------------------------------------------------------

ServerCore::ServerCore(HttpServerSettings settings, std::unique_ptr<TlsContext> tls,
                       const Router& router, Authenticator authenticator, WorkerPool& workers,
                       ServerMetrics metrics, tcp::endpoint endpoint, RateLimits* limits)
    : settings_(std::move(settings)),
      tls_(std::move(tls)),
      metrics_(metrics),
      limits_(limits),
      dispatcher_(router, std::move(authenticator), workers, metrics, &parking_, settings_.audit,
                  limits),
      endpoint_(endpoint),
      work_(asio::make_work_guard(io_)),
      parking_(io_, settings_.max_parked_requests),
      acceptor_(asio::make_strand(io_)) {}

ServerCore::~ServerCore() {
  Stop();
  while (!dispatcher_.WaitForWorkerTasks(std::chrono::seconds(5))) {
    log::Warning("server_waiting_for_workers",
                 {{"in_flight", std::to_string(dispatcher_.worker_tasks_in_flight())}});
  }
}

Status ServerCore::Start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_) return Error(ErrorKind::kFailedPrecondition, "server_started", "started twice");
    started_ = true;
  }
  error_code ec;
  acceptor_.open(endpoint_.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint_, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorKind::kUnavailable, "listen_failed",
                 "cannot listen on " + endpoint_.address().to_string() + ":" +
                     std::to_string(endpoint_.port()) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  for (std::size_t i = 0; i < settings_.io_threads; ++i) {
    threads_.emplace_back([this] { RunIoThread(); });
  }
  log::Info("server_listening",
            {{"address", endpoint_.address().to_string()}, {"port", std::to_string(port_.load())}});
  return OkStatus();
}

void ServerCore::RunIoThread() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // Handlers do not throw by design; if one does, log it and keep the thread serving.
      log::Error("io_thread_exception", {{"what", e.what()}});
    }
  }
}

void ServerCore::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void ServerCore::OnAccept(error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    log::Warning("accept_failed", {{"reason", ec.message()}});
  } else {
    Admit(std::move(socket));
  }
  Accept();
}

void ServerCore::Admit(tcp::socket socket) {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && connections_.size() < settings_.max_connections) {
      Result<TlsStream> stream = TlsStream::Create(std::move(socket), ssl_context());
      if (!stream.ok()) {
        log::Warning("connection_setup_failed", {{"detail", stream.error().detail()}});
        return;  // the socket closed with the failed stream
      }
      connection = std::make_shared<Connection>(*this, std::move(stream).value(), next_id_);
      connections_.emplace(next_id_++, connection);
    }
  }
  if (!connection) {
    metrics_.connections_rejected->WithLabels({"max_connections"}).Increment();
    error_code ignored;
    socket.close(ignored);
    return;
  }
  connection->Start();
}

void ServerCore::Unregister(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  connections_.erase(id);
  if (connections_.empty()) all_closed_.notify_all();
}

void ServerCore::Stop() {
  std::size_t open = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    open = connections_.size();
  }
  log::Info("server_stopping", {{"connections", std::to_string(open)}});
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  // Long polls are answered now (as timeouts) rather than held until the drain timeout.
  parking_.Shutdown();
  ForEachConnection(&Connection::BeginDrain);
  if (!WaitForConnections(settings_.drain_timeout)) {
    log::Warning("server_drain_timeout", {});
    ForEachConnection(&Connection::Abort);
    WaitForConnections(kShutdownTimeout);
  }
  work_.reset();
  io_.stop();
  for (std::thread& thread : threads_) thread.join();
  log::Info("server_stopped", {});
}

void ServerCore::ForEachConnection(void (Connection::*action)()) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) live.push_back(std::move(connection));
    }
  }
  for (auto& connection : live) ((*connection).*action)();
}

bool ServerCore::WaitForConnections(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return all_closed_.wait_for(lock, timeout, [this] { return connections_.empty(); });
}

}  // namespace

// The server's state lives in ServerCore; Impl only gives it the name the header declares.
class HttpServer::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

// ---- HttpServer ------------------------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerSettings settings,
                                                       const Router& router,
                                                       Authenticator authenticator,
                                                       WorkerPool& workers, Metrics& metrics,
                                                       RateLimits* limits) {
  if (settings.io_threads == 0 || settings.max_connections == 0 || settings.max_header_bytes == 0 ||
      settings.max_header_bytes > UINT32_MAX) {
    return Error(ErrorKind::kInvalidArgument, "server_settings_invalid",
                 "io_threads, max_connections and max_header_bytes must be positive");
  }
  error_code ec;
  asio::ip::address address = asio::ip::make_address(settings.listen_address, ec);
  if (ec) {
    return Error(ErrorKind::kInvalidArgument, "listen_address_invalid",
                 "not an IP address: " + settings.listen_address);
  }
  // OpenSSL writes to the sockets itself (TlsStream), with send() and no MSG_NOSIGNAL: a client
  // that left must fail the write, not end the process.
  if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    return Error(ErrorKind::kInternal, "sigpipe_not_ignored", "cannot ignore SIGPIPE");
  }
  WK_ASSIGN_OR_RETURN(std::unique_ptr<TlsContext> tls, TlsContext::Create(settings.tls));
  WK_ASSIGN_OR_RETURN(ServerMetrics server_metrics, ServerMetrics::Register(metrics));
  tcp::endpoint endpoint(address, settings.port);
  auto impl =
      std::make_unique<Impl>(std::move(settings), std::move(tls), router, std::move(authenticator),
                             workers, server_metrics, endpoint, limits);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }

std::uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

void HttpServer::RunUntilSignal() {
  asio::io_context signal_io;
  asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  signals.async_wait([](const error_code& ec, int signal) {
    if (!ec) log::Info("signal_received", {{"signal", std::to_string(signal)}});
  });
  signal_io.run();
  Stop();
}

}  // namespace weftkit::server
