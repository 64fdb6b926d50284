// ConnectionPool: keeps idle TlsConnections to one kmsd for reuse (keep-alive), so that a busy
// engine pays for a TCP and TLS handshake only when it needs more parallel connections than it
// had before. Connections are opened on demand without a limit on how many are in use at once;
// at most `max_idle` wait in the pool, and a connection the server closed while it waited is
// dropped when it is next taken.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/tls_client_context.h"
#include "client/tls_connection.h"
#include "common/error.h"

namespace weftkit::client {

class ConnectionPool {
 public:
  ConnectionPool(std::shared_ptr<const TlsClientContext> context, std::string host,
                 std::uint16_t port, std::size_t max_idle, std::chrono::milliseconds timeout)
      : context_(std::move(context)),
        host_(std::move(host)),
        port_(port),
        max_idle_(max_idle),
        timeout_(timeout) {}

  // An idle connection that is still open, or a new one. Fails as TlsConnection::Connect does.
  Result<std::unique_ptr<TlsConnection>> Acquire();

  // Returns `connection` to the pool if it is reusable and there is room; otherwise closes it.
  void Release(std::unique_ptr<TlsConnection> connection);

  // How many TLS connections this pool has opened since it was made.
  std::uint64_t connections_opened() const { return opened_.load(); }

 private:
  std::shared_ptr<const TlsClientContext> context_;
  std::string host_;
  std::uint16_t port_;
  std::size_t max_idle_;
  std::chrono::milliseconds timeout_;
  std::atomic<std::uint64_t> opened_{0};

  std::mutex mutex_;
  std::vector<std::unique_ptr<TlsConnection>> idle_;  // guarded by mutex_; newest last
};

}  // namespace weftkit::client
