#include "services/bus/group_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "services/bus/rdkafka_util.h"
#include "services/core/strings.h"

namespace kreplay::bus {

struct GroupConsumerCallbacks {
  static void Rebalance(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<GroupConsumer*>(opaque)->OnRebalance(static_cast<int>(err), partitions);
  }
};

namespace {

constexpr int kMinSessionTimeoutMs = 3000;  // below this the mock never forms a group
constexpr int kMaxSessionTimeoutMs = 300000;
constexpr int kCommittedTimeoutMs = 10000;

Status CheckSessionTimeout(int64_t ms, const std::string& field) {
  if (ms < kMinSessionTimeoutMs || ms > kMaxSessionTimeoutMs) {
    return InvalidArgument(field + "=" + std::to_string(ms) + ": must be in [" +
                           std::to_string(kMinSessionTimeoutMs) + ", " +
                           std::to_string(kMaxSessionTimeoutMs) +
                           "] (below 3000 ms the group never forms and no error is reported)");
  }
  return OkStatus();
}

// Per-partition errors of pause/resume/offsets_store; the first one wins.
Status FirstPartitionError(const rd_kafka_topic_partition_list_t* list, const std::string& ctx) {
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::KafkaError(e.err, ctx + ": topic '" + e.topic + "' partition " +
                                             std::to_string(e.partition));
    }
  }
  return OkStatus();
}

const char* ResetPolicyName(OffsetReset reset) {
  switch (reset) {
    case OffsetReset::kEarliest:
      return "earliest";
    case OffsetReset::kLatest:
      return "latest";
    case OffsetReset::kError:
    case OffsetReset::kEarliestThenError:  // the "earliest" half is done in Poll
      return "error";
  }
  return "earliest";
}

}  // namespace

StatusOr<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(const KafkaConfig& config,
                                                               GroupConsumerOptions options) {
  if (options.group_id.empty()) {
    return InvalidArgument("group consumer: group_id: must not be empty");
  }
  std::string who = "group consumer '" + options.group_id + "'";
  KREPLAY_RETURN_IF_ERROR(CheckSessionTimeout(options.session_timeout_ms, who + ": session_timeout_ms"));
  int64_t session_ms = options.session_timeout_ms;
  if (const std::string* v = internal::FindProperty(config.properties, "session.timeout.ms")) {
    std::optional<int64_t> parsed = ParseInt(*v);
    if (!parsed) {
      return InvalidArgument(who + ": kafka property session.timeout.ms='" + *v +
                             "': not an integer");
    }
    KREPLAY_RETURN_IF_ERROR(CheckSessionTimeout(*parsed, who + ": kafka property session.timeout.ms"));
    session_ms = *parsed;
  }
  if (options.auto_commit_interval.count() < 1) {
    return InvalidArgument(who + ": auto_commit_interval: must be positive");
  }
  internal::Properties defaults = {
      {"group.id", options.group_id},
      {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
      // librdkafka wants heartbeats well inside the session; a third is Kafka's rule of thumb.
      {"heartbeat.interval.ms", std::to_string(session_ms / 3)},
      {"enable.auto.commit", "true"},
      {"enable.auto.offset.store", "false"},
      {"auto.commit.interval.ms", std::to_string(options.auto_commit_interval.count())},
      {"auto.offset.reset", ResetPolicyName(options.offset_reset)},
      {"queued.min.messages", "1000000"},  // see PartitionReader: the default stalls
      {"enable.partition.eof", "false"},
      // The 2.0.2 mock holds an empty Fetch for the full wait and is not woken
      // by a Produce, so the default 500 ms becomes end-to-end latency (bus_bench
      // pipelined 512 KiB: 91 MB/s at 500 ms, ~600 MB/s at 100 ms).
      {"fetch.wait.max.ms", "100"},
  };
  if (options.cooperative) defaults.emplace_back("partition.assignment.strategy", "cooperative-sticky");
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueConf conf, internal::BuildConf(config, defaults, who));

  std::unique_ptr<GroupConsumer> consumer(new GroupConsumer(nullptr, std::move(options)));
  rd_kafka_conf_set_opaque(conf.get(), consumer.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), &GroupConsumerCallbacks::Rebalance);
  KREPLAY_ASSIGN_OR_RETURN(internal::UniqueHandle rk,
                           internal::NewHandle(RD_KAFKA_CONSUMER, std::move(conf), who));
  rd_kafka_poll_set_consumer(rk.get());
  consumer->rk_ = rk.release();
  return consumer;
}

GroupConsumer::GroupConsumer(rd_kafka_t* rk, GroupConsumerOptions options)
    : rk_(rk), options_(std::move(options)), who_("group consumer '" + options_.group_id + "'") {}

GroupConsumer::~GroupConsumer() {
  if (rk_ == nullptr) return;
  (void)Close();
  rd_kafka_destroy(rk_);
}

Status GroupConsumer::Subscribe(const std::vector<std::string>& topics) {
  if (topics.empty()) return InvalidArgument(who_ + ": subscribe: no topics");
  internal::UniquePartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": subscribe");
  return OkStatus();
}

