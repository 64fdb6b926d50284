#include "client/tls_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <csignal>

#include "client/client_error.h"

namespace weftkit::client {
namespace {

constexpr std::size_t kMaxResponseBytes = 16u << 20;
constexpr std::size_t kMaxHeaderBytes = 64u << 10;

Error ConnectFailed(const std::string& detail) {
  ERR_clear_error();
  return Error(ErrorKind::kUnavailable, std::string(kConnectFailed), detail);
}

Error Lost(const std::string& detail) {
  ERR_clear_error();
  return Error(ErrorKind::kUnavailable, std::string(kConnectionLost), detail);
}

Error BadResponse(const std::string& detail) {
  return Error(ErrorKind::kInternal, std::string(kBadResponse), detail);
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Trim(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t");
  std::size_t end = text.find_last_not_of(" \t\r");
  return begin == std::string_view::npos ? "" : std::string(text.substr(begin, end - begin + 1));
}

Result<int> ConnectTcp(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return ConnectFailed("cannot resolve " + host);
  }
  int fd = -1;
  for (addrinfo* at = found; at != nullptr && fd < 0; at = at->ai_next) {
    fd = ::socket(at->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{.tv_sec = timeout.count() / 1000, .tv_usec = (timeout.count() % 1000) * 1000};
    int one = 1;
    // SO_SNDTIMEO also bounds connect(2) on Linux.
    bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
              ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
              ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
              ::connect(fd, at->ai_addr, at->ai_addrlen) == 0;
    if (!ok && fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return ConnectFailed("cannot connect to " + host + ":" + std::to_string(port));
  return fd;
}

// Verifies the certificate against `host` as an IP address or a DNS name.
bool SetExpectedHost(SSL* ssl, const std::string& host) {
  in6_addr scratch{};
  bool is_ip = ::inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
               ::inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
  if (is_ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string Serialize(const HttpRequest& request, const std::string& authority) {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\nHost: " + authority +
                    "\r\nContent-Length: " + std::to_string(request.body.size()) + "\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += request.body;
  return out;
}

Result<int> ParseStatusLine(std::string_view line) {
  // "HTTP/1.1 200 OK"
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') {
    return BadResponse("not an HTTP/1.x status line");
  }
  int status = 0;
  auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || end != line.data() + 12 || status < 100 || status > 599) {
    return BadResponse("bad status code");
  }
  return status;
}

}  // namespace

Status ParseResponseHead(std::string_view block, HttpResponse& response) {
  std::size_t line_end = block.find("\r\n");
  WK_ASSIGN_OR_RETURN(response.status, ParseStatusLine(block.substr(0, line_end)));
  while (line_end != std::string_view::npos && line_end + 2 < block.size()) {
    std::size_t start = line_end + 2;
    line_end = block.find("\r\n", start);
    std::string_view line = block.substr(start, line_end - start);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return BadResponse("bad header line");
    std::string name = Lower(std::string(line.substr(0, colon)));
    std::string value = Trim(line.substr(colon + 1));
    auto [it, inserted] = response.headers.emplace(name, value);
    if (!inserted && name != "www-authenticate") it->second += ", " + value;
  }
  response.keep_alive = Lower(response.Header("connection")) != "close";
  return OkStatus();
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::Connect(const TlsClientContext& context,
                                                              const std::string& host,
                                                              std::uint16_t port,
                                                              std::chrono::milliseconds timeout) {
  // A server that closed first must fail our write, not kill the process with SIGPIPE.
  static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)sigpipe_ignored;
  WK_ASSIGN_OR_RETURN(int fd, ConnectTcp(host, port, timeout));
  SSL* ssl = SSL_new(context.get());
  std::unique_ptr<TlsConnection> connection(
      new TlsConnection(fd, ssl, host + ":" + std::to_string(port)));
  ERR_clear_error();
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 || !SetExpectedHost(ssl, host)) {
    return ConnectFailed("cannot set up TLS for " + host);
  }
  if (SSL_connect(ssl) != 1) {
    long verify = SSL_get_verify_result(ssl);
    std::string why =
        verify == X509_V_OK ? "handshake failed" : X509_verify_cert_error_string(verify);
    return ConnectFailed("TLS handshake with " + host + ": " + why);
  }
  WK_RETURN_IF_ERROR(context.CheckPeer(ssl));
  return connection;
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) {
    if (!broken_) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  ::close(fd_);
}

Result<HttpResponse> TlsConnection::RoundTrip(const HttpRequest& request, bool* request_sent) {
  if (request_sent != nullptr) *request_sent = false;
  if (broken_) return Lost("connection already failed");
  std::string bytes = Serialize(request, authority_);
  Status written = WriteAll(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());  // it may carry a DEK or a password
  if (!written.ok()) {
    broken_ = true;
    return written.error();
  }
  if (request_sent != nullptr) *request_sent = true;
  Result<HttpResponse> response = ReadResponse();
  if (!response.ok() || !response->keep_alive) broken_ = true;
  return response;
}

bool TlsConnection::Reusable() {
  if (broken_) return false;
  if (!buffer_.empty() || SSL_pending(ssl_) > 0) return false;  // unsolicited bytes
  // Idle and healthy means "nothing to read". Readable means the server closed (or sent
  // something we did not ask for): either way the connection is done.
  pollfd poller{.fd = fd_, .events = POLLIN, .revents = 0};
  if (::poll(&poller, 1, 0) != 0) broken_ = true;
  return !broken_;
}

Status TlsConnection::SetReadTimeout(std::chrono::milliseconds timeout) {
  timeval tv{.tv_sec = timeout.count() / 1000, .tv_usec = (timeout.count() % 1000) * 1000};
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return ConnectFailed("cannot set the read timeout");
  }
  return OkStatus();
}

void TlsConnection::Abort() { ::shutdown(fd_, SHUT_RDWR); }

Result<SecretBytes> TlsConnection::TlsExporter() const {
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  SecretBytes out(32);
  if (SSL_export_keying_material(ssl_, out.expose_mutable().data(), out.size(), kLabel,
                                 sizeof(kLabel) - 1, nullptr, 0, 0) != 1) {
    return Error(ErrorKind::kInternal, "client_tls", "cannot export keying material");
  }
  return out;
}

Status TlsConnection::WriteAll(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ERR_clear_error();
    int written = SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done));
    if (written <= 0) return Lost("write failed");
    done += static_cast<std::size_t>(written);
  }
  return OkStatus();
}

