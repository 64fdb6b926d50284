// WorkerPool: a fixed set of threads that run blocking work (PKCS#11 calls, SQLite writes) off
// the I/O threads, fed by a bounded queue.
//
// The queue is bounded on purpose: when it is full, TrySubmit refuses the task and the caller
// answers 503 with Retry-After instead of letting latency grow without limit. Worker threads are
// created by the pool and never run I/O handlers.
//
// Thread safety: every member function may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"

namespace weftkit::server {

class WorkerPool {
 public:
  // Starts `threads` workers over a queue that holds at most `queue_capacity` waiting tasks
  // (tasks already running do not count). Fails with kInvalidArgument if either is zero, and
  // with kResourceExhausted if the OS refuses to start a thread.
  static Result<std::unique_ptr<WorkerPool>> Create(std::size_t threads,
                                                    std::size_t queue_capacity);

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // Calls Stop().
  ~WorkerPool();

  // Queues `task` and returns true, or returns false without queueing it when the queue is full
  // or the pool is stopping. An exception escaping `task` is logged and swallowed, so a bad
  // task cannot take a worker down.
  bool TrySubmit(std::function<void()> task);

  // The number of tasks waiting for a worker.
  std::size_t queue_depth() const;

  // Refuses new tasks, lets the workers finish every task already queued, and joins them.
  // Idempotent. Must not be called from a task (it would wait for itself).
  void Stop();

 private:
  explicit WorkerPool(std::size_t queue_capacity);
  void RunWorker();

  const std::size_t queue_capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::once_flag join_once_;  // concurrent Stop() calls join once; the others wait for it
  std::vector<std::thread> threads_;
};

}  // namespace weftkit::server
