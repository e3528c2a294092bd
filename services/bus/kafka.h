// Kafka building blocks shared by the bus classes: client configuration and the
// value types that cross the bus API (messages, delivery reports, topic specs).
//
// The bus moves opaque bytes: nothing here knows kreplay's protos. The classes
// live in their own headers:
//   embedded_broker.h  in-process mock cluster (tests, single-host runs)
//   producer.h         idempotent producer with its own poll thread
//   partition_reader.h explicitly assigned partitions, loss surfaces as DataLoss
//   group_consumer.h   consumer-group member with pause/resume and stored offsets
//   topics.h           kreplay's topic names
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "services/core/status.h"

namespace kreplay::bus {

// Record headers in order; Kafka allows repeated keys, so this is not a map.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Settings every client needs. Plain value; copy freely.
struct KafkaConfig {
  std::string bootstrap_servers;  // "host:port[,host:port...]"; required
  // librdkafka properties passed through verbatim (the "-X key=value" flags).
  // Applied after every default the bus sets, so the user has the last word.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string client_id;  // empty: librdkafka's default ("rdkafka")
};

// Parses "key=value" (the first '=' splits; the value may contain '=' and may
// be empty; surrounding whitespace of the key is trimmed). `where` names the
// source in the error, e.g. "-X[2]" or "study.yaml:14: kafka.properties[0]".
StatusOr<std::pair<std::string, std::string>> ParseKafkaProperty(std::string_view text,
                                                                  std::string_view where = "");

// Parses each entry with ParseKafkaProperty and appends to config->properties.
// On error nothing is appended. `where` prefixes each entry's "[i]" index.
Status AddKafkaProperties(const std::vector<std::string>& texts, std::string_view where,
                          KafkaConfig* config);

// A topic and its partition count (for EmbeddedBroker::CreateTopic).
struct TopicSpec {
  std::string name;
  int partitions = 1;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// One consumed record. Owns copies of its bytes (independent of librdkafka).
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  Headers headers;
};

// Outcome of one produce. On error `offset` is -1 and `status` says why.
struct DeliveryReport {
  Status status;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

}  // namespace kreplay::bus
