#include "test/support/https_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>

#include "test/support/test_recorder.h"

namespace weftkit::test {
namespace {

Error Unavailable(const std::string& what) {
  std::string detail = what;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    detail += std::string("; ") + text;
  }
  return Error(ErrorKind::kUnavailable, "client_failed", detail);
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t");
  std::size_t end = text.find_last_not_of(" \t\r");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

Result<int> ConnectTcp(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return Unavailable("cannot resolve " + host);
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{.tv_sec = timeout.count() / 1000, .tv_usec = (timeout.count() % 1000) * 1000};
  bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
            ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  ::freeaddrinfo(found);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return Unavailable("cannot connect to " + host + ":" + std::to_string(port));
  }
  return fd;
}

Result<SSL_CTX*> MakeContext(const ClientOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  bool ok = ctx != nullptr && SSL_CTX_set_min_proto_version(ctx, options.min_tls) == 1 &&
            SSL_CTX_set_max_proto_version(ctx, options.max_tls) == 1 &&
            SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) == 1;
  if (ok && !options.cert_file.empty()) {
    ok = SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) == 1 &&
         SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  }
  if (!ok) {
    SSL_CTX_free(ctx);
    return Unavailable("cannot set up the client TLS context");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// Checks the server certificate against `host`, as an IP address or a DNS name.
bool SetExpectedHost(SSL* ssl, const std::string& host) {
  in6_addr scratch{};
  bool is_ip = ::inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
               ::inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
  if (is_ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::Connect(const std::string& host,
                                                          std::uint16_t port,
                                                          const ClientOptions& options) {
  // OpenSSL writes with write(2); a server that closed first must fail the write, not kill
  // the test process with SIGPIPE.
  static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)sigpipe_ignored;
  WK_ASSIGN_OR_RETURN(SSL_CTX * ctx, MakeContext(options));
  Result<int> fd = ConnectTcp(host, port, options.timeout);
  if (!fd.ok()) {
    SSL_CTX_free(ctx);
    return fd.error();
  }
  SSL* ssl = SSL_new(ctx);
  std::unique_ptr<HttpsClient> client(
      new HttpsClient(*fd, ctx, ssl, host + ":" + std::to_string(port)));
  if (ssl == nullptr || SSL_set_fd(ssl, *fd) != 1 || !SetExpectedHost(ssl, host) ||
      SSL_connect(ssl) != 1) {
    return Unavailable("TLS handshake with " + host + " failed");
  }
  return client;
}

HttpsClient::~HttpsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  ::close(fd_);
}

Status HttpsClient::WriteRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    ERR_clear_error();
    int written = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (written <= 0) return Unavailable("write failed");
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return OkStatus();
}

Result<bool> HttpsClient::ReadMore() {
  char chunk[16384];
  ERR_clear_error();  // SSL_get_error must see only this call's errors
  int read = SSL_read(ssl_, chunk, sizeof(chunk));
  if (read > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(read));
    return true;
  }
  int error = SSL_get_error(ssl_, read);
  if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    ERR_clear_error();
    return Error(ErrorKind::kDeadlineExceeded, "client_timeout", "read timed out");
  }
  // close_notify, or the TCP connection ended without one (OpenSSL 3 reports that as an
  // "unexpected eof" SSL error; servers do it when they drop a timed-out client).
  bool unexpected_eof = error == SSL_ERROR_SSL &&
                        ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL || unexpected_eof) {
    ERR_clear_error();
    return false;
  }
  return Unavailable("read failed");
}

Result<std::string> HttpsClient::ReadUntilClosed() {
  for (;;) {
    WK_ASSIGN_OR_RETURN(bool more, ReadMore());
    if (!more) return std::move(buffer_);
  }
}

Result<HttpResponse> HttpsClient::Send(const std::string& method, const std::string& target,
                                       const std::string& body, const HeaderList& headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + authority_ +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n" + body;
  WK_RETURN_IF_ERROR(WriteRaw(request));
  Result<HttpResponse> response = ReadResponse();
  if (response.ok()) {
    TestRecorder::RecordExchange(method, target, headers, body, response->status, last_head_,
                                 response->body);
  }
  return response;
}

Result<HttpResponse> HttpsClient::ReadResponse() {
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    WK_ASSIGN_OR_RETURN(bool more, ReadMore());
    if (!more) return Unavailable("connection closed before a response");
  }
  HttpResponse response;
  std::string head = buffer_.substr(0, header_end + 2);
  buffer_.erase(0, header_end + 4);
  last_head_ = head;
  std::size_t line_end = head.find("\r\n");
  response.status = std::atoi(head.substr(head.find(' ') + 1, 3).c_str());
  for (std::size_t at = line_end + 2; at < head.size();) {
    std::size_t next = head.find("\r\n", at);
    std::string line = head.substr(at, next - at);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      response.headers[Lower(line.substr(0, colon))] = Trim(line.substr(colon + 1));
    }
    at = next + 2;
  }
  // RFC 9112 §6.3: 1xx, 204 and 304 responses end with their header section.
  if (response.status / 100 == 1 || response.status == 204 || response.status == 304) {
    return response;
  }
  std::string length = response.Header("content-length");
  if (length.empty()) {
    WK_ASSIGN_OR_RETURN(response.body, ReadUntilClosed());
    return response;
  }
  std::size_t size = std::stoul(length);
  while (buffer_.size() < size) {
    WK_ASSIGN_OR_RETURN(bool more, ReadMore());
    if (!more) return Unavailable("connection closed inside a response body");
  }
  response.body = buffer_.substr(0, size);
  buffer_.erase(0, size);
  return response;
}

std::string HttpsClient::negotiated_version() const { return SSL_get_version(ssl_); }

std::string HttpsClient::tls_exporter() const {
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  std::string value(32, '\0');
  int exported = SSL_export_keying_material(ssl_, reinterpret_cast<unsigned char*>(value.data()),
                                            value.size(), kLabel, sizeof(kLabel) - 1, nullptr, 0,
                                            /*use_context=*/0);
  return exported == 1 ? value : std::string();
}

}  // namespace weftkit::test
