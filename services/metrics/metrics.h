// Prometheus metrics for kreplay processes, behind probe classes so that the
// metrics library stays out of core logic (Redpanda's probe pattern).
//
// Names follow Prometheus conventions: kreplay_<component>_<what>_<unit>,
// counters end in _total, durations are in seconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "services/core/status.h"

namespace kreplay::metrics {

// Serves /metrics over HTTP. Thread-safe.
class MetricsServer {
 public:
  // `listen` is "host:port"; port 0 picks a free one (see port()).
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen);
  ~MetricsServer();
  int port() const;
  // The text exposition of everything registered (for tests and `kreplay bench`).
  std::string Scrape() const;

  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The worker's figures. Thread-safe; every method is cheap.
class WorkerProbe {
 public:
  // Registers the worker's metrics on `server` (which must outlive the probe).
  WorkerProbe(MetricsServer& server, const std::string& worker_id);
  ~WorkerProbe();

  // outcome: "ok", "failed", "skipped", "cancelled", "data_loss".
  void ItemFinished(const std::string& outcome, double wall_seconds);
  void SimulatedWork(uint64_t events, double simulated_seconds);
  void SetInFlight(int64_t n);
  void SetConsumerLag(int64_t records);
  void TraceBytesRead(uint64_t bytes);
  // A whole trace arrived: its records and the wall time from open to last chunk.
  void TraceFetched(uint64_t records, double seconds);
  void TraceResend();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The controller's figures, sampled from its state (gauges) plus counters.
// Thread-safe.
class ControllerProbe {
 public:
  explicit ControllerProbe(MetricsServer& server);
  ~ControllerProbe();

  struct Snapshot {
    int64_t studies_running = 0;
    int64_t runs_pending = 0;     // in active studies, not yet recorded
    int64_t runs_in_flight = 0;   // published or leased
    int64_t workers_alive = 0;
    int64_t worker_threads = 0;
    int64_t trace_streams = 0;
  };
  void Set(const Snapshot& s);
  void RunRecorded(const std::string& outcome);  // "ok", "duplicate", "mismatch", "failed"
  void Republished();
  void TraceResend();
  void TraceChunkPublished(uint64_t bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kreplay::metrics
