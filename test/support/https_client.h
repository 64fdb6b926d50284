// HttpsClient: a small blocking HTTP/1.1-over-TLS client for tests, on OpenSSL directly (no
// Beast, so test files compile fast and the server is checked by an independent implementation).
//
// It verifies the server's certificate against ca_file and the host name or IP, optionally
// presents a client certificate, and reuses its connection across Send calls (keep-alive).
// Requests carry Content-Length; responses must carry Content-Length or end with the connection.
// Every socket operation times out after ClientOptions::timeout, so a broken server fails the
// test instead of hanging it.
//
// Thread safety: one client per thread.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace weftkit::test {

struct ClientOptions {
  std::string ca_file;    // trust anchor for the server certificate
  std::string cert_file;  // client certificate (PEM); empty: connect without one
  std::string key_file;
  int min_tls = TLS1_3_VERSION;
  int max_tls = TLS1_3_VERSION;
  std::chrono::milliseconds timeout{5000};
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; the last value wins
  std::string body;

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_case_name) const;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpsClient {
 public:
  // Connects to host:port and completes the TLS handshake. Fails (kUnavailable) when the TCP
  // connection, the handshake or the server's certificate check fails.
  static Result<std::unique_ptr<HttpsClient>> Connect(const std::string& host, std::uint16_t port,
                                                      const ClientOptions& options);

  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;
  ~HttpsClient();

  // Sends one request and reads its response. Fails when the connection breaks or times out.
  Result<HttpResponse> Send(const std::string& method, const std::string& target,
                            const std::string& body = "", const HeaderList& headers = {});

  // Writes `bytes` as they are (for partial or malformed requests).
  Status WriteRaw(std::string_view bytes);

  // Reads until the server closes the connection and returns what arrived. Fails with
  // kDeadlineExceeded when the timeout passes with the connection still open.
  Result<std::string> ReadUntilClosed();

  // "TLSv1.3" and so on.
  std::string negotiated_version() const;

  // The connection's RFC 9266 tls-exporter channel binding: 32 bytes of keying material exported
  // under the label "EXPORTER-Channel-Binding" with no context (what SCRAM-SHA-256-PLUS binds
  // to). Empty if the export fails.
  std::string tls_exporter() const;

 private:
  HttpsClient(int fd, SSL_CTX* ctx, SSL* ssl, std::string authority)
      : fd_(fd), ctx_(ctx), ssl_(ssl), authority_(std::move(authority)) {}

  // Appends at least one byte to buffer_; returns false at end of stream; fails on timeout.
  Result<bool> ReadMore();
  Result<HttpResponse> ReadResponse();

  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_;
  std::string authority_;  // "host:port" for the Host header
  std::string buffer_;     // bytes read but not yet consumed
  std::string last_head_;  // status line and headers of the last response, for TestRecorder
};

}  // namespace weftkit::test
