#include "services/bus/topics.h"

namespace kreplay::bus {

Status ValidateTopicName(std::string_view name, std::string_view field) {
  // Same limits as Kafka's Topic.validate (clients/.../internals/Topic.java).
  constexpr size_t kMaxLength = 249;
  std::string prefix = std::string(field) + ": topic name '" + std::string(name) + "'";
  if (name.empty()) return InvalidArgument(std::string(field) + ": topic name is empty");
  if (name.size() > kMaxLength) {
    return InvalidArgument(prefix + " is longer than 249 characters");
  }
  if (name == "." || name == "..") return InvalidArgument(prefix + " is not allowed");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument(prefix + " contains '" + std::string(1, c) +
                             "'; allowed are [a-zA-Z0-9._-]");
    }
  }
  return OkStatus();
}

StatusOr<TopicNames> KreplayTopics(std::string_view prefix, std::string_view field) {
  TopicNames names{std::string(prefix) + std::string(kWorkTopic),
                   std::string(prefix) + std::string(kTracesTopic)};
  KREPLAY_RETURN_IF_ERROR(ValidateTopicName(names.work, field));
  KREPLAY_RETURN_IF_ERROR(ValidateTopicName(names.traces, field));
  return names;
}

}  // namespace kreplay::bus
