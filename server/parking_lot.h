// ParkingLot: where a request waits for a change without holding a thread (long polling).
//
// A handler that wants to answer "when something changes, or at a deadline" returns a Response
// whose `wait` is set (http_types.h, WaitForChange). The RequestDispatcher then parks the
// request here instead of answering. The HTTP server implements the lot on its I/O context: one
// Asio timer per parked request and one waiter in the ChangeNotifier, no thread. When the topic
// changes, the timeout passes or the server stops, the lot calls the wake function once, and the
// dispatcher builds the answer with WaitForChange::resume and sends it as usual (access log,
// metrics, standard headers).
//
// Thread safety: Park may be called from any thread.
#pragma once

#include <functional>

#include "server/http_types.h"

namespace weftkit::server {

class ParkingLot {
 public:
  enum class Outcome {
    kParked,    // `wake` will be called exactly once
    kFull,      // the configured number of parked requests is reached; `wake` is dropped
    kStopping,  // the server is stopping; `wake` is dropped
  };

  virtual ~ParkingLot() = default;

  // Holds the request until wait.notifier reports a change of wait.topic after wait.seen
  // (wake(true)), wait.timeout passes or the server stops (wake(false)). `wake` runs on an I/O
  // thread and must not block.
  virtual Outcome Park(const WaitForChange& wait, std::function<void(bool changed)> wake) = 0;
};

}  // namespace weftkit::server
