#include "server/tls_stream.h"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>

namespace weftkit::server {

namespace asio = boost::asio;

Result<TlsStream> TlsStream::Create(socket_type socket, SSL_CTX* context) {
  error_code ec;
  socket.non_blocking(true, ec);
  if (ec) {
    return Error(ErrorKind::kUnavailable, "tls_connection_failed",
                 "cannot make the socket non-blocking: " + ec.message());
  }
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(context));
  if (!ssl || SSL_set_fd(ssl.get(), socket.native_handle()) != 1) {
    ERR_clear_error();
    return Error(ErrorKind::kUnavailable, "tls_connection_failed", "SSL_new or SSL_set_fd failed");
  }
  // Partial writes and a moving buffer: a write may send less than it was given, and a retry
  // after WANT_WRITE may come from a moved operation. Released buffers: an idle connection holds
  // no record buffer. Read-ahead: one recv() takes whatever the socket has, not a record header
  // and then its body.
  SSL_set_mode(ssl.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl.get(), 1);
  SSL_set_accept_state(ssl.get());
  return TlsStream(std::move(socket), std::move(ssl));
}

void TlsStream::close() {
  if (!socket_.is_open()) return;
  error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.close(ignored);
}

TlsStream::error_code TlsStream::TranslateError(int reason) {
  if (reason == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  const int saved_errno = errno;
  unsigned long queued = ERR_get_error();
  ERR_clear_error();
  if (reason == SSL_ERROR_SYSCALL && queued == 0) {
    // errno is 0 when the peer closed the connection without a close_notify.
    if (saved_errno == 0) return asio::ssl::error::stream_truncated;
    return error_code(saved_errno, boost::system::system_category());
  }
  if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return asio::ssl::error::stream_truncated;
  }
  if (queued == 0) return asio::error::fault;
  return error_code(static_cast<int>(queued), asio::error::get_ssl_category());
}

}  // namespace weftkit::server
