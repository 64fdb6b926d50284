// ChangeNotifier: per-topic change counters with one-shot waiters, for long polling.
//
// A topic is a string the producer and the waiters agree on (the policy routes use
// "policy/<scope>"; the audit stream can use its own). Each topic has a generation that starts at
// 0 and grows by one on every Notify. A waiter states the generation it saw *before* it looked
// at the state it reports on; if the topic has moved on since, it is woken at once, so a change
// that lands between "look at the state" and "start waiting" is never missed.
//
// Costs: Subscribe and Cancel are O(1) on average; Notify is O(waiters of that topic), each
// callback run once, outside the lock, on the notifying thread (callbacks must be short: the
// HTTP server's only posts to an I/O strand). No thread and no timer per waiter lives here.
//
// Thread safety: all members are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace weftkit::server {

class ChangeNotifier {
 public:
  using Callback = std::function<void()>;

  ChangeNotifier() = default;
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // The current generation of `topic` (0 if it was never notified).
  std::uint64_t Generation(const std::string& topic) const;

  // Runs `callback` once when `topic`'s generation is past `seen`: right away, on this thread,
  // if it already is (then returns 0), otherwise at the next Notify (returns a ticket > 0 for
  // Cancel).
  std::uint64_t Subscribe(const std::string& topic, std::uint64_t seen, Callback callback);

  // Drops the waiter `ticket` of `topic` if it has not run; true if it was dropped.
  bool Cancel(const std::string& topic, std::uint64_t ticket);

  // Advances `topic`'s generation and runs every waiter of it.
  void Notify(const std::string& topic);

  // Waiters not yet run, over all topics (for metrics and tests).
  std::size_t waiting() const;

 private:
  struct Topic {
    std::uint64_t generation = 0;
    std::unordered_map<std::uint64_t, Callback> waiters;
  };

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Topic> topics_;  // guarded by mutex_
  std::uint64_t next_ticket_ = 1;                  // guarded by mutex_
  std::size_t waiting_ = 0;                        // guarded by mutex_
};

}  // namespace weftkit::server
