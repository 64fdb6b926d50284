// TlsStream: a server-side TLS connection that drives OpenSSL on the socket itself, for Beast's
// HTTP reads and writes.
//
// Why not asio::ssl::stream: it passes every byte through an OpenSSL BIO pair and two buffers of
// its own, and allocates and zero-fills 2 x 17 KiB per connection up front, whether the
// connection ever sends a byte or not. An engine keeps hundreds of idle keep-alive connections,
// and those buffers were most of what an idle connection cost (docs/performance.md). Here the
// SSL object reads and writes the non-blocking socket directly (SSL_set_fd), with
// SSL_MODE_RELEASE_BUFFERS, so an idle connection holds no record buffer at all; and one record
// read from the socket needs no copy between buffers.
//
// How an operation runs: it calls SSL_read_ex, SSL_write_ex, SSL_do_handshake or SSL_shutdown;
// when OpenSSL wants the socket readable or writable it waits for that with the socket's
// async_wait and calls again. An operation that finishes without waiting completes through a
// post, never inside the call that started it (Asio's rule for asynchronous operations).
//
// Timeouts are the owner's: close() ends every operation in progress with operation_aborted.
// After close() no operation touches the SSL object's file descriptor again (its number may
// already belong to another connection); each fails with bad_descriptor instead.
//
// Errors: a peer's close_notify reads as asio::error::eof; a peer that vanished without one as
// asio::ssl::error::stream_truncated; TLS failures in asio's SSL error category (their message
// is OpenSSL's reason text); socket failures as system errors.
//
// Writes: one call sends at most kMaxRecord bytes as a single TLS record; the pieces of a
// buffer sequence (Beast passes headers and body separately) are gathered into one record so
// that a small response costs one record and one send. The gathered copy is wiped afterwards,
// because a response may carry a DEK.
//
// Thread safety: one operation of each kind at a time, on the socket's executor (a strand per
// connection in the server); never moved while one is pending. The process must ignore SIGPIPE:
// OpenSSL writes with send() without MSG_NOSIGNAL (HttpServer::Create arranges it).
#pragma once

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "common/error.h"

namespace weftkit::server {

class TlsStream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using error_code = boost::system::error_code;

  // The most plaintext one write sends (one TLS record).
  static constexpr std::size_t kMaxRecord = 16 * 1024;

  // Takes the connected socket, makes it non-blocking and creates the SSL object for the server
  // side from `context`. Fails with tls_connection_failed (kUnavailable) when OpenSSL cannot
  // create or attach it (memory) or the socket refuses non-blocking mode.
  static Result<TlsStream> Create(socket_type socket, SSL_CTX* context);

  TlsStream(TlsStream&&) = default;
  TlsStream& operator=(TlsStream&&) = default;

  executor_type get_executor() { return socket_.get_executor(); }
  SSL* native_handle() const { return ssl_.get(); }
  const socket_type& socket() const { return socket_; }

  // Shuts the socket down in both directions and closes it; pending operations complete with
  // operation_aborted. Idempotent.
  void close();

