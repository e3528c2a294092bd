// Reads explicitly assigned partitions from explicit offsets: no consumer
// group, no commits. For readers that keep their own position (the controller
// keeps offsets in its ledger) and must learn about lost data.
//
// auto.offset.reset=error: when the broker no longer has an offset (retention
// dropped it; the mock cluster keeps only ~5 MiB per partition), Poll returns
// DataLoss naming topic, partition and offset instead of librdkafka silently
// skipping to whatever is left. Observed with librdkafka 2.0.2's mock cluster:
// see README.md ("Retention loss").
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "services/bus/kafka.h"
#include "services/core/status.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace kreplay::bus {

// Symbolic start offsets for Assign (librdkafka's values).
inline constexpr int64_t kOffsetBeginning = -2;  // oldest retained record
inline constexpr int64_t kOffsetEnd = -1;        // next record to be written

struct Watermarks {
  int64_t low = 0;   // oldest retained offset
  int64_t high = 0;  // next offset to be written
};

// Thread-safety: not thread-safe; use from one thread at a time.
class PartitionReader {
 public:
  static StatusOr<std::unique_ptr<PartitionReader>> Create(const KafkaConfig& config);
  ~PartitionReader();
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  // Starts (or restarts, if already assigned) reading `partition` of `topic`
  // at `offset` (>= 0, or kOffsetBeginning / kOffsetEnd). Re-assigning is how
  // to continue after a DataLoss error, e.g. at QueryWatermarks().low.
  Status Assign(const std::string& topic, int32_t partition, int64_t offset);
  // Stops reading a partition; NotFound if it was not assigned.
  Status Unassign(const std::string& topic, int32_t partition);

  // The next record from any assigned partition, nullopt if none arrived
  // within `timeout`. Errors: DataLoss (offset no longer on the broker; that
  // partition stops until re-assigned), NotFound (unknown topic/partition),
  // Unavailable and others (transient; keep polling).
  StatusOr<std::optional<Message>> Poll(std::chrono::milliseconds timeout);

  // The broker's current low/high watermarks for a partition.
  StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  explicit PartitionReader(rd_kafka_t* rk) : rk_(rk) {}

  rd_kafka_t* rk_;  // owned
  std::set<TopicPartition> assigned_;
};

}  // namespace kreplay::bus
