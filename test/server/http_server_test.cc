// The HTTPS server end to end: a real TLS 1.3 server on 127.0.0.1 (port 0) with the generated
// test PKI, driven by an independent OpenSSL client. Each test states one promise the server
// makes to its clients or its operators.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/time_util.h"
#include "server/change_notifier.h"
#include "server/problem.h"
#include "test/support/https_client.h"
#include "test/support/test_pki.h"

namespace weftkit::server {
namespace {

using test::ClientOptions;
using test::HttpResponse;
using test::HttpsClient;
using namespace std::chrono_literals;

// Holds handlers at a point the test controls, and tells the test when they got there.
class Gate {
 public:
  void Pass() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++arrived_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  bool WaitForArrivals(int count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return arrived_ >= count; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  bool open_ = false;
};

// 300 KiB whose bytes follow a pattern that no shifted or dropped record can reproduce.
std::string LargeBody() {
  std::string body(300 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
  return body;
}

Response Text(std::string body) {
  Response response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// Accepts any verified certificate with a URI SAN, except the officer's (to test refusals).
Result<SecurityContext> TestAuthenticator(const Request& request) {
  const auto& sans = request.peer_certificate.uri_sans;
  if (sans.empty() || sans[0] == "spiffe://weftkit.dev/officer/alice") {
    return Error(ErrorKind::kUnauthenticated, "principal_unknown", "SECRET-AUTH-DETAIL");
  }
  return SecurityContext({.principal = sans[0],
                          .auth_method = AuthMethod::kMtls,
                          .roles = {},
                          .request_id = request.request_id,
                          .peer = request.peer,
                          .time = UnixNow()});
}

// The SHA-256 of a certificate's SPKI computed by the openssl command, independently of the
// server's code.
std::string SpkiSha256ByOpensslCli(const std::string& cert_file) {
  std::string command = "openssl x509 -in '" + cert_file +
                        "' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  char digest[65] = {};
  if (pipe == nullptr) return "";
  std::size_t read = std::fread(digest, 1, 64, pipe);
  ::pclose(pipe);
  return std::string(digest, read);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = test::TestPki::Create();
    ASSERT_NE(pki_, nullptr);
    AddRoutes();
  }

  void TearDown() override {
    gate_.Open();
    server_.reset();
    if (pool_) pool_->Stop();
  }

  void AddRoutes() {
    router_.Add({"GET", "/healthz", RunOn::kInline, true,
                 [](const Request&, const SecurityContext&) { return Text("ok"); }});
    router_.Add({"GET", "/v1/whoami", RunOn::kWorker, false,
                 [](const Request& request, const SecurityContext& context) {
                   nlohmann::json body = {{"principal", context.principal()},
                                          {"subject", request.peer_certificate.subject},
                                          {"uri_sans", request.peer_certificate.uri_sans},
                                          {"spki", request.peer_certificate.spki_sha256_hex},
                                          {"request_id", request.request_id}};
                   return Text(body.dump());
                 }});
    router_.Add({"POST", "/v1/echo-size", RunOn::kWorker, false,
                 [](const Request& request, const SecurityContext&) {
                   return Text(std::to_string(request.body.size()));
                 }});
    router_.Add({"GET", "/v1/keys/{name}", RunOn::kWorker, false,
                 [](const Request& request, const SecurityContext&) {
                   Error error(ErrorKind::kNotFound, "key_not_found",
                               "SECRET-DETAIL for " + request.PathParam("name"));
                   return ProblemResponse(error, request.request_id);
                 }});
    router_.Add({"GET", "/v1/throw", RunOn::kWorker, false,
                 [](const Request&, const SecurityContext&) -> Response {
                   throw std::runtime_error("SECRET-EXCEPTION-TEXT");
                 }});
    router_.Add(
        {"GET", "/v1/block", RunOn::kWorker, false, [this](const Request&, const SecurityContext&) {
           gate_.Pass();
           return Text("released");
         }});
    // A response of many TLS records, each byte telling its position.
    router_.Add({"GET", "/v1/large", RunOn::kWorker, false,
                 [](const Request&, const SecurityContext&) { return Text(LargeBody()); }});
    // A long poll on topic "t": waits up to 5 s for a Notify.
    router_.Add(
        {"GET", "/v1/wait", RunOn::kWorker, false, [this](const Request&, const SecurityContext&) {
           auto wait = std::make_shared<WaitForChange>();
           wait->notifier = &notifier_;
           wait->topic = "t";
           wait->seen = notifier_.Generation("t");
           wait->timeout = 5s;
           wait->resume = [](bool changed) { return Text(changed ? "changed" : "ended"); };
           Response response;
           response.wait = std::move(wait);
           return response;
         }});
  }

  HttpServerSettings Settings() const {
    HttpServerSettings settings;
    settings.port = 0;
    settings.io_threads = 2;
    settings.tls.cert_file = pki_->path("server.pem");
    settings.tls.key_file = pki_->path("server.key");
    settings.tls.client_ca_files = {pki_->path("ca.pem")};
    return settings;
  }

  void StartServer(HttpServerSettings settings, std::size_t workers = 2, std::size_t queue = 16) {
    auto pool = WorkerPool::Create(workers, queue);
    ASSERT_TRUE(pool.ok());
    pool_ = std::move(pool).value();
    auto server =
        HttpServer::Create(std::move(settings), router_, TestAuthenticator, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    ASSERT_NE(server_->port(), 0);
  }

  ClientOptions As(const std::string& name) const {
    ClientOptions options{.ca_file = pki_->path("ca.pem")};
    if (!name.empty()) {
      options.cert_file = pki_->path(name + ".pem");
      options.key_file = pki_->path(name + ".key");
    }
    return options;
  }

  std::unique_ptr<HttpsClient> Connect(const ClientOptions& options) {
    auto client = HttpsClient::Connect("127.0.0.1", server_->port(), options);
    EXPECT_TRUE(client.ok()) << client.error().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  HttpResponse Get(const std::string& who, const std::string& target) {
    auto client = Connect(As(who));
    if (!client) return {};
    auto response = client->Send("GET", target);
    EXPECT_TRUE(response.ok()) << response.error().ToString();
    return response.ok() ? std::move(response).value() : HttpResponse{};
  }

  std::unique_ptr<test::TestPki> pki_;
  Router router_;
  Metrics metrics_;
  Gate gate_;
  ChangeNotifier notifier_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, Handshake_NegotiatesTls13) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->negotiated_version(), "TLSv1.3");
}

TEST_F(HttpServerTest, Handshake_Fails_WhenClientOffersOnlyTls12) {
  StartServer(Settings());
  ClientOptions options = As("engine");
  options.min_tls = TLS1_2_VERSION;
  options.max_tls = TLS1_2_VERSION;
  EXPECT_FALSE(HttpsClient::Connect("127.0.0.1", server_->port(), options).ok());
}

TEST_F(HttpServerTest, PublicRoute_Returns200_WithoutClientCertificate) {
  StartServer(Settings());
  HttpResponse response = Get("", "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok");
}

TEST_F(HttpServerTest, PrivateRoute_Returns401_WithoutClientCertificate) {
  StartServer(Settings());
  HttpResponse response = Get("", "/v1/whoami");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "credentials_required");
}

TEST_F(HttpServerTest, Handshake_Fails_WhenClientCertificateFromUntrustedCa) {
  StartServer(Settings());
  // In TLS 1.3 the server checks the client's certificate after the client considers the
  // handshake done, so the refusal surfaces on the first exchange at the latest.
  auto client = HttpsClient::Connect("127.0.0.1", server_->port(), As("rogue"));
  if (client.ok()) {
    EXPECT_FALSE((*client)->Send("GET", "/v1/whoami").ok());
  }
}

TEST_F(HttpServerTest, PrivateRoute_ReceivesVerifiedPeerCertificate) {
  StartServer(Settings());
  HttpResponse response = Get("engine", "/v1/whoami");
  ASSERT_EQ(response.status, 200);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["principal"], "spiffe://weftkit.dev/engine/orders");
  EXPECT_EQ(body["uri_sans"], nlohmann::json::array({"spiffe://weftkit.dev/engine/orders"}));
  EXPECT_EQ(body["subject"], "CN=orders-engine,O=WeftKit");
  EXPECT_EQ(body["spki"], SpkiSha256ByOpensslCli(pki_->path("engine.pem")));
}

TEST_F(HttpServerTest, PrivateRoute_Returns401_WhenAuthenticatorRefuses) {
  StartServer(Settings());
  HttpResponse response = Get("officer", "/v1/whoami");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "principal_unknown");
  EXPECT_EQ(response.body.find("SECRET"), std::string::npos);
}

TEST_F(HttpServerTest, EveryResponse_CarriesUniqueRequestIdAndSecurityHeaders) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  std::set<std::string> ids;
  for (const char* target : {"/healthz", "/v1/whoami", "/nowhere", "/v1/keys/k1"}) {
    auto response = client->Send("GET", target);
    ASSERT_TRUE(response.ok()) << target;
    std::string id = response->Header("x-request-id");
    EXPECT_EQ(id.size(), 32u) << target;
    ids.insert(id);
    EXPECT_EQ(response->Header("cache-control"), "no-store");
    EXPECT_EQ(response->Header("x-content-type-options"), "nosniff");
    EXPECT_FALSE(response->Header("strict-transport-security").empty());
  }
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(HttpServerTest, RequestId_ReachesHandlerAndHeader) {
  StartServer(Settings());
  HttpResponse response = Get("engine", "/v1/whoami");
  EXPECT_EQ(nlohmann::json::parse(response.body)["request_id"], response.Header("x-request-id"));
}

TEST_F(HttpServerTest, UnknownPath_Returns404Problem) {
  StartServer(Settings());
  HttpResponse response = Get("engine", "/v1/nothing-here");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.Header("content-type"), "application/problem+json");
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "route_not_found");
}