  // Handler: void(error_code).
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return Start<void(error_code)>([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); },
                                   std::forward<Handler>(handler));
  }

  // Sends close_notify and waits for the peer's. Handler: void(error_code).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return Start<void(error_code)>(
        [](SSL* ssl, std::size_t&) {
          int result = SSL_shutdown(ssl);
          // 0: ours is sent, the peer's not yet read; the second call reads it (or wants to).
          return result == 0 ? SSL_shutdown(ssl) : result;
        },
        std::forward<Handler>(handler));
  }

  // Reads some plaintext into the first non-empty buffer. Handler: void(error_code, size_t).
  template <class MutableBufferSequence, class Handler>
  auto async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    boost::asio::mutable_buffer target = FirstNonEmpty(buffers);
    return Start<void(error_code, std::size_t)>(
        [target](SSL* ssl, std::size_t& bytes) {
          if (target.size() == 0) return 1;
          return SSL_read_ex(ssl, target.data(), target.size(), &bytes);
        },
        std::forward<Handler>(handler));
  }

  // Writes up to kMaxRecord bytes of `buffers` as one record. Handler: void(error_code, size_t).
  template <class ConstBufferSequence, class Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    auto gathered = std::make_shared<GatheredWrite>(buffers);
    return Start<void(error_code, std::size_t)>(
        [gathered](SSL* ssl, std::size_t& bytes) {
          if (gathered->size() == 0) return 1;
          return SSL_write_ex(ssl, gathered->data(), gathered->size(), &bytes);
        },
        std::forward<Handler>(handler));
  }

 private:
  struct SslDeleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  // A write's bytes: the first buffer itself when it is the only non-empty one, otherwise a
  // copy of the buffers' first kMaxRecord bytes, wiped on destruction.
  class GatheredWrite {
   public:
    template <class ConstBufferSequence>
    explicit GatheredWrite(const ConstBufferSequence& buffers);
    GatheredWrite(const GatheredWrite&) = delete;
    GatheredWrite& operator=(const GatheredWrite&) = delete;
    ~GatheredWrite() { OPENSSL_cleanse(copy_.data(), copy_.size()); }

    const void* data() const { return data_; }
    std::size_t size() const { return size_; }

   private:
    std::string copy_;
    const void* data_ = nullptr;
    std::size_t size_ = 0;
  };

  // One operation: `step` calls OpenSSL (returns > 0 when done, setting `bytes` for reads and
  // writes); the op waits on the socket as OpenSSL asks and calls `step` again. Operations with
  // the signature void(error_code) (handshake, shutdown) complete without the byte count.
  template <class Step, bool kCountsBytes>
  struct Operation {
    TlsStream* stream;
    Step step;
    bool waited = false;  // a completion after a wait is already outside the initiating call
    bool finished = false;
    error_code result;
    std::size_t bytes = 0;

    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
      if (finished) return Complete(self);
      if (ec) return Finish(self, ec);
      if (!stream->socket_.is_open()) return Finish(self, boost::asio::error::bad_descriptor);
      ERR_clear_error();
      int returned = step(stream->ssl_.get(), bytes);
      if (returned > 0) return Finish(self, {});
      int reason = SSL_get_error(stream->ssl_.get(), returned);
      if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
        waited = true;
        return stream->socket_.async_wait(
            reason == SSL_ERROR_WANT_READ ? socket_type::wait_read : socket_type::wait_write,
            std::move(self));
      }
      Finish(self, TranslateError(reason));
    }

    template <class Self>
    void Finish(Self& self, error_code ec) {
      result = ec;
      if (ec) bytes = 0;
      if (waited) return Complete(self);
      finished = true;
      boost::asio::post(stream->socket_.get_executor(), std::move(self));
    }

    template <class Self>
    void Complete(Self& self) {
      if constexpr (kCountsBytes) {
        self.complete(result, bytes);
      } else {
        self.complete(result);
      }
    }
  };

  TlsStream(socket_type socket, std::unique_ptr<SSL, SslDeleter> ssl)
      : socket_(std::move(socket)), ssl_(std::move(ssl)) {}

  template <class Signature, class Step, class Handler>
  auto Start(Step step, Handler&& handler) {
    constexpr bool kCountsBytes = !std::is_same_v<Signature, void(error_code)>;
    return boost::asio::async_compose<Handler, Signature>(
        Operation<Step, kCountsBytes>{this, std::move(step)}, handler, socket_);
  }

  template <class MutableBufferSequence>
  static boost::asio::mutable_buffer FirstNonEmpty(const MutableBufferSequence& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return {};
  }

  // The error_code for an SSL_get_error reason other than WANT_READ/WANT_WRITE; reads the
  // thread's OpenSSL error queue.
  static error_code TranslateError(int reason);

  socket_type socket_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
};

template <class ConstBufferSequence>
TlsStream::GatheredWrite::GatheredWrite(const ConstBufferSequence& buffers) {
  std::size_t non_empty = 0;
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers); ++it) {
    boost::asio::const_buffer buffer(*it);
    if (buffer.size() == 0) continue;
    if (++non_empty == 1) {
      data_ = buffer.data();
      size_ = std::min(buffer.size(), kMaxRecord);
    }
  }
  if (non_empty <= 1) return;
  copy_.resize(std::min(boost::asio::buffer_size(buffers), kMaxRecord));
  size_ = boost::asio::buffer_copy(boost::asio::buffer(copy_), buffers);
  data_ = copy_.data();
}

}  // namespace weftkit::server
