#include "pkcs11/session_pool.h"

#include <utility>

namespace weftkit::pkcs11 {

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      session_(other.session_),
      generation_(other.generation_) {}

SessionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(session_);
}

Result<SessionPool::Lease> SessionPool::Acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  bool available = changed_.wait_for(lock, timeout, [this] { return open_ && !idle_.empty(); });
  if (!available) {
    return Error(ErrorKind::kUnavailable, "hsm_busy",
                 "no PKCS#11 session free within " + std::to_string(timeout.count()) + " ms");
  }
  CK_SESSION_HANDLE session = idle_.back();
  idle_.pop_back();
  ++leased_;
  return Lease(this, session, generation_);
}

std::vector<CK_SESSION_HANDLE> SessionPool::Drain() {
  std::unique_lock lock(mutex_);
  open_ = false;
  changed_.wait(lock, [this] { return leased_ == 0; });
  return std::exchange(idle_, {});
}

void SessionPool::Refill(std::vector<CK_SESSION_HANDLE> sessions) {
  {
    std::lock_guard lock(mutex_);
    idle_ = std::move(sessions);
    open_ = true;
    ++generation_;
  }
  changed_.notify_all();
}

std::uint64_t SessionPool::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void SessionPool::Release(CK_SESSION_HANDLE session) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(session);
    --leased_;
  }
  changed_.notify_all();
}

}  // namespace weftkit::pkcs11