TEST_F(HttpServerTest, WrongMethod_Returns405Problem) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  auto response = client->Send("DELETE", "/healthz");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(nlohmann::json::parse(response->body)["code"], "method_not_allowed");
}

TEST_F(HttpServerTest, KeepAlive_ServesSeveralRequestsOnOneConnection) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto response = client->Send("POST", "/v1/echo-size", std::string(100 + i, 'x'));
    ASSERT_TRUE(response.ok()) << i;
    EXPECT_EQ(response->body, std::to_string(100 + i));
  }
}

TEST_F(HttpServerTest, Body_OverLimit_Returns413) {
  HttpServerSettings settings = Settings();
  settings.max_body_bytes = 1024;
  StartServer(std::move(settings));
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  auto response = client->Send("POST", "/v1/echo-size", std::string(4096, 'x'));
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(nlohmann::json::parse(response->body)["code"], "payload_too_large");
  EXPECT_EQ(response->Header("x-request-id").size(), 32u);
}

TEST_F(HttpServerTest, Body_AtLimit_IsAccepted) {
  HttpServerSettings settings = Settings();
  settings.max_body_bytes = 1024;
  StartServer(std::move(settings));
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  auto response = client->Send("POST", "/v1/echo-size", std::string(1024, 'x'));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, Headers_OverLimit_Return431) {
  HttpServerSettings settings = Settings();
  settings.max_header_bytes = 1024;
  StartServer(std::move(settings));
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  auto response = client->Send("GET", "/healthz", "", {{"X-Padding", std::string(2048, 'p')}});
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 431);
}

