#include "services/bus/producer.h"

#include <librdkafka/rdkafka.h>

#include <future>

#include "services/bus/rdkafka_util.h"

namespace kreplay::bus {
namespace {

constexpr int kPollIntervalMs = 100;  // idle poll; a queue yield cuts it short on stop

// dr_msg_cb: runs inside rd_kafka_poll, i.e. on the poll thread. The message's
// _private is the heap DeliveryCallback handed over by Produce (or null).
void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* /*opaque*/) {
  std::unique_ptr<DeliveryCallback> cb(static_cast<DeliveryCallback*>(msg->_private));
  if (!cb || !*cb) return;
  DeliveryReport report;
  report.topic = rd_kafka_topic_name(msg->rkt);
  report.partition = msg->partition;
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    report.offset = msg->offset;
  } else {
    report.status = internal::KafkaError(
        msg->err, "producer: delivery to topic '" + report.topic + "' partition " +
                      std::to_string(msg->partition));
  }
  (*cb)(report);
}

}  // namespace

StatusOr<std::unique_ptr<Producer>> Producer::Create(const KafkaConfig& config,
                                                     const ProducerOptions& options) {
  if (options.delivery_timeout.count() < 1) {
    return InvalidArgument("producer: delivery_timeout: must be positive");
  }
  internal::Properties defaults = {
      {"enable.idempotence", "true"},
      {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
  };
  if (options.lz4) defaults.emplace_back("compression.type", "lz4");
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueConf conf,
                           internal::BuildConf(config, defaults, "producer"));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueHandle rk,
                           internal::NewHandle(RD_KAFKA_PRODUCER, std::move(conf), "producer"));
  return std::unique_ptr<Producer>(new Producer(rk.release(), options));
}

Producer::Producer(rd_kafka_t* rk, const ProducerOptions& options)
    : rk_(rk), options_(options), poll_thread_([this] { PollLoop(); }) {}

Producer::~Producer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  // Wake the poll thread now instead of after its idle poll.
  rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(rk_);
  rd_kafka_queue_yield(main_queue);
  rd_kafka_queue_destroy(main_queue);
  poll_thread_.join();
  for (auto& [name, rkt] : warm_topics_) rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk_);
}

void Producer::PollLoop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    rd_kafka_poll(rk_, kPollIntervalMs);
    progress_cv_.notify_all();
  }
  // Shutdown, still on this thread so every callback runs here: deliver what
  // can be delivered in time, then cancel the rest (their callbacks see
  // Cancelled) instead of dropping callbacks silently in rd_kafka_destroy.
  rd_kafka_flush(rk_, static_cast<int>(options_.close_timeout.count()));
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int i = 0; i < 20 && rd_kafka_outq_len(rk_) > 0; ++i) rd_kafka_poll(rk_, 50);
  progress_cv_.notify_all();
}

bool Producer::OnPollThread() const { return std::this_thread::get_id() == poll_thread_.get_id(); }

Status Producer::Produce(const std::string& topic, int32_t partition, std::string_view key,
                         std::string_view value, const Headers& headers,
                         DeliveryCallback on_delivery) {
  if (partition < -1) {
    return InvalidArgument("producer: topic '" + topic + "': partition " +
                           std::to_string(partition) + ": must be >= 0 or -1 (by key)");
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, val] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), val.data(),
                          static_cast<ssize_t>(val.size()));
    }
  }
  auto cb = on_delivery ? std::make_unique<DeliveryCallback>(std::move(on_delivery)) : nullptr;
  // RD_KAFKA_MSG_F_COPY: librdkafka copies key and value before returning, so
  // the const_casts never lead to writes.
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(cb.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);  // still ours on failure
    std::string ctx = "producer: topic '" + topic + "' partition " + std::to_string(partition);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, reason, sizeof(reason));
      // A fatal idempotence error: this producer can never send again.
      return Internal(ctx + ": producer is in a fatal state (" + rd_kafka_err2name(fatal) +
                      "): " + reason + "; recreate it");
    }
    return internal::KafkaError(err, ctx);
  }
  (void)cb.release();  // now owned by the message; freed in OnDelivery
  return OkStatus();
}

StatusOr<DeliveryReport> Producer::ProduceSync(const std::string& topic, int32_t partition,
                                               std::string_view key, std::string_view value,
                                               const Headers& headers) {
  if (OnPollThread()) {
    return FailedPrecondition("producer: ProduceSync called from a delivery callback");
  }
  // Shared, so a late callback after a timeout still has somewhere to write.
  auto promise = std::make_shared<std::promise<DeliveryReport>>();
  std::future<DeliveryReport> future = promise->get_future();
  KREPLAY_RETURN_IF_ERROR(Produce(topic, partition, key, value, headers,
                                  [promise](const DeliveryReport& r) { promise->set_value(r); }));
  // librdkafka itself fails the record after message.timeout.ms; the margin
  // covers the report's trip through the poll thread.
  if (future.wait_for(options_.delivery_timeout + std::chrono::seconds(5)) !=
      std::future_status::ready) {
    return DeadlineExceeded("producer: topic '" + topic + "': no delivery report in time");
  }
  DeliveryReport report = future.get();
  if (!report.status.ok()) return report.status;
  return report;
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  if (OnPollThread()) {
    return FailedPrecondition("producer: Flush called from a delivery callback");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (rd_kafka_outq_len(rk_) > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceeded("producer: flush: " + std::to_string(rd_kafka_outq_len(rk_)) +
                              " records still undelivered after " +
                              std::to_string(timeout.count()) + " ms");
    }
    // Bounded wait: outq_len changes without our mutex, so re-check often
    // rather than rely on a notification racing the predicate.
    progress_cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
  return OkStatus();
}

Status Producer::WarmUp(const std::string& topic, std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (warm_topics_.count(topic) == 0) {
      // Keeping a handle keeps the topic's metadata cached in librdkafka.
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
      if (rkt == nullptr) {
        return internal::KafkaError(rd_kafka_last_error(),
                                    "producer: warm-up of topic '" + topic + "'");
      }
      warm_topics_.emplace(topic, rkt);
    }
  }
  auto count = internal::TopicPartitionCount(rk_, topic, static_cast<int>(timeout.count()),
                                             "producer: warm-up");
  return count.status();
}

StatusOr<int> Producer::PartitionCount(const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  return internal::TopicPartitionCount(rk_, topic, static_cast<int>(timeout.count()), "producer");
}

int Producer::OutstandingCount() const { return rd_kafka_outq_len(rk_); }

}  // namespace kreplay::bus
