// The worker daemon: joins the work group on Kafka, claims runs from the
// controller, reads their traces, runs models on a thread pool and reports
// results over gRPC.
//
// Delivery is at least once: a work item's Kafka offset is stored only after
// the controller confirmed the result is committed in its ledger (or told us
// to skip the item), so a crash re-delivers unfinished items to another
// member. The poll loop never blocks on a run: when every thread is busy the
// consumer is paused, so long runs cannot trip max.poll.interval.ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "services/bus/kafka.h"
#include "services/family/family.h"
#include "services/core/status.h"

namespace kreplay::worker {

struct WorkerOptions {
  std::string controller;              // "host:port" of the controller's gRPC API
  bus::KafkaConfig kafka;
  std::string topic_prefix;
  std::string group_id = "kreplay-workers";
  int session_timeout_ms = 6000;       // >= 3000 (the mock broker forms no group below)
  int threads = 0;                     // 0 = hardware concurrency
  std::string worker_id;               // default: host-pid
  std::string metrics_listen;          // "127.0.0.1:0"; empty = no /metrics
  double shutdown_grace_seconds = 60;  // SIGTERM: finish in-flight runs for this long
  uint64_t trace_cache_bytes = 2ull << 30;  // decoded workloads kept by digest
  uint32_t trace_resend_limit = 5;     // failed re-sends of one chunk before DATA_LOSS
  // Families and models; REQUIRED, not owned, must outlive the worker.
  const family::Catalog* catalog = nullptr;
};

class Worker {
 public:
  static StatusOr<std::unique_ptr<Worker>> Start(const WorkerOptions& options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Asks the worker to stop: no new items; in-flight runs finish within the
  // grace period or are released (not reported, so they are re-delivered).
  void RequestStop();
  // Blocks until stopped. Returns the first fatal error, if any.
  Status Wait();
  int metrics_port() const;
  const std::string& worker_id() const;

  struct Impl;

 private:
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kreplay::worker
