// Internal to kreplay::bus: glue between librdkafka's C API and Status.
// Not part of the public API (no other module includes it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "services/bus/kafka.h"
#include "services/core/status.h"

namespace kreplay::bus::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using UniqueConf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using UniqueHandle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using UniquePartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// Builds a conf: bootstrap.servers and client.id from `config`, then
// `defaults`, then config.properties (user last). `who` prefixes errors
// ("producer", "group consumer 'g'").
StatusOr<UniqueConf> BuildConf(const KafkaConfig& config, const Properties& defaults,
                               std::string_view who);

// rd_kafka_new; takes ownership of `conf` (also on failure).
StatusOr<UniqueHandle> NewHandle(rd_kafka_type_t type, UniqueConf conf, std::string_view who);

// The Status code that best describes a librdkafka error.
StatusCode CodeFor(rd_kafka_resp_err_t err);
// "context: Local: Timed out (_TIMED_OUT)" with the code from CodeFor.
Status KafkaError(rd_kafka_resp_err_t err, std::string_view context);

// The last value of `key` in `props`, or nullptr.
const std::string* FindProperty(const Properties& props, std::string_view key);

// Copies a consumed record (REQUIRES: msg->err == 0).
Message ToMessage(const rd_kafka_message_t* msg);

// Status for a consumer error event. Offset-out-of-range and auto-offset-reset
// at a real offset map to DataLoss, naming topic, partition and the offset
// asked for; auto-offset-reset without any offset (nothing committed) to
// FailedPrecondition; others to their CodeFor code (Unavailable if transient).
Status ConsumerError(const rd_kafka_message_t* msg, std::string_view who);

// Converts our list to librdkafka's (offsets left unset).
UniquePartitionList ToPartitionList(const std::vector<TopicPartition>& tps);
std::vector<TopicPartition> FromPartitionList(const rd_kafka_topic_partition_list_t* list);

// Metadata for one topic: its partition count, or NotFound if the broker does
// not know it. May auto-create the topic where the cluster allows it.
StatusOr<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                                  std::string_view who);

}  // namespace kreplay::bus::internal
