#include "server/worker_pool.h"

#include <exception>
#include <system_error>
#include <utility>

#include "common/log.h"

namespace weftkit::server {

Result<std::unique_ptr<WorkerPool>> WorkerPool::Create(std::size_t threads,
                                                       std::size_t queue_capacity) {
  if (threads == 0 || queue_capacity == 0) {
    return Error(ErrorKind::kInvalidArgument, "worker_pool_size_invalid",
                 "worker pool needs at least one thread and a queue capacity of at least one");
  }
  std::unique_ptr<WorkerPool> pool(new WorkerPool(queue_capacity));
  try {
    for (std::size_t i = 0; i < threads; ++i) {
      pool->threads_.emplace_back([raw = pool.get()] { raw->RunWorker(); });
    }
  } catch (const std::system_error& e) {
    // The destructor stops and joins the threads that did start.
    return Error(ErrorKind::kResourceExhausted, "worker_thread_start_failed", e.what());
  }
  return pool;
}

WorkerPool::WorkerPool(std::size_t queue_capacity) : queue_capacity_(queue_capacity) {}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= queue_capacity_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

std::size_t WorkerPool::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::call_once(join_once_, [this] {
    for (std::thread& thread : threads_) thread.join();
  });
}

void WorkerPool::RunWorker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Queued work is finished even when stopping: a queued task may hold a client waiting
      // for its answer.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      log::Error("worker_task_threw", {{"what", e.what()}});
    } catch (...) {
      log::Error("worker_task_threw", {{"what", "non-standard exception"}});
    }
  }
}

}  // namespace weftkit::server
