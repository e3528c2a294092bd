// The single-host cluster behind `kreplay run` (without --local): the
// embedded broker as a child process (unless --bootstrap-servers names a
// cluster), the controller in this process, and N worker processes, all on
// 127.0.0.1. Children are `kreplay broker` / `kreplay worker` started from
// this executable (subprocess.h) with their logs in `run_dir`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controller/cli/subprocess.h"
#include "services/bus/kafka.h"
#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::server {
class ControllerServer;
}

namespace kreplay::cli {

// The Kafka settings of --bootstrap-servers and -X key=value, as every role
// reads them.
StatusOr<bus::KafkaConfig> KafkaFrom(const std::string& bootstrap, const std::vector<std::string>& props);

struct LocalClusterOptions {
  std::string run_dir;                   // child logs and the broker's bootstrap file
  std::string bootstrap;                 // an existing Kafka cluster; empty: start the embedded broker
  std::vector<std::string> kafka_props;  // -X key=value, for the controller and every worker
  std::string topic_prefix;
  std::string data_dir, db;              // the controller's (ledger default <data_dir>/kreplay.db)
  int workers = 2;
  int threads = 1;                       // per worker
  const family::Catalog* catalog = nullptr;  // REQUIRED: the in-process controller's families and models
};

// Owns the broker, the controller and the workers; stops them when it goes
// away. Not thread-safe.
class LocalCluster {
 public:
  // Starts the broker and waits (up to 20 s) for its bootstrap list, then the
  // controller, then the workers. On failure, whatever started is stopped.
  static StatusOr<std::unique_ptr<LocalCluster>> Start(const LocalClusterOptions& options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  // The controller's gRPC address, "127.0.0.1:port".
  std::string controller_address() const;

  // Stops the workers, then the controller, then the broker. Idempotent.
  void Stop();

 private:
  LocalCluster() = default;
  std::string bootstrap_;
  Subprocess broker_;
  std::unique_ptr<server::ControllerServer> controller_;
  std::vector<Subprocess> workers_;
};

}  // namespace kreplay::cli
