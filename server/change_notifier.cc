#include "server/change_notifier.h"

#include <utility>
#include <vector>

namespace weftkit::server {

std::uint64_t ChangeNotifier::Generation(const std::string& topic) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = topics_.find(topic);
  return found == topics_.end() ? 0 : found->second.generation;
}

std::uint64_t ChangeNotifier::Subscribe(const std::string& topic, std::uint64_t seen,
                                        Callback callback) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Topic& entry = topics_[topic];
    if (entry.generation == seen) {
      std::uint64_t ticket = next_ticket_++;
      entry.waiters.emplace(ticket, std::move(callback));
      ++waiting_;
      return ticket;
    }
  }
  callback();  // the topic moved on before the waiter arrived
  return 0;
}

bool ChangeNotifier::Cancel(const std::string& topic, std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = topics_.find(topic);
  if (found == topics_.end() || found->second.waiters.erase(ticket) == 0) return false;
  --waiting_;
  return true;
}

void ChangeNotifier::Notify(const std::string& topic) {
  std::unordered_map<std::uint64_t, Callback> woken;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Topic& entry = topics_[topic];
    ++entry.generation;
    woken.swap(entry.waiters);
    waiting_ -= woken.size();
  }
  // Outside the lock: a callback may Subscribe or Cancel again.
  for (auto& [ticket, callback] : woken) callback();
}

std::size_t ChangeNotifier::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

}  // namespace weftkit::server
