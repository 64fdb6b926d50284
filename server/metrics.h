// Metrics: a small Prometheus registry of counters, gauges and histograms, rendered in the text
// exposition format 0.0.4.
//
// A family has a name, a help text and a fixed list of label names; a series is one combination
// of label values. Looking a series up takes the family's mutex once; the returned reference is
// stable for the registry's lifetime, so hot paths may keep it and then update it with atomics
// only. Label values must come from a small fixed set (route patterns, operation names, status
// codes), never from request input, or the series count grows without bound.
//
// Thread safety: every member function may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::server {

using LabelValues = std::vector<std::string>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed cumulative buckets ("le" upper bounds), plus their sum.
class Histogram {
 public:
  // `upper_bounds` must be sorted ascending; +Inf is implicit.
  explicit Histogram(const std::vector<double>& upper_bounds);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Observations <= upper_bounds()[i] (cumulative), for i < upper_bounds().size().
  std::uint64_t cumulative_count(std::size_t i) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> upper_bounds_;
  // Non-cumulative per bucket; the render sums them. A unique_ptr because atomics do not move.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 0.5 ms to 5 s.
const std::vector<double>& DefaultLatencyBuckets();

// One metric family: its series keyed by label values.
template <typename Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {});

  // The series for `values`, created on first use. `values` must have one entry per label name;
  // missing entries read as "" and extra ones are dropped. The reference stays valid for the
  // registry's lifetime.
  Series& WithLabels(LabelValues values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls `visit(values, series)` for every series, ordered by label values, under the mutex.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [values, series] : series_) visit(values, *series);
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;  // histograms only
  mutable std::mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Metrics {
 public:
  // Each Add* registers a family, or returns the existing one when a family of the same type
  // and label names is already registered under `name`. Fails with kInvalidArgument when the
  // name or a label name is not a valid Prometheus name, or `name` is taken by a different
  // family. The pointer is owned by the registry and stays valid for its lifetime.
  Result<CounterFamily*> AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names);
  Result<GaugeFamily*> AddGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names);
  Result<HistogramFamily*> AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> buckets = DefaultLatencyBuckets());

  // Every family in name order, in the Prometheus text exposition format 0.0.4
  // (Content-Type: text/plain; version=0.0.4).
  std::string Render() const;

 private:
  template <typename F>
  Result<F*> Add(std::map<std::string, std::unique_ptr<F>>& families, const std::string& name,
                 std::unique_ptr<F> candidate);
  bool NameTakenByOtherType(const std::string& name, const void* own_map) const;

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_;
  std::map<std::string, std::unique_ptr<GaugeFamily>> gauges_;
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_;
};

}  // namespace weftkit::server
