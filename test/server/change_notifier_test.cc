// ChangeNotifier: the generation-and-waiter core of long polling. A waiter runs once per change,
// at once when the topic moved on before it arrived (no lost wake-up), never after Cancel, and
// only for its own topic.
#include "server/change_notifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace weftkit::server {
namespace {

TEST(ChangeNotifierTest, Notify_RunsEachWaiterOnce_AndAdvancesGeneration) {
  ChangeNotifier notifier;
  int runs = 0;
  EXPECT_EQ(notifier.Generation("policy/cluster/prod"), 0u);
  EXPECT_NE(notifier.Subscribe("policy/cluster/prod", 0, [&] { ++runs; }), 0u);
  EXPECT_NE(notifier.Subscribe("policy/cluster/prod", 0, [&] { ++runs; }), 0u);
  EXPECT_EQ(notifier.waiting(), 2u);

  notifier.Notify("policy/cluster/prod");
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(notifier.waiting(), 0u);
  EXPECT_EQ(notifier.Generation("policy/cluster/prod"), 1u);
  notifier.Notify("policy/cluster/prod");
  EXPECT_EQ(runs, 2);  // one-shot
}

TEST(ChangeNotifierTest, Subscribe_RunsAtOnce_WhenTopicMovedOnSinceSeen) {
  ChangeNotifier notifier;
  std::uint64_t seen = notifier.Generation("t");
  notifier.Notify("t");  // lands between "read the state" and "start waiting"
  bool ran = false;
  EXPECT_EQ(notifier.Subscribe("t", seen, [&] { ran = true; }), 0u);
  EXPECT_TRUE(ran);
  EXPECT_EQ(notifier.waiting(), 0u);
}

TEST(ChangeNotifierTest, Notify_LeavesOtherTopicsWaiting) {
  ChangeNotifier notifier;
  bool ran = false;
  notifier.Subscribe("a", 0, [&] { ran = true; });
  notifier.Notify("b");
  EXPECT_FALSE(ran);
  EXPECT_EQ(notifier.waiting(), 1u);
}

TEST(ChangeNotifierTest, Cancel_DropsWaiter_OnlyOnce) {
  ChangeNotifier notifier;
  bool ran = false;
  std::uint64_t ticket = notifier.Subscribe("a", 0, [&] { ran = true; });
  EXPECT_TRUE(notifier.Cancel("a", ticket));
  EXPECT_FALSE(notifier.Cancel("a", ticket));
  notifier.Notify("a");
  EXPECT_FALSE(ran);
}

TEST(ChangeNotifierTest, Notify_WakesEveryWaiter_UnderConcurrentSubscribes) {
  ChangeNotifier notifier;
  std::atomic<int> runs{0};
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) notifier.Subscribe("a", 0, [&] { ++runs; });
    });
  }
  for (auto& thread : threads) thread.join();
  notifier.Notify("a");
  EXPECT_EQ(runs.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace weftkit::server