void GroupConsumer::OnRebalance(int err_code, void* opaque_list) {
  auto err = static_cast<rd_kafka_resp_err_t>(err_code);
  auto* partitions = static_cast<rd_kafka_topic_partition_list_t*>(opaque_list);
  const bool incremental = std::string_view(rd_kafka_rebalance_protocol(rk_)) == "COOPERATIVE";
  RebalanceEvent event;
  event.partitions = internal::FromPartitionList(partitions);
  std::sort(event.partitions.begin(), event.partitions.end());

  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // kEarliestThenError: partitions never committed start at the oldest
    // record (auto.offset.reset=error would stop them). Done here, before the
    // assign, because the fetcher that the reset error stops cannot be
    // restarted by a seek (librdkafka 2.0.2 answers _STATE).
    internal::UniquePartitionList start(rd_kafka_topic_partition_list_copy(partitions));
    if (options_.offset_reset == OffsetReset::kEarliestThenError && start->cnt > 0 &&
        rd_kafka_committed(rk_, start.get(), kCommittedTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < start->cnt; ++i) {
        auto& e = start->elems[i];
        if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset < 0) {
          e.offset = RD_KAFKA_OFFSET_BEGINNING;
        } else {
          e.offset = RD_KAFKA_OFFSET_INVALID;  // resume at the committed offset
        }
      }
    }
    // (If rd_kafka_committed failed, such partitions report FailedPrecondition
    // from Poll: nothing is skipped silently.)
    partitions = start.get();
    {
      // Held across assign+pause so a concurrent PauseAll either sees these
      // partitions in the assignment or has set paused_ before we read it.
      std::lock_guard<std::mutex> lock(mu_);
      if (incremental) {
        rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, partitions);
        if (e != nullptr) rd_kafka_error_destroy(e);  // surfaces again via Poll errors
      } else {
        rd_kafka_assign(rk_, partitions);
      }
      if (paused_) rd_kafka_pause_partitions(rk_, partitions);
    }
    event.kind = RebalanceEvent::Kind::kAssigned;
    if (options_.on_rebalance) options_.on_rebalance(event);
    return;
  }

  // Revoke (or an error: treat as losing everything, as librdkafka advises).
  event.kind = RebalanceEvent::Kind::kRevoked;
  event.lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk_);
  if (options_.on_rebalance) options_.on_rebalance(event);
  if (!event.lost) {
    // Hand over exactly what was stored, before another member starts there.
    (void)CommitSync();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (incremental) {
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, partitions);
    if (e != nullptr) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

StatusOr<std::optional<Message>> GroupConsumer::Poll(std::chrono::milliseconds timeout) {
  if (closed_) return FailedPrecondition(who_ + ": Poll after Close");
  rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
  if (msg == nullptr) return std::optional<Message>();
  StatusOr<std::optional<Message>> result =
      msg->err == RD_KAFKA_RESP_ERR_NO_ERROR
          ? StatusOr<std::optional<Message>>(std::optional<Message>(internal::ToMessage(msg)))
          : StatusOr<std::optional<Message>>(internal::ConsumerError(msg, who_));
  rd_kafka_message_destroy(msg);
  return result;
}

Status GroupConsumer::PauseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = true;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": pause");
  internal::UniquePartitionList list(raw);
  if (list->cnt == 0) return OkStatus();
  err = rd_kafka_pause_partitions(rk_, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": pause");
  return FirstPartitionError(list.get(), who_ + ": pause");
}

Status GroupConsumer::ResumeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = false;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": resume");
  internal::UniquePartitionList list(raw);
  if (list->cnt == 0) return OkStatus();
  err = rd_kafka_resume_partitions(rk_, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": resume");
  return FirstPartitionError(list.get(), who_ + ": resume");
}

bool GroupConsumer::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

Status GroupConsumer::StoreOffset(const std::string& topic, int32_t partition,
                                  int64_t next_offset) {
  std::string ctx = who_ + ": store offset " + std::to_string(next_offset) + " for topic '" +
                    topic + "' partition " + std::to_string(partition);
  if (partition < 0 || next_offset < 0) {
    return InvalidArgument(ctx + ": partition and offset must be >= 0");
  }
  internal::UniquePartitionList list = internal::ToPartitionList({{topic, partition}});
  list->elems[0].offset = next_offset;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_, list.get());
  // librdkafka refuses to store for a partition this member does not own
  // (_STATE, mapped to FailedPrecondition).
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::KafkaError(err, ctx);
  }
  return FirstPartitionError(list.get(), ctx);
}

Status GroupConsumer::CommitSync() {
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return OkStatus();
  return internal::KafkaError(err, who_ + ": commit");
}

StatusOr<std::vector<TopicPartition>> GroupConsumer::Assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": assignment");
  internal::UniquePartitionList list(raw);
  std::vector<TopicPartition> out = internal::FromPartitionList(list.get());
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<int64_t> GroupConsumer::Lag() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": assignment");
  internal::UniquePartitionList list(raw);
  err = rd_kafka_position(rk_, list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": position");
  int64_t lag = 0;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, tp.topic, tp.partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
      continue;  // no fetch yet: nothing known
    int64_t pos = tp.offset >= 0 ? tp.offset : std::max<int64_t>(low, 0);
    if (high > pos) lag += high - pos;
  }
  return lag;
}

Status GroupConsumer::Close() {
  if (closed_) return OkStatus();
  closed_ = true;
  // Runs the revoke callback (committing stored offsets) and sends LeaveGroup.
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::KafkaError(err, who_ + ": close");
  return OkStatus();
}

}  // namespace kreplay::bus
