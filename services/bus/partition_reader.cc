#include "services/bus/partition_reader.h"

#include <librdkafka/rdkafka.h>

#include "services/bus/rdkafka_util.h"

namespace kreplay::bus {
namespace {

std::string Where(const std::string& topic, int32_t partition) {
  return "partition reader: topic '" + topic + "' partition " + std::to_string(partition);
}

// Incremental (un)assign returns an error object, not a code.
Status FromError(rd_kafka_error_t* error, const std::string& ctx) {
  if (error == nullptr) return OkStatus();
  Status st = internal::KafkaError(rd_kafka_error_code(error),
                                   ctx + ": " + rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return st;
}

}  // namespace

StatusOr<std::unique_ptr<PartitionReader>> PartitionReader::Create(const KafkaConfig& config) {
  const internal::Properties defaults = {
      // librdkafka 2.0.2 refuses rd_kafka_(incremental_)assign without a
      // group.id (_UNKNOWN_GROUP). The reader never subscribes nor commits, so
      // the group is never joined and the id may be shared by all readers.
      {"group.id", "kreplay.partition-reader"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // Lost data must surface (DataLoss), never be skipped silently.
      {"auto.offset.reset", "error"},
      // librdkafka 2.0.2 with the default (100 000) stalls ~1 s at a time on
      // the mock cluster; the byte bound (queued.max.messages.kbytes) still
      // limits memory.
      {"queued.min.messages", "1000000"},
      {"enable.partition.eof", "false"},
      // The 2.0.2 mock holds an empty Fetch for the full wait and is not woken
      // by a Produce, so the default 500 ms becomes end-to-end latency (bus_bench
      // pipelined 512 KiB: 91 MB/s at 500 ms, ~600 MB/s at 100 ms).
      {"fetch.wait.max.ms", "100"},
  };
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueConf conf,
                           internal::BuildConf(config, defaults, "partition reader"));
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueHandle rk,
                           internal::NewHandle(RD_KAFKA_CONSUMER, std::move(conf),
                                               "partition reader"));
  // Route fetched messages and errors to rd_kafka_consumer_poll.
  rd_kafka_poll_set_consumer(rk.get());
  return std::unique_ptr<PartitionReader>(new PartitionReader(rk.release()));
}

PartitionReader::~PartitionReader() {
  if (!assigned_.empty()) {
    rd_kafka_error_t* error = rd_kafka_incremental_unassign(
        rk_, internal::ToPartitionList({assigned_.begin(), assigned_.end()}).get());
    if (error != nullptr) rd_kafka_error_destroy(error);
  }
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

Status PartitionReader::Assign(const std::string& topic, int32_t partition, int64_t offset) {
  std::string ctx = Where(topic, partition);
  if (partition < 0) return InvalidArgument(ctx + ": partition must be >= 0");
  if (offset < kOffsetBeginning) {
    return InvalidArgument(ctx + ": offset " + std::to_string(offset) +
                           ": must be >= 0, kOffsetBeginning or kOffsetEnd");
  }
  TopicPartition tp{topic, partition};
  if (assigned_.count(tp) != 0) KREPLAY_RETURN_IF_ERROR(Unassign(topic, partition));
  internal::UniquePartitionList list = internal::ToPartitionList({tp});
  list->elems[0].offset = offset;
  KREPLAY_RETURN_IF_ERROR(FromError(rd_kafka_incremental_assign(rk_, list.get()),
                                    ctx + ": assign at offset " + std::to_string(offset)));
  assigned_.insert(tp);
  return OkStatus();
}

Status PartitionReader::Unassign(const std::string& topic, int32_t partition) {
  TopicPartition tp{topic, partition};
  std::string ctx = Where(topic, partition);
  if (assigned_.count(tp) == 0) return NotFound(ctx + ": not assigned");
  KREPLAY_RETURN_IF_ERROR(
      FromError(rd_kafka_incremental_unassign(rk_, internal::ToPartitionList({tp}).get()),
                ctx + ": unassign"));
  assigned_.erase(tp);
  return OkStatus();
}

StatusOr<std::optional<Message>> PartitionReader::Poll(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
  if (msg == nullptr) return std::optional<Message>();
  StatusOr<std::optional<Message>> result =
      msg->err == RD_KAFKA_RESP_ERR_NO_ERROR
          ? StatusOr<std::optional<Message>>(std::optional<Message>(internal::ToMessage(msg)))
          : StatusOr<std::optional<Message>>(internal::ConsumerError(msg, "partition reader"));
  rd_kafka_message_destroy(msg);
  return result;
}

StatusOr<Watermarks> PartitionReader::QueryWatermarks(const std::string& topic, int32_t partition,
                                                      std::chrono::milliseconds timeout) {
  Watermarks w;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk_, topic.c_str(), partition, &w.low, &w.high, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::KafkaError(err, Where(topic, partition) + ": watermarks");
  }
  return w;
}

}  // namespace kreplay::bus
