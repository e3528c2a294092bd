// kreplay's topic names. A deployment may prefix them (several studies or test
// runs sharing one cluster); the prefix is prepended verbatim, so include the
// separator yourself: prefix "ci42." gives "ci42.kreplay.work".
#pragma once

#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::bus {

inline constexpr std::string_view kWorkTopic = "kreplay.work";      // controller -> workers
inline constexpr std::string_view kTracesTopic = "kreplay.traces";  // controller -> workers (trace chunks)

struct TopicNames {
  std::string work;
  std::string traces;
};

// Kafka's rule: 1..249 characters from [a-zA-Z0-9._-]. `field` names the
// setting in the error message.
Status ValidateTopicName(std::string_view name, std::string_view field);

// The kreplay topics under `prefix`; InvalidArgument if a result is not a legal
// topic name (the error names `field`, e.g. "study.yaml:3: bus.topic_prefix").
StatusOr<TopicNames> KreplayTopics(std::string_view prefix, std::string_view field = "topic_prefix");

}  // namespace kreplay::bus
