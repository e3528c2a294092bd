// The controller: plans studies, publishes traces and work over Kafka,
// records results in the SQLite ledger, and serves the gRPC API
// (kreplay.v1.Controller for users, kreplay.v1.WorkerGateway for workers,
// grpc.health.v1 and server reflection).
//
// SQLite is the ledger, Kafka the transport: a run is pending until its
// result is committed in the store, whatever Kafka holds. On start the
// controller reloads unfinished studies and re-publishes their pending runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "services/bus/kafka.h"
#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::server {

struct ControllerOptions {
  std::string listen = "127.0.0.1:0";   // host:port; port 0 picks a free one
  std::string data_dir;                 // holds kreplay.db and traces/
  std::string db_path;                  // default: data_dir/kreplay.db
  bus::KafkaConfig kafka;
  std::string topic_prefix;             // prepended to kreplay.work / kreplay.traces
  size_t chunk_bytes = 512 * 1024;      // trace chunk payload bound
  // Bytes a trace partition may hold beyond the oldest unacknowledged chunk;
  // below the embedded broker's 5 MiB retention so nothing unread is dropped.
  uint64_t trace_window_bytes = 3u << 20;
  // Work is published to each worker's own partitions (reported in its
  // heartbeats), at most this many unfinished items per worker thread: one
  // running and one prefetched. Bounds what a partition holds whatever the
  // sweep size, and keeps every worker busy to the end of a study.
  uint32_t items_per_thread = 2;
  // A work item of a model with a batch function (one pass over the workload
  // for several configurations) carries up to this many runs that share its
  // model, system, workload and seed.
  uint32_t max_batch_runs = 8;
  // Real clusters with retention longer than a study: publish each trace
  // once and point every later reader at that publication (a reader that
  // finds it gone asks for a re-send as usual). Off for the embedded broker,
  // whose partitions keep only ~5 MiB.
  bool reuse_published_traces = false;
  double lease_seconds = 30;            // a claimed run's lease; heartbeats renew it
  double worker_timeout_seconds = 10;   // no heartbeat for this long: worker presumed dead
  double claim_timeout_seconds = 120;   // published but unclaimed this long: re-publish
  double heartbeat_seconds = 1;         // interval workers are told to use
  int max_message_bytes = 64 << 20;     // gRPC limit, raised deliberately for results
  std::string metrics_listen;           // Prometheus /metrics ("127.0.0.1:0"); empty = none
  // Families and models; REQUIRED, not owned, must outlive the server.
  const family::Catalog* catalog = nullptr;
};

class ControllerServer {
 public:
  static StatusOr<std::unique_ptr<ControllerServer>> Start(const ControllerOptions& options);
  ~ControllerServer();
  ControllerServer(const ControllerServer&) = delete;
  ControllerServer& operator=(const ControllerServer&) = delete;

  int port() const;
  int metrics_port() const;  // 0 without metrics_listen
  std::string address() const;  // "127.0.0.1:port"
  // Stops accepting RPCs, finishes in-flight ones, stops publishing.
  void Shutdown();

  struct Impl;

 private:
  explicit ControllerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kreplay::server
