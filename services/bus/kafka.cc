#include "services/bus/kafka.h"

#include "services/core/strings.h"

namespace kreplay::bus {

StatusOr<std::pair<std::string, std::string>> ParseKafkaProperty(std::string_view text,
                                                                  std::string_view where) {
  std::string prefix = where.empty() ? std::string() : std::string(where) + ": ";
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return InvalidArgument(prefix + "kafka property '" + std::string(text) +
                           "': expected key=value");
  }
  std::string_view key = Trim(text.substr(0, eq));
  if (key.empty()) {
    return InvalidArgument(prefix + "kafka property '" + std::string(text) +
                           "': empty key before '='");
  }
  // Values are passed through untrimmed: librdkafka values may legitimately
  // carry spaces (e.g. sasl.jaas style strings).
  return std::make_pair(std::string(key), std::string(text.substr(eq + 1)));
}

Status AddKafkaProperties(const std::vector<std::string>& texts, std::string_view where,
                          KafkaConfig* config) {
  std::vector<std::pair<std::string, std::string>> parsed;
  parsed.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string at = std::string(where) + "[" + std::to_string(i) + "]";
    KREPLAY_ASSIGN_OR_RETURN(auto kv, ParseKafkaProperty(texts[i], at));
    parsed.push_back(std::move(kv));
  }
  config->properties.insert(config->properties.end(), parsed.begin(), parsed.end());
  return OkStatus();
}

}  // namespace kreplay::bus
