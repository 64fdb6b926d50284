// Small helpers shared by the fault tests: reporting a measurement, and waiting for a condition
// with a deadline.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

namespace weftkit::test {

// Prints "[faults] <name> = <value> <unit>" (so that tools/faults.sh and CI logs show the
// numbers) and records it as a property in the test's XML output.
inline void ReportMeasurement(const std::string& name, double value, const char* unit) {
  std::printf("[faults] %s = %.1f %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
  ::testing::Test::RecordProperty(name, std::to_string(value));
}

// Calls `done` every `poll` until it returns true or `timeout` passes; returns the time it took,
// or nothing (timeout).
template <typename Condition>
std::optional<std::chrono::milliseconds> WaitFor(
    Condition done, std::chrono::milliseconds timeout,
    std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  auto start = std::chrono::steady_clock::now();
  while (true) {
    if (done()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    if (std::chrono::steady_clock::now() - start > timeout) return std::nullopt;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace weftkit::test
