#include "services/bus/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include "services/bus/rdkafka_util.h"
#include "services/bus/topics.h"

namespace kreplay::bus {

StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(
    int brokers, const std::vector<TopicSpec>& topics) {
  if (brokers < 1 || brokers > 16) {
    return InvalidArgument("embedded broker: brokers=" + std::to_string(brokers) +
                           ": must be in [1, 16]");
  }
  // The mock cluster needs a handle to run on; a producer handle with no
  // bootstrap servers never connects anywhere itself.
  internal::UniqueConf conf(rd_kafka_conf_new());
  // Silences the "no bootstrap.servers" notice: this handle only hosts the cluster.
  rd_kafka_conf_set(conf.get(), "log_level", "4", nullptr, 0);
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueHandle rk,
                           internal::NewHandle(RD_KAFKA_PRODUCER, std::move(conf),
                                               "embedded broker"));
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk.get(), brokers);
  if (cluster == nullptr) return Internal("embedded broker: rd_kafka_mock_cluster_new failed");
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker(rk.release(), cluster, brokers));
  for (size_t i = 0; i < topics.size(); ++i) {
    Status st = broker->CreateTopic(topics[i]);
    if (!st.ok()) return st.WithContext("embedded broker: topics[" + std::to_string(i) + "]");
  }
  return broker;
}

EmbeddedBroker::EmbeddedBroker(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster, int brokers)
    : rk_(rk),
      cluster_(cluster),
      brokers_(brokers),
      bootstrap_servers_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

EmbeddedBroker::~EmbeddedBroker() {
  // Order matters: the cluster runs on rk_'s resources.
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

Status EmbeddedBroker::CreateTopic(const TopicSpec& spec) {
  KREPLAY_RETURN_IF_ERROR(ValidateTopicName(spec.name, "embedded broker: topic.name"));
  if (spec.partitions < 1 || spec.partitions > 10000) {
    return InvalidArgument("embedded broker: topic '" + spec.name + "': partitions=" +
                           std::to_string(spec.partitions) + ": must be in [1, 10000]");
  }
  int replication = std::min(brokers_, 3);
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, spec.name.c_str(), spec.partitions, replication);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::KafkaError(err, "embedded broker: creating topic '" + spec.name + "'");
  }
  return OkStatus();
}

}  // namespace kreplay::bus
