// The session pool bounds concurrency and lets a reconnect wait for every borrowed session.
#include "pkcs11/session_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace weftkit::pkcs11 {
namespace {

using std::chrono::milliseconds;

TEST(SessionPoolTest, Acquire_FailsBusyWhenAllSessionsAreLent) {
  SessionPool pool;
  pool.Refill({11});
  auto first = pool.Acquire(milliseconds(10));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->session(), 11u);

  auto second = pool.Acquire(milliseconds(10));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(second.error().code(), "hsm_busy");
}

TEST(SessionPoolTest, Acquire_SucceedsOnceALeaseReturns) {
  SessionPool pool;
  pool.Refill({11});
  std::optional<SessionPool::Lease> held;
  {
    auto lease = pool.Acquire(milliseconds(10));
    ASSERT_TRUE(lease.ok());
    held.emplace(std::move(lease).value());
  }
  std::thread releaser([&held] {
    std::this_thread::sleep_for(milliseconds(20));
    held.reset();
  });
  auto lease = pool.Acquire(milliseconds(2000));
  releaser.join();
  EXPECT_TRUE(lease.ok());
}

TEST(SessionPoolTest, Acquire_FailsWhileDrained) {
  SessionPool pool;  // never refilled: drained from the start
  EXPECT_FALSE(pool.Acquire(milliseconds(5)).ok());
  pool.Refill({1, 2});
  auto sessions = pool.Drain();
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_FALSE(pool.Acquire(milliseconds(5)).ok());
}

TEST(SessionPoolTest, Drain_WaitsForOutstandingLeases) {
  SessionPool pool;
  pool.Refill({1, 2});
  std::atomic<bool> returned{false};
  auto lease = pool.Acquire(milliseconds(10));
  ASSERT_TRUE(lease.ok());
  std::optional<SessionPool::Lease> held(std::move(lease).value());

  std::thread drainer([&] {
    auto sessions = pool.Drain();
    EXPECT_TRUE(returned.load());
    EXPECT_EQ(sessions.size(), 2u);
  });
  std::this_thread::sleep_for(milliseconds(30));
  returned = true;
  held.reset();
  drainer.join();
}

TEST(SessionPoolTest, Refill_StartsANewGeneration) {
  SessionPool pool;
  pool.Refill({1});
  std::uint64_t first = pool.generation();
  pool.Refill(pool.Drain());
  EXPECT_EQ(pool.generation(), first + 1);
  auto lease = pool.Acquire(milliseconds(10));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->generation(), first + 1);
}

}  // namespace
}  // namespace weftkit::pkcs11