TEST_F(HttpServerTest, SlowRequest_ConnectionClosed_AfterReadTimeout) {
  HttpServerSettings settings = Settings();
  settings.read_timeout = 300ms;
  StartServer(std::move(settings));
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->WriteRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n").ok());
  auto rest = client->ReadUntilClosed();
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  EXPECT_TRUE(rest->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(HttpServerTest, SilentClient_Closed_AfterHandshakeTimeout) {
  HttpServerSettings settings = Settings();
  settings.handshake_timeout = 300ms;
  StartServer(std::move(settings));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server_->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  timeval wait_at_most{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait_at_most, sizeof(wait_at_most));
  auto start = std::chrono::steady_clock::now();
  char byte = 0;
  ssize_t received = ::recv(fd, &byte, 1, 0);  // the server closes: 0 (or a reset: -1)
  auto waited = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_LE(received, 0);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 3s);
}

TEST_F(HttpServerTest, LargeResponse_ArrivesWhole_AcrossManyRecords) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  for (int round = 0; round < 2; ++round) {  // and the connection stays usable after it
    auto response = client->Send("GET", "/v1/large");
    ASSERT_TRUE(response.ok()) << response.error().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->body == LargeBody()) << "body of " << response->body.size() << " bytes";
  }
}

TEST_F(HttpServerTest, IdleConnection_Closed_AfterIdleTimeout) {
  HttpServerSettings settings = Settings();
  settings.idle_timeout = 300ms;
  StartServer(std::move(settings));
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET", "/healthz").ok());
  auto rest = client->ReadUntilClosed();
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
}

