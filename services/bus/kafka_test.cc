// Unit tests for the parts of kreplay::bus that need no broker.
#include <gtest/gtest.h>

#include "services/bus/group_consumer.h"
#include "services/bus/kafka.h"
#include "services/bus/producer.h"
#include "services/bus/topics.h"

namespace kreplay::bus {
namespace {

TEST(ParseKafkaProperty, SplitsAtFirstEquals) {
  auto kv = ParseKafkaProperty("sasl.jaas = a=b c");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->first, "sasl.jaas");
  EXPECT_EQ(kv->second, " a=b c");
}

TEST(ParseKafkaProperty, EmptyValueAllowed) {
  auto kv = ParseKafkaProperty("client.rack=");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "client.rack");
  EXPECT_EQ(kv->second, "");
}

TEST(ParseKafkaProperty, ErrorsNameTheSource) {
  auto missing = ParseKafkaProperty("linger.ms", "-X[3]");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("-X[3]"), std::string::npos);
  EXPECT_NE(missing.status().message().find("linger.ms"), std::string::npos);
  auto empty_key = ParseKafkaProperty("  =5");
  EXPECT_FALSE(empty_key.ok());
}

TEST(AddKafkaProperties, AllOrNothing) {
  KafkaConfig config;
  Status st = AddKafkaProperties({"a=1", "b"}, "spec.yaml:7: kafka", &config);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("spec.yaml:7: kafka[1]"), std::string::npos) << st.message();
  EXPECT_TRUE(config.properties.empty());
  ASSERT_TRUE(AddKafkaProperties({"a=1", "b=2"}, "-X", &config).ok());
  ASSERT_EQ(config.properties.size(), 2u);
  EXPECT_EQ(config.properties[1], (std::pair<std::string, std::string>("b", "2")));
}

TEST(Topics, DefaultAndPrefixed) {
  auto plain = KreplayTopics("");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->work, "kreplay.work");
  EXPECT_EQ(plain->traces, "kreplay.traces");
  auto prefixed = KreplayTopics("ci-42.");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->work, "ci-42.kreplay.work");
  EXPECT_EQ(prefixed->traces, "ci-42.kreplay.traces");
}

TEST(Topics, RejectsIllegalNames) {
  auto bad = KreplayTopics("my study/", "spec.yaml:3: bus.prefix");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("spec.yaml:3: bus.prefix"), std::string::npos);
  EXPECT_FALSE(ValidateTopicName(std::string(250, 'a'), "t").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'a'), "t").ok());
  EXPECT_FALSE(ValidateTopicName("..", "t").ok());
  EXPECT_FALSE(ValidateTopicName("", "t").ok());
}

TEST(GroupConsumerCreate, RejectsShortSessionTimeout) {
  KafkaConfig config{"127.0.0.1:1", {}, ""};
  GroupConsumerOptions options;
  options.group_id = "g";
  options.session_timeout_ms = 2999;
  auto c = GroupConsumer::Create(config, options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("session_timeout_ms"), std::string::npos);
  // The pass-through property is checked as well, since it is applied last.
  options.session_timeout_ms = 6000;
  config.properties = {{"session.timeout.ms", "1000"}};
  auto c2 = GroupConsumer::Create(config, options);
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.status().message().find("session.timeout.ms"), std::string::npos);
}

TEST(GroupConsumerCreate, RequiresGroupId) {
  auto c = GroupConsumer::Create(KafkaConfig{"127.0.0.1:1", {}, ""}, GroupConsumerOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("group_id"), std::string::npos);
}

TEST(ProducerCreate, UnknownPropertyNamesTheKey) {
  KafkaConfig config{"127.0.0.1:1", {{"no.such.property", "1"}}, ""};
  auto p = Producer::Create(config);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("no.such.property"), std::string::npos);
}

TEST(ProducerCreate, RequiresBootstrapServers) {
  auto p = Producer::Create(KafkaConfig{});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("bootstrap_servers"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::bus
