// Hostile and careless connections: slow-loris senders, idle sockets, oversized headers and
// bodies, and more connections than server.max_connections, while one well-behaved engine keeps
// asking for DEKs.
//
// An engine that cannot get its DEK cannot open its database, so what matters is that the
// well-behaved client is served within a bound the whole time (measured, p99 asserted), and
// that the server's own time limits close the slow ones: the handshake timeout for sockets that
// never finish TLS, the read timeout for requests that never finish arriving.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>

#include "test/faults/fault_report.h"
#include "test/faults/wrap_load.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kHandshakeTimeoutMs = 1000;
constexpr int kReadTimeoutMs = 2000;
constexpr int kMaxConnections = 48;
constexpr int kMaxBodyBytes = 4096;
// How much later than its time limit the server may close a slow connection (timer, polling
// and a machine shared with other builds).
constexpr milliseconds kCloseSlack{1500};
// The well-behaved client's p99 latency bound while the flood lasts. It is served in a few
// milliseconds on an idle machine.
constexpr double kWellBehavedP99BoundMs = 1000;

// A client socket that the test drives by hand: plain TCP, optionally with a finished TLS 1.3
// handshake (no client certificate), so that it can send a byte at a time and notice when the
// server closes it.
class HandDrivenConnection {
 public:
  static std::unique_ptr<HandDrivenConnection> Open(int port, bool tls) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    std::unique_ptr<HandDrivenConnection> connection(new HandDrivenConnection(fd));
    if (tls && !connection->Handshake()) return nullptr;
    return connection;
  }
  ~HandDrivenConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ::close(fd_);
  }

  bool Send(std::string_view bytes) {
    if (ssl_ == nullptr) return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0;
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }

  // True once the server has closed the connection (end of stream or reset). Does not block.
  bool ClosedByServer() {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, 0) <= 0) return false;
    char byte;
    if (ssl_ == nullptr) {
      ssize_t got = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
      return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    // Readable TLS records may be session tickets rather than the end: read until OpenSSL
    // wants more bytes (still open) or reports the end or an error (closed).
    while (true) {
      int got = SSL_read(ssl_, &byte, 1);
      if (got > 0) continue;
      int error = SSL_get_error(ssl_, got);
      ERR_clear_error();
      return error != SSL_ERROR_WANT_READ;
    }
  }

 private:
  explicit HandDrivenConnection(int fd) : fd_(fd) {}

  bool Handshake() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    bool done = SSL_connect(ssl_) == 1;
    ERR_clear_error();
    // From here on the test polls: reads must never block.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    return done;
  }

  int fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// A connection under watch: when it started misbehaving and when the server closed it.
struct Watched {
  std::unique_ptr<HandDrivenConnection> connection;
  Clock::time_point since;  // the moment the server's timer for it started
  std::optional<Clock::time_point> closed;
  std::size_t bytes_sent = 0;  // before the server closed it
};

class ConnectionFloodTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    KmsdOptions options;
    options.settings["server.handshake_timeout_ms"] = std::to_string(kHandshakeTimeoutMs);
    options.settings["server.read_timeout_ms"] = std::to_string(kReadTimeoutMs);
    options.settings["server.idle_timeout_ms"] = "1500";
    options.settings["server.max_connections"] = std::to_string(kMaxConnections);
    options.settings["server.max_body_bytes"] = std::to_string(kMaxBodyBytes);
    return options;
  }
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
  }

  // The well-behaved engine: generate-data-key back to back on its keep-alive connection until
  // `stop`, every answer timed.
  void ServeWellBehaved(const std::atomic<bool>& stop) {
    while (!stop) {
      Clock::time_point sent = Clock::now();
      auto response = engine_->Send("POST", "/v1/keys/orders/generate-data-key", "{}",
                                    {{"content-type", "application/json"}});
      auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
      well_behaved_.push_back(latency);
      if (!response.ok() || response->status != 200) {
        ++well_behaved_failures_;
        engine_ = kmsd_->Client("engine");
        if (!engine_) return;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  void ExpectWellBehavedServed(const std::string& label) {
    EXPECT_EQ(well_behaved_failures_, 0) << "the well-behaved client was refused or cut off";
    ASSERT_FALSE(well_behaved_.empty());
    double p50 = PercentileMs(well_behaved_, 50);
    double p99 = PercentileMs(well_behaved_, 99);
    EXPECT_LT(p99, kWellBehavedP99BoundMs);
    ReportMeasurement(label + "_well_behaved_requests", static_cast<double>(well_behaved_.size()),
                      "requests");
    ReportMeasurement(label + "_well_behaved_p50_ms", p50, "ms");
    ReportMeasurement(label + "_well_behaved_p99_ms", p99, "ms");
    ReportMeasurement(label + "_well_behaved_max_ms", PercentileMs(well_behaved_, 100), "ms");
  }

  std::vector<std::chrono::microseconds> well_behaved_;
  int well_behaved_failures_ = 0;
};

// The latest close, in ms after each connection's timer started; fails the test for any
// connection the server had not closed by `limit`.
double ExpectAllClosedWithin(const std::vector<Watched>& watched, milliseconds limit,
                             const char* what) {
  double latest = 0;
  for (const Watched& w : watched) {
    EXPECT_TRUE(w.closed.has_value()) << "a " << what << " connection was never closed";
    if (!w.closed) continue;
    double after = std::chrono::duration<double, std::milli>(*w.closed - w.since).count();
    EXPECT_LT(after, limit.count()) << what;
    latest = std::max(latest, after);
  }
  return latest;
}

TEST_F(ConnectionFloodTest, SlowLorisAndIdleSockets_ClosedByTimeoutsWhileEngineIsServed) {
  std::atomic<bool> stop{false};
  std::thread engine([&] { ServeWellBehaved(stop); });

  // 15 sockets that never start TLS, 10 that finish TLS and never send a request, and 15 that
  // send a request's headers one byte per second.
  std::vector<Watched> silent;
  std::vector<Watched> idle;
  std::vector<Watched> slow;
  for (int i = 0; i < 15; ++i) {
    silent.push_back({HandDrivenConnection::Open(kmsd_->port(), false), Clock::now(), {}});
  }
  for (int i = 0; i < 10; ++i) {
    idle.push_back({HandDrivenConnection::Open(kmsd_->port(), true), Clock::now(), {}});
  }
  for (int i = 0; i < 15; ++i) {
    slow.push_back({HandDrivenConnection::Open(kmsd_->port(), true), Clock::now(), {}});
  }
  for (auto* group : {&silent, &idle, &slow}) {
    for (const Watched& w : *group) ASSERT_NE(w.connection, nullptr) << "could not connect";
  }

  const std::string request =
      "POST /v1/keys/orders/generate-data-key HTTP/1.1\r\nHost: kmsd\r\nX-Slow: "
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  std::size_t sent = 0;
  Clock::time_point next_byte = Clock::now();
  Clock::time_point give_up = Clock::now() + milliseconds(kReadTimeoutMs) + 2 * kCloseSlack;
  while (Clock::now() < give_up) {
    if (Clock::now() >= next_byte && sent < request.size()) {
      for (Watched& w : slow) {
        // The read timeout runs from the first byte of a request.
        if (sent == 0) w.since = Clock::now();
        if (!w.closed && w.connection->Send(request.substr(sent, 1))) ++w.bytes_sent;
      }
      ++sent;
      next_byte += milliseconds(1000);
    }
    for (auto* group : {&silent, &idle, &slow}) {
      for (Watched& w : *group) {
        if (!w.closed && w.connection->ClosedByServer()) w.closed = Clock::now();
      }
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stop = true;
  engine.join();

  // One byte a second against a 2 s read timeout: the third byte may just make it, not more.
  std::size_t most_bytes = 0;
  for (const Watched& w : slow) most_bytes = std::max(most_bytes, w.bytes_sent);
  EXPECT_LE(most_bytes, 4u) << "a slow sender was allowed to go on too long";
  ReportMeasurement("slowloris_most_bytes_before_close", static_cast<double>(most_bytes), "bytes");
  ReportMeasurement(
      "handshake_timeout_close_ms",
      ExpectAllClosedWithin(silent, milliseconds(kHandshakeTimeoutMs) + kCloseSlack, "silent"),
      "ms");
  ReportMeasurement("idle_after_handshake_close_ms",
                    ExpectAllClosedWithin(idle, milliseconds(kReadTimeoutMs) + kCloseSlack, "idle"),
                    "ms");
  ReportMeasurement(
      "slowloris_close_ms",
      ExpectAllClosedWithin(slow, milliseconds(kReadTimeoutMs) + kCloseSlack, "slow-loris"), "ms");
  ExpectWellBehavedServed("slowloris");
}

TEST_F(ConnectionFloodTest, OversizedHeadersAndBodies_RefusedWhileEngineIsServed) {
  std::atomic<bool> stop{false};
  std::thread engine([&] { ServeWellBehaved(stop); });

  const std::string big_header =
      "GET /healthz HTTP/1.1\r\nHost: kmsd\r\nX-Big: " + std::string(16 * 1024, 'h') + "\r\n\r\n";
  const std::string big_body =
      "POST /v1/keys/orders/wrap HTTP/1.1\r\nHost: kmsd\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n" + std::string(kMaxBodyBytes + 1, ' ');
  int header_refusals = 0;
  int body_refusals = 0;
  Clock::time_point until = Clock::now() + milliseconds(3000);
  for (int i = 0; Clock::now() < until; ++i) {
    auto client = kmsd_->Client("engine");
    ASSERT_NE(client, nullptr);
    bool header_case = i % 2 == 0;
    ASSERT_TRUE(client->WriteRaw(header_case ? big_header : big_body).ok());
    Result<std::string> answer = client->ReadUntilClosed();
    ASSERT_TRUE(answer.ok()) << "the server kept an oversized request's connection open";
    if (header_case) {
      EXPECT_NE(answer->find("HTTP/1.1 431"), std::string::npos) << *answer;
      EXPECT_NE(answer->find("headers_too_large"), std::string::npos);
      ++header_refusals;
    } else {
      EXPECT_NE(answer->find("HTTP/1.1 413"), std::string::npos) << *answer;
      EXPECT_NE(answer->find("payload_too_large"), std::string::npos);
      ++body_refusals;
    }
  }
  stop = true;
  engine.join();
  ReportMeasurement("oversized_header_refusals", header_refusals, "requests");
  ReportMeasurement("oversized_body_refusals", body_refusals, "requests");
  ExpectWellBehavedServed("oversized");
}

TEST_F(ConnectionFloodTest, MoreConnectionsThanTheLimit_ExcessClosedEngineStillServed) {
  std::atomic<bool> stop{false};
  std::thread engine([&] { ServeWellBehaved(stop); });

  // Twice the limit, all finishing TLS and then sitting idle: those over the limit are closed
  // at once (their handshake fails), the rest by the read timeout.
  std::vector<std::unique_ptr<HandDrivenConnection>> held;
  int refused = 0;
  for (int i = 0; i < 2 * kMaxConnections; ++i) {
    auto connection = HandDrivenConnection::Open(kmsd_->port(), true);
    if (connection) {
      held.push_back(std::move(connection));
    } else {
      ++refused;
    }
  }
  // The well-behaved client holds one of the slots; the fixture's other clients hold two more.
  EXPECT_LE(static_cast<int>(held.size()), kMaxConnections);
  EXPECT_GE(refused, kMaxConnections);
  ReportMeasurement("over_limit_connections_accepted", static_cast<double>(held.size()),
                    "connections");
  ReportMeasurement("over_limit_connections_refused", refused, "connections");

  // Once the read timeout has closed the idle ones, newcomers get in again.
  auto newcomer = WaitFor([&] { return kmsd_->Client("engine") != nullptr; },
                          milliseconds(kReadTimeoutMs) + 2 * kCloseSlack, milliseconds(200));
  EXPECT_TRUE(newcomer.has_value()) << "the server never admitted a new connection again";
  stop = true;
  engine.join();
  ExpectWellBehavedServed("over_limit");

  // The fixture's administrator connection has idled out meanwhile.
  auto admin = kmsd_->Client("admin");
  ASSERT_NE(admin, nullptr);
  HttpResponse metrics = Call(*admin, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("connections_rejected_total{reason=\"max_connections\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace weftkit::test