TEST_F(HttpServerTest, ConnectionLimit_ClosesExtraConnection_AndCountsIt) {
  HttpServerSettings settings = Settings();
  settings.max_connections = 2;
  StartServer(std::move(settings));
  auto first = Connect(As("engine"));
  auto second = Connect(As("engine"));
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(first->Send("GET", "/healthz").ok());
  ASSERT_TRUE(second->Send("GET", "/healthz").ok());
  auto third = HttpsClient::Connect("127.0.0.1", server_->port(), As("engine"));
  if (third.ok()) {
    EXPECT_FALSE((*third)->Send("GET", "/healthz").ok());
  }
  EXPECT_NE(metrics_.Render().find("connections_rejected_total{reason=\"max_connections\"} 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, FullWorkerQueue_Returns503WithRetryAfter) {
  StartServer(Settings(), /*workers=*/1, /*queue=*/1);
  auto running = Connect(As("engine"));
  auto queued = Connect(As("engine"));
  auto refused = Connect(As("engine"));
  ASSERT_TRUE(running && queued && refused);
  std::thread first([&] { EXPECT_EQ(running->Send("GET", "/v1/block")->status, 200); });
  ASSERT_TRUE(gate_.WaitForArrivals(1));
  std::thread second([&] { EXPECT_EQ(queued->Send("GET", "/v1/block")->status, 200); });
  for (int i = 0; i < 500 && pool_->queue_depth() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pool_->queue_depth(), 1u);

  auto response = refused->Send("GET", "/v1/whoami");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->Header("retry-after"), "1");
  EXPECT_EQ(nlohmann::json::parse(response->body)["code"], "overloaded");
  gate_.Open();
  first.join();
  second.join();
}

TEST_F(HttpServerTest, Stop_CompletesRequestInFlight) {
  StartServer(Settings());
  std::uint16_t port = server_->port();
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  Result<HttpResponse> in_flight = Error(ErrorKind::kInternal, "not_run", "");
  std::thread request([&] { in_flight = client->Send("GET", "/v1/block"); });
  ASSERT_TRUE(gate_.WaitForArrivals(1));
  std::thread stopper([&] { server_->Stop(); });
  std::this_thread::sleep_for(200ms);
  gate_.Open();
  stopper.join();
  request.join();
  ASSERT_TRUE(in_flight.ok()) << in_flight.error().ToString();
  EXPECT_EQ(in_flight->status, 200);
  EXPECT_EQ(in_flight->Header("connection"), "close");
  EXPECT_FALSE(HttpsClient::Connect("127.0.0.1", port, As("engine")).ok());
}

TEST_F(HttpServerTest, ParkedRequest_IsAnsweredByNotify_WithoutHoldingAWorker) {
  StartServer(Settings(), /*workers=*/1);
  auto waiter = Connect(As("engine"));
  ASSERT_NE(waiter, nullptr);
  auto parked = std::async(std::launch::async, [&] { return waiter->Send("GET", "/v1/wait"); });
  ASSERT_EQ(parked.wait_for(300ms), std::future_status::timeout);
  // The only worker is free while the request waits.
  EXPECT_EQ(Get("engine", "/v1/whoami").status, 200);
  EXPECT_EQ(notifier_.waiting(), 1u);

  auto notified = std::chrono::steady_clock::now();
  notifier_.Notify("t");
  auto response = parked.get();
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->body, "changed");
  EXPECT_FALSE(response->Header("x-request-id").empty());
  EXPECT_LT(std::chrono::steady_clock::now() - notified, 100ms);
}

