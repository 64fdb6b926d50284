// TlsConnection: one TLS 1.3 connection to kmsd carrying HTTP/1.1 requests one after the other
// (keep-alive, no pipelining), implemented on OpenSSL directly.
//
// Responses must carry Content-Length (kmsd always sends it) or end with the connection; chunked
// transfer coding is refused (client_bad_response). A response is limited to 16 MiB. Every
// socket operation times out after the configured io_timeout.
//
// Thread safety: one thread at a time; the ConnectionPool hands a connection to one caller.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "client/http_message.h"
#include "client/tls_client_context.h"
#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::client {

class TlsConnection {
 public:
  // Connects over TCP, completes the handshake, verifies the chain, the host name (or IP) and
  // the pins. Fails with code client_connect_failed (kUnavailable) or client_pin_mismatch.
  static Result<std::unique_ptr<TlsConnection>> Connect(const TlsClientContext& context,
                                                        const std::string& host, std::uint16_t port,
                                                        std::chrono::milliseconds timeout);

  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;
  ~TlsConnection();

  // Sends `request` and reads the response. Fails with client_connection_lost (the connection is
  // then unusable), client_timeout or client_bad_response. `request_sent` (if given) is set once
  // every byte of the request was written: a failure after that point may have reached the
  // server.
  Result<HttpResponse> RoundTrip(const HttpRequest& request, bool* request_sent = nullptr);

  // False once the connection failed, the server announced its close, or (checked without
  // blocking) the server has closed its side while the connection sat idle.
  bool Reusable();

  // Lets each later read wait up to `timeout` (a long poll outlasts the usual io_timeout).
  // Fails with client_connect_failed if the socket refuses the setting.
  Status SetReadTimeout(std::chrono::milliseconds timeout);

  // Shuts the socket down in both directions, so that a RoundTrip blocked on another thread
  // returns at once with client_connection_lost. The only member that may be called while
  // another thread is inside RoundTrip: it touches the descriptor, never the SSL object.
  void Abort();

  // RFC 9266 tls-exporter channel binding: 32 bytes exported with the label
  // "EXPORTER-Channel-Binding" and no context. Fails if OpenSSL cannot export.
  Result<SecretBytes> TlsExporter() const;

 private:
  TlsConnection(int fd, SSL* ssl, std::string authority)
      : fd_(fd), ssl_(ssl), authority_(std::move(authority)) {}

  Status WriteAll(const std::string& bytes);
  Status ReadMore();
  Result<HttpResponse> ReadResponse();

  int fd_;
  SSL* ssl_;
  std::string authority_;  // Host header
  std::string buffer_;     // bytes read and not yet consumed
  bool broken_ = false;
};

}  // namespace weftkit::client
