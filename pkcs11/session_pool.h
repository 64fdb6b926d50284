// SessionPool: a fixed set of open PKCS#11 sessions, lent out one caller at a time.
//
// PKCS#11 sessions must not be used by two threads at once, and opening one per request is
// slow, so each operation borrows a session through a Lease and gives it back when the Lease
// dies. A full pool makes callers wait up to a timeout, then fail with kUnavailable "hsm_busy"
// rather than queue without bound.
//
// Reconnecting replaces every session. Drain() stops new leases and waits until all leases are
// back, so that no thread is inside the module while it is finalised; Refill() installs the new
// sessions and reopens the pool. Each refill starts a new generation, which lets a caller whose
// operation failed tell whether someone else already reconnected.
//
// Thread safety: all members are thread-safe. The pool does not open or close sessions itself;
// its owner (Hsm) does, while the pool is drained.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/error.h"

namespace weftkit::pkcs11 {

class SessionPool {
 public:
  // Exclusive use of one session until destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();

    CK_SESSION_HANDLE session() const { return session_; }
    // The pool generation the session belongs to.
    std::uint64_t generation() const { return generation_; }

   private:
    friend class SessionPool;
    Lease(SessionPool* pool, CK_SESSION_HANDLE session, std::uint64_t generation)
        : pool_(pool), session_(session), generation_(generation) {}

    SessionPool* pool_;
    CK_SESSION_HANDLE session_;
    std::uint64_t generation_;
  };

  // An empty, drained pool; Refill() opens it.
  SessionPool() = default;
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Waits up to `timeout` for an idle session. Fails with kUnavailable "hsm_busy" on timeout
  // (including while the pool is drained for a reconnect that takes longer than `timeout`).
  Result<Lease> Acquire(std::chrono::milliseconds timeout);

  // Blocks new leases, waits for every outstanding lease to return, and hands the sessions
  // over to the caller, who must close them. The pool stays closed until Refill().
  std::vector<CK_SESSION_HANDLE> Drain();

  // Installs `sessions`, starts a new generation and wakes waiting callers.
  void Refill(std::vector<CK_SESSION_HANDLE> sessions);

  std::uint64_t generation() const;

 private:
  void Release(CK_SESSION_HANDLE session);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<CK_SESSION_HANDLE> idle_;
  std::size_t leased_ = 0;
  bool open_ = false;
  std::uint64_t generation_ = 0;
};

}  // namespace weftkit::pkcs11
