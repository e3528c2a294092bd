#include "services/bus/rdkafka_util.h"

#include <string>

namespace kreplay::bus::internal {
namespace {

Status SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                   std::string_view who) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return InvalidArgument(std::string(who) + ": kafka property '" + key + "'='" + value +
                           "': " + errstr);
  }
  return OkStatus();
}

}  // namespace

StatusOr<UniqueConf> BuildConf(const KafkaConfig& config, const Properties& defaults,
                               std::string_view who) {
  UniqueConf conf(rd_kafka_conf_new());
  if (config.bootstrap_servers.empty() &&
      FindProperty(config.properties, "bootstrap.servers") == nullptr) {
    return InvalidArgument(std::string(who) + ": kafka.bootstrap_servers: must not be empty");
  }
  if (!config.bootstrap_servers.empty()) {
    KREPLAY_RETURN_IF_ERROR(
        SetProperty(conf.get(), "bootstrap.servers", config.bootstrap_servers, who));
  }
  if (!config.client_id.empty()) {
    KREPLAY_RETURN_IF_ERROR(SetProperty(conf.get(), "client.id", config.client_id, who));
  }
  for (const auto& [k, v] : defaults) KREPLAY_RETURN_IF_ERROR(SetProperty(conf.get(), k, v, who));
  for (const auto& [k, v] : config.properties) {
    KREPLAY_RETURN_IF_ERROR(SetProperty(conf.get(), k, v, who));
  }
  return conf;
}

StatusOr<UniqueHandle> NewHandle(rd_kafka_type_t type, UniqueConf conf, std::string_view who) {
  char errstr[512];
  // rd_kafka_new owns the conf only when it succeeds.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return InvalidArgument(std::string(who) + ": creating the kafka client failed: " + errstr);
  }
  (void)conf.release();
  return UniqueHandle(rk);
}

StatusCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return StatusCode::kOk;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return StatusCode::kDeadlineExceeded;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return StatusCode::kAlreadyExists;
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return StatusCode::kDataLoss;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__DESTROY:
      return StatusCode::kCancelled;
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
      return StatusCode::kFailedPrecondition;
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return StatusCode::kUnimplemented;
    default:
      return StatusCode::kUnavailable;
  }
}

Status KafkaError(rd_kafka_resp_err_t err, std::string_view context) {
  return Status(CodeFor(err), std::string(context) + ": " + rd_kafka_err2str(err) + " (" +
                                  rd_kafka_err2name(err) + ")");
}

const std::string* FindProperty(const Properties& props, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : props) {
    if (k == key) found = &v;
  }
  return found;
}

Message ToMessage(const rd_kafka_message_t* msg) {
  Message m;
  m.topic = rd_kafka_topic_name(msg->rkt);
  m.partition = msg->partition;
  m.offset = msg->offset;
  if (msg->key != nullptr) m.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload != nullptr) {
    m.value.assign(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_headers_t* hdrs = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      m.headers.emplace_back(name, value == nullptr
                                       ? std::string()
                                       : std::string(static_cast<const char*>(value), size));
    }
  }
  return m;
}

Status ConsumerError(const rd_kafka_message_t* msg, std::string_view who) {
  std::string where(who);
  if (msg->rkt != nullptr) {
    where += ": topic '" + std::string(rd_kafka_topic_name(msg->rkt)) + "' partition " +
             std::to_string(msg->partition) + " offset " + std::to_string(msg->offset);
  }
  std::string detail = rd_kafka_message_errstr(msg);
  std::string text = where + ": " + detail + " (" + rd_kafka_err2name(msg->err) + ")";
  StatusCode code = CodeFor(msg->err);
  if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && msg->offset < 0) {
    // auto.offset.reset=error and no position to start from (a group
    // partition never committed): nothing was lost.
    code = StatusCode::kFailedPrecondition;
    text += "; no start offset: commit one, or use another reset policy";
  } else if (code == StatusCode::kDataLoss) {
    text += "; the broker no longer has this offset (dropped by retention)";
  }
  return Status(code, text);
}

UniquePartitionList ToPartitionList(const std::vector<TopicPartition>& tps) {
  UniquePartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size())));
  for (const auto& tp : tps) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  return list;
}

std::vector<TopicPartition> FromPartitionList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  }
  return out;
}

StatusOr<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                                  std::string_view who) {
  std::string ctx = std::string(who) + ": metadata for topic '" + topic + "'";
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) return KafkaError(rd_kafka_last_error(), ctx);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(err, ctx);
  StatusOr<int> result = Internal(ctx + ": topic missing from the metadata response");
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = KafkaError(t.err, ctx);
    } else {
      result = t.partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

}  // namespace kreplay::bus::internal
