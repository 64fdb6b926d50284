#include "server/server_metrics.h"

namespace weftkit::server {

Result<ServerMetrics> ServerMetrics::Register(Metrics& metrics) {
  ServerMetrics out;
  WK_ASSIGN_OR_RETURN(out.requests,
                      metrics.AddCounter("http_requests_total", "HTTP requests answered.",
                                         {"route", "method", "status"}));
  WK_ASSIGN_OR_RETURN(
      out.request_duration,
      metrics.AddHistogram("http_request_duration_seconds",
                           "Time from a complete request to its response.", {"route"}));
  WK_ASSIGN_OR_RETURN(GaugeFamily * depth,
                      metrics.AddGauge("worker_queue_depth", "Tasks waiting for a worker.", {}));
  WK_ASSIGN_OR_RETURN(GaugeFamily * open,
                      metrics.AddGauge("connections_open", "Open client connections.", {}));
  WK_ASSIGN_OR_RETURN(out.connections_rejected,
                      metrics.AddCounter("connections_rejected_total",
                                         "Connections closed at accept.", {"reason"}));
  out.worker_queue_depth = &depth->WithLabels({});
  out.connections_open = &open->WithLabels({});
  return out;
}

}  // namespace weftkit::server
