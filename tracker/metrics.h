// The tracker's Prometheus metrics: the text exposition format, and an HTTP endpoint for it.
#ifndef FLEETTUNE_TRACKER_METRICS_H_
#define FLEETTUNE_TRACKER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/host_port.h"
#include "tracker/scheduler.h"

namespace fleettune::tracker {

// Boards by key and state, queues, per-board task counts and noise, and totals, as
// Prometheus text.
std::string RenderMetrics(const Scheduler& scheduler);

// Serves GET /metrics (and /healthz) over plain HTTP on its own thread. Thread-safe.
class MetricsServer {
 public:
  // Binds `address` (port 0 picks a free one). Unavailable naming it when it cannot.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const net::HostPort& address,
                                                              const Scheduler* scheduler);
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;
};

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_METRICS_H_
