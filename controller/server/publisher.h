// The part of the Kafka producer (bus::Producer) the controller publishes
// work items and trace chunks through, behind an interface so dispatch and
// trace streams can be tested against an in-memory twin (testing/fakes.h).
// The contracts are bus::Producer's: see services/bus/producer.h.
//
// Thread-safety: implementations must allow concurrent calls; `on_delivery`
// may run on another thread, and must not call Flush or ProduceSync.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "services/bus/producer.h"
#include "services/core/status.h"

namespace kreplay::server {

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Enqueues one record; `on_delivery` runs exactly once unless this fails.
  virtual Status Produce(const std::string& topic, int32_t partition, std::string_view key, std::string_view value,
                         const bus::Headers& headers, bus::DeliveryCallback on_delivery) = 0;
  // Produces and waits for the delivery report.
  virtual StatusOr<bus::DeliveryReport> ProduceSync(const std::string& topic, int32_t partition,
                                                    std::string_view key, std::string_view value,
                                                    const bus::Headers& headers) = 0;
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  // Fetches the topic's metadata ahead of its first record.
  virtual Status WarmUp(const std::string& topic) = 0;
};

// The real publisher: forwards to a bus::Producer it owns.
class BusPublisher final : public Publisher {
 public:
  explicit BusPublisher(std::unique_ptr<bus::Producer> producer) : producer_(std::move(producer)) {}

  Status Produce(const std::string& topic, int32_t partition, std::string_view key, std::string_view value,
                 const bus::Headers& headers, bus::DeliveryCallback on_delivery) override {
    return producer_->Produce(topic, partition, key, value, headers, std::move(on_delivery));
  }
  StatusOr<bus::DeliveryReport> ProduceSync(const std::string& topic, int32_t partition, std::string_view key,
                                            std::string_view value, const bus::Headers& headers) override {
    return producer_->ProduceSync(topic, partition, key, value, headers);
  }
  Status Flush(std::chrono::milliseconds timeout) override { return producer_->Flush(timeout); }
  Status WarmUp(const std::string& topic) override { return producer_->WarmUp(topic); }

 private:
  std::unique_ptr<bus::Producer> producer_;
};

}  // namespace kreplay::server
