// The worker pool is the server's back-pressure: it must refuse rather than queue without
// bound, and finish queued work when stopped.
#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace weftkit::server {
namespace {

TEST(WorkerPoolTest, Create_Fails_WhenSizesAreZero) {
  EXPECT_EQ(WorkerPool::Create(0, 4).error().code(), "worker_pool_size_invalid");
  EXPECT_EQ(WorkerPool::Create(2, 0).error().code(), "worker_pool_size_invalid");
}

TEST(WorkerPoolTest, TrySubmit_RunsTaskOnAnotherThread) {
  auto pool = WorkerPool::Create(2, 4);
  ASSERT_TRUE(pool.ok());
  std::promise<std::thread::id> ran_on;
  ASSERT_TRUE((*pool)->TrySubmit([&] { ran_on.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  (*pool)->Stop();
}

TEST(WorkerPoolTest, TrySubmit_ReturnsFalse_WhenQueueFull) {
  auto pool = WorkerPool::Create(1, 1);
  ASSERT_TRUE(pool.ok());
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE((*pool)->TrySubmit([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE((*pool)->TrySubmit([] {}));
  EXPECT_EQ((*pool)->queue_depth(), 1u);
  EXPECT_FALSE((*pool)->TrySubmit([] {}));
  release.set_value();
  (*pool)->Stop();  // before the promises the tasks refer to go out of scope
}

TEST(WorkerPoolTest, Stop_FinishesQueuedTasks) {
  auto pool = WorkerPool::Create(1, 8);
  ASSERT_TRUE(pool.ok());
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE((*pool)->TrySubmit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ++done;
    }));
  }
  (*pool)->Stop();
  EXPECT_EQ(done.load(), 8);
}

TEST(WorkerPoolTest, TrySubmit_ReturnsFalse_AfterStop) {
  auto pool = WorkerPool::Create(1, 8);
  ASSERT_TRUE(pool.ok());
  (*pool)->Stop();
  EXPECT_FALSE((*pool)->TrySubmit([] {}));
}

TEST(WorkerPoolTest, Worker_Survives_WhenTaskThrows) {
  auto pool = WorkerPool::Create(1, 4);
  ASSERT_TRUE(pool.ok());
  std::promise<void> second_ran;
  ASSERT_TRUE((*pool)->TrySubmit([] { throw std::runtime_error("task failed"); }));
  ASSERT_TRUE((*pool)->TrySubmit([&] { second_ran.set_value(); }));
  EXPECT_EQ(second_ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  (*pool)->Stop();
}

}  // namespace
}  // namespace weftkit::server
