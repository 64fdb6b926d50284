// WrapLoad: sustained DEK traffic against a running kmsd, for the fault tests.
//
// Several engine threads, each on its own TLS 1.3 connection, alternate generate-data-key and
// wrap (of a DEK they made up) on one master key, each request with its own encryption context.
// An optional key-officer thread rotates the key at a fixed interval. Every request is recorded
// as a Sample (when it was sent, how long it took, status and problem code, or a transport
// failure), and every 200 answer is kept as an Acknowledged wrap or rotation: what the server
// promised, which a test later holds it to.
//
// A thread whose connection breaks (the server was killed, or closed it) reconnects and goes on
// until Stop(); requests that fail that way are samples with status 0, never acknowledgements.
//
// Thread safety: Start, Stop and the accessors are for the controlling test thread; accessors
// may be called while the load runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test/integration/kmsd_process.h"

namespace weftkit::test {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Sample {
  SteadyTime sent;
  std::chrono::microseconds latency{0};
  int status = 0;    // 0: the connection failed before an answer arrived
  std::string code;  // the problem's "code" for an error answer
};

// A wrap the server answered with 200: unwrapping `wrapped` under `context` must give
// `plaintext` (base64) for as long as the key version is enabled.
struct AcknowledgedWrap {
  std::string plaintext;
  std::string wrapped;
  nlohmann::json context;
  std::uint32_t key_version = 0;
};

struct WrapLoadOptions {
  std::string key = "orders";
  int engine_threads = 3;
  // The officer rotates the key this often; zero: no rotation.
  std::chrono::milliseconds rotate_every{0};
  // Pause between one thread's requests (zero: back to back).
  std::chrono::milliseconds pause{0};
};

class WrapLoad {
 public:
  // Starts the threads against `kmsd` (its port at the time of each connect); `kmsd` must
  // outlive Stop().
  static std::unique_ptr<WrapLoad> Start(const KmsdProcess& kmsd, WrapLoadOptions options);
  ~WrapLoad();

  // Asks the threads to finish their current request and joins them. Idempotent.
  void Stop();

  std::vector<Sample> samples() const;
  std::vector<AcknowledgedWrap> acknowledged_wraps() const;
  // The primary version each acknowledged rotation reported.
  std::vector<std::uint32_t> acknowledged_rotations() const;
  // The X-Request-Id of every wrap and rotation answered with 200, for the audit log check.
  std::vector<std::string> acknowledged_request_ids() const;
  // Samples with this status (0 for transport failures).
  std::size_t CountStatus(int status) const;

 private:
  WrapLoad(const KmsdProcess& kmsd, WrapLoadOptions options)
      : kmsd_(kmsd), options_(std::move(options)) {}
  void RunEngine(int thread_index);
  void RunOfficer();
  void Record(Sample sample);

  const KmsdProcess& kmsd_;
  const WrapLoadOptions options_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;

  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
  std::vector<AcknowledgedWrap> wraps_;
  std::vector<std::uint32_t> rotations_;
  std::vector<std::string> request_ids_;
};

// Latency percentiles of a set of samples, in milliseconds. `percentile` in [0, 100]; 0 for an
// empty set.
double PercentileMs(std::vector<std::chrono::microseconds> latencies, double percentile);

// The latencies of `samples` that satisfy `keep`.
template <typename Predicate>
std::vector<std::chrono::microseconds> LatenciesOf(const std::vector<Sample>& samples,
                                                   Predicate keep) {
  std::vector<std::chrono::microseconds> out;
  for (const Sample& sample : samples) {
    if (keep(sample)) out.push_back(sample.latency);
  }
  return out;
}

// Unwraps every wrap in `wraps` through `client` (batch unwrap, in chunks) and returns one line
// per wrap that did not come back as its plaintext; empty when all did.
std::vector<std::string> UnwrapMismatches(HttpsClient& client, const std::string& key,
                                          const std::vector<AcknowledgedWrap>& wraps);

}  // namespace weftkit::test