Status TlsConnection::ReadMore() {
  char chunk[16384];
  ERR_clear_error();
  int read = SSL_read(ssl_, chunk, sizeof(chunk));
  if (read > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(read));
    OPENSSL_cleanse(chunk, static_cast<std::size_t>(read));
    return OkStatus();
  }
  int error = SSL_get_error(ssl_, read);
  if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    ERR_clear_error();
    return Error(ErrorKind::kDeadlineExceeded, std::string(kTimeout), "read timed out");
  }
  return Lost("the connection ended");
}

Result<HttpResponse> TlsConnection::ReadResponse() {
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeaderBytes) return BadResponse("response headers too large");
    WK_RETURN_IF_ERROR(ReadMore());
  }
  HttpResponse response;
  WK_RETURN_IF_ERROR(ParseResponseHead(std::string_view(buffer_).substr(0, header_end), response));
  if (!response.Header("transfer-encoding").empty()) {
    return BadResponse("chunked responses are not supported");
  }
  std::size_t body_start = header_end + 4;
  std::string length_text = response.Header("content-length");
  if (length_text.empty()) {
    // The body ends with the connection.
    while (ReadMore().ok() && buffer_.size() - body_start <= kMaxResponseBytes) {
    }
    response.keep_alive = false;
    response.body = buffer_.substr(body_start);
    buffer_.clear();
    return response;
  }
  std::size_t length = 0;
  auto [end, ec] =
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (ec != std::errc() || end != length_text.data() + length_text.size() ||
      length > kMaxResponseBytes) {
    return BadResponse("bad Content-Length");
  }
  while (buffer_.size() < body_start + length) WK_RETURN_IF_ERROR(ReadMore());
  response.body = buffer_.substr(body_start, length);
  OPENSSL_cleanse(buffer_.data(), body_start + length);
  buffer_.erase(0, body_start + length);
  return response;
}

}  // namespace weftkit::client
