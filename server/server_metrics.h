// The metric families the HTTPS server records, registered once in a Metrics registry.
//
//   http_requests_total{route,method,status}        counter
//   http_request_duration_seconds{route}            histogram, DefaultLatencyBuckets()
//   worker_queue_depth                              gauge, sampled at every submit and start
//   connections_open                                gauge
//   connections_rejected_total{reason}              counter ("max_connections")
//
// `route` is always a route pattern or "unmatched", never a raw path, so the number of series
// stays bounded. Thread safety: the pointed-to families are thread-safe.
#pragma once

#include "common/error.h"
#include "server/metrics.h"

namespace weftkit::server {

struct ServerMetrics {
  // Registers the families in `metrics` (or finds them when already registered). `metrics` must
  // outlive the result. Fails only if a family name is taken by a different shape.
  static Result<ServerMetrics> Register(Metrics& metrics);

  CounterFamily* requests = nullptr;
  HistogramFamily* request_duration = nullptr;
  Gauge* worker_queue_depth = nullptr;
  Gauge* connections_open = nullptr;
  CounterFamily* connections_rejected = nullptr;
};

}  // namespace weftkit::server