// The read and idle timeouts bound waiting for a client, not a request the server holds.
TEST_F(HttpServerTest, ParkedRequest_OutlivesReadAndIdleTimeouts) {
  HttpServerSettings settings = Settings();
  settings.read_timeout = 200ms;
  settings.idle_timeout = 200ms;
  StartServer(std::move(settings));
  auto waiter = Connect(As("engine"));
  ASSERT_NE(waiter, nullptr);
  auto parked = std::async(std::launch::async, [&] { return waiter->Send("GET", "/v1/wait"); });
  ASSERT_EQ(parked.wait_for(700ms), std::future_status::timeout);
  notifier_.Notify("t");
  auto response = parked.get();
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->body, "changed");
}

TEST_F(HttpServerTest, ParkedRequest_IsAnsweredAtOnce_OnStop) {
  StartServer(Settings());
  auto waiter = Connect(As("engine"));
  ASSERT_NE(waiter, nullptr);
  auto parked = std::async(std::launch::async, [&] { return waiter->Send("GET", "/v1/wait"); });
  ASSERT_EQ(parked.wait_for(300ms), std::future_status::timeout);
  auto stopping = std::chrono::steady_clock::now();
  server_->Stop();
  auto response = parked.get();
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->body, "ended");
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
  EXPECT_EQ(notifier_.waiting(), 0u);
}

TEST_F(HttpServerTest, Stop_ClosesIdleConnections) {
  StartServer(Settings());
  auto client = Connect(As("engine"));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET", "/healthz").ok());
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto rest = client->ReadUntilClosed();
  EXPECT_TRUE(rest.ok()) << rest.error().ToString();
}

TEST_F(HttpServerTest, Metrics_CountRequestsByRouteMethodAndStatus) {
  StartServer(Settings());
  Get("", "/healthz");
  Get("engine", "/v1/nothing");
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"/healthz\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE connections_open gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE worker_queue_depth gauge"), std::string::npos);
}

TEST_F(HttpServerTest, ProblemBody_NeverContainsDetail) {
  StartServer(Settings());
  HttpResponse not_found = Get("engine", "/v1/keys/payroll");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.body.find("SECRET"), std::string::npos);
  EXPECT_EQ(not_found.body.find("payroll"), std::string::npos);
}

TEST_F(HttpServerTest, ThrowingHandler_Returns500Internal_WithoutExceptionText) {
  StartServer(Settings());
  HttpResponse response = Get("engine", "/v1/throw");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(nlohmann::json::parse(response.body)["code"], "internal");
  EXPECT_EQ(response.body.find("SECRET"), std::string::npos);
}

TEST_F(HttpServerTest, Create_Fails_WhenListenAddressInvalid) {
  auto pool = WorkerPool::Create(1, 1);
  ASSERT_TRUE(pool.ok());
  HttpServerSettings settings = Settings();
  settings.listen_address = "not-an-ip";
  auto server =
      HttpServer::Create(std::move(settings), router_, TestAuthenticator, **pool, metrics_);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), "listen_address_invalid");
}

}  // namespace
}  // namespace weftkit::server
