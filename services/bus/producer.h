// An idempotent Kafka producer that serves its own delivery reports.
//
// Idempotence (enable.idempotence=true) gives per-partition ordering without
// duplicates across librdkafka's internal retries. A producer owns one poll
// thread that runs every delivery callback; the destructor flushes (bounded by
// ProducerOptions::close_timeout), cancels what is still undelivered (those
// callbacks get a Cancelled status, still on the poll thread) and joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "services/bus/kafka.h"
#include "services/core/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;

namespace kreplay::bus {

struct ProducerOptions {
  bool lz4 = false;  // compression.type=lz4 (halves loopback throughput, saves bytes)
  std::chrono::milliseconds close_timeout{5000};  // destructor's flush bound
  // Upper bound on one message's time in librdkafka (message.timeout.ms);
  // a delivery that takes longer reports DeadlineExceeded.
  std::chrono::milliseconds delivery_timeout{30000};
};

using DeliveryCallback = std::function<void(const DeliveryReport&)>;

// Thread-safety: all public methods may be called concurrently from any thread,
// except Flush and ProduceSync, which must not be called from inside a
// delivery callback (they would wait on the thread that runs them; they return
// FailedPrecondition instead).
class Producer {
 public:
  static StatusOr<std::unique_ptr<Producer>> Create(const KafkaConfig& config,
                                                    const ProducerOptions& options = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues one record (bytes are copied before return). partition -1 picks
  // the partition by hashing the key (librdkafka's consistent_random).
  // `on_delivery` (may be empty) runs exactly once on the poll thread, after
  // the broker acknowledged the record or it failed. An error returned here
  // means the record was not enqueued and the callback will not run;
  // Unavailable means the local queue is full: back off (Flush) and retry.
  Status Produce(const std::string& topic, int32_t partition, std::string_view key,
                 std::string_view value, const Headers& headers, DeliveryCallback on_delivery);

  // Produce and wait for the delivery report (at most options.delivery_timeout
  // plus a margin). The report's status is returned as the error if it failed.
  StatusOr<DeliveryReport> ProduceSync(const std::string& topic, int32_t partition,
                                       std::string_view key, std::string_view value,
                                       const Headers& headers = {});

  // Waits until every enqueued record has been delivered and its callback has
  // returned. DeadlineExceeded if `timeout` passes first (nothing is dropped).
  Status Flush(std::chrono::milliseconds timeout);

  // Fetches and caches metadata for `topic`, so its first Produce does not
  // wait for a metadata round (~0.9 s on the mock cluster otherwise).
  Status WarmUp(const std::string& topic, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Partition count from the cluster's metadata (NotFound if unknown).
  StatusOr<int> PartitionCount(const std::string& topic,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Records enqueued but not yet reported (includes callbacks not yet run).
  int OutstandingCount() const;

 private:
  Producer(rd_kafka_t* rk, const ProducerOptions& options);
  void PollLoop();
  bool OnPollThread() const;

  rd_kafka_t* rk_;  // owned; destroyed after the poll thread is joined
  ProducerOptions options_;

  std::mutex mu_;
  std::condition_variable progress_cv_;  // notified after each poll round
  bool stopping_ = false;                // guarded by mu_
  std::map<std::string, rd_kafka_topic_t*> warm_topics_;  // guarded by mu_; owned handles

  std::thread poll_thread_;  // last member: started after everything above
};

}  // namespace kreplay::bus
