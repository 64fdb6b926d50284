#include "client/connection_pool.h"

namespace weftkit::client {

Result<std::unique_ptr<TlsConnection>> ConnectionPool::Acquire() {
  while (true) {
    std::unique_ptr<TlsConnection> candidate;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_.empty()) break;
      candidate = std::move(idle_.back());
      idle_.pop_back();
    }
    // The check runs outside the lock: it is a poll(2) on the socket.
    if (candidate->Reusable()) return candidate;
  }
  WK_ASSIGN_OR_RETURN(std::unique_ptr<TlsConnection> fresh,
                      TlsConnection::Connect(*context_, host_, port_, timeout_));
  opened_.fetch_add(1);
  return fresh;
}

void ConnectionPool::Release(std::unique_ptr<TlsConnection> connection) {
  if (connection == nullptr || !connection->Reusable()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace weftkit::client
