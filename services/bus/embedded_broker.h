// An in-process Kafka cluster: librdkafka's mock cluster (librdkafka 2.0.2).
//
// For tests and single-host runs. Limits that matter (measured, see
// /work/shared/PLATFORM.md): brokers listen on random 127.0.0.1 ports (hand
// bootstrap_servers() to other processes by flag or file); auto-created topics
// always get 4 partitions, so create topics here with explicit counts; each
// partition keeps only its newest ~5 MiB (or 100 000 message sets) and drops
// older data silently, so a lagging reader must detect the loss (see
// PartitionReader); state lives in memory and dies with the process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "services/bus/kafka.h"
#include "services/core/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace kreplay::bus {

// Thread-safety: all methods may be called from any thread. Clients of the
// cluster must be destroyed before it (they would otherwise retry forever
// against closed ports until their own destruction).
class EmbeddedBroker {
 public:
  // Starts `brokers` (1..16) mock brokers and creates `topics`. Replication
  // factor is min(brokers, 3).
  static StatusOr<std::unique_ptr<EmbeddedBroker>> Start(int brokers,
                                                         const std::vector<TopicSpec>& topics);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:port,..." for KafkaConfig::bootstrap_servers.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int broker_count() const { return brokers_; }

  // Creates a topic with exactly spec.partitions partitions. AlreadyExists if
  // the cluster has it (including a topic auto-created by a client earlier).
  Status CreateTopic(const TopicSpec& spec);

 private:
  EmbeddedBroker(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster, int brokers);

  rd_kafka_t* rk_;                    // owned; outlives cluster_
  rd_kafka_mock_cluster_t* cluster_;  // owned
  int brokers_;
  std::string bootstrap_servers_;
};

}  // namespace kreplay::bus
