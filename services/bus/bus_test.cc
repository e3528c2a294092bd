// Integration tests: every test starts librdkafka's mock cluster in-process
// and talks to it over loopback with the real clients.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "services/bus/embedded_broker.h"
#include "services/bus/group_consumer.h"
#include "services/bus/partition_reader.h"
#include "services/bus/producer.h"

namespace kreplay::bus {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

KafkaConfig ConfigFor(const EmbeddedBroker& broker) {
  KafkaConfig config;
  config.bootstrap_servers = broker.bootstrap_servers();
  config.client_id = "bus_test";
  return config;
}

std::unique_ptr<EmbeddedBroker> StartBroker(const std::vector<TopicSpec>& topics, int brokers = 1) {
  auto broker = EmbeddedBroker::Start(brokers, topics);
  KREPLAY_CHECK(broker.ok(), broker.status().ToString());
  return std::move(broker).value();
}

std::unique_ptr<Producer> MakeProducer(const EmbeddedBroker& broker) {
  auto producer = Producer::Create(ConfigFor(broker));
  KREPLAY_CHECK(producer.ok(), producer.status().ToString());
  return std::move(producer).value();
}

// Polls until `want` messages arrived or `deadline` passed; fails the test on
// an error status.
std::vector<Message> ReadN(PartitionReader& reader, size_t want, milliseconds deadline) {
  std::vector<Message> out;
  auto end = Clock::now() + deadline;
  while (out.size() < want && Clock::now() < end) {
    auto m = reader.Poll(milliseconds(100));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) break;
    if (m->has_value()) out.push_back(std::move(**m));
  }
  return out;
}

TEST(EmbeddedBroker, HonoursExplicitPartitionCounts) {
  auto broker = StartBroker({{"one", 1}, {"seven", 7}}, /*brokers=*/3);
  auto producer = MakeProducer(*broker);
  auto one = producer->PartitionCount("one");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, 1);
  auto seven = producer->PartitionCount("seven");
  ASSERT_TRUE(seven.ok()) << seven.status().ToString();
  EXPECT_EQ(*seven, 7);
  ASSERT_TRUE(broker->CreateTopic({"later", 2}).ok());
  auto later = producer->PartitionCount("later");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, 2);
  Status again = broker->CreateTopic({"seven", 3});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_EQ(broker->CreateTopic({"bad name", 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(broker->CreateTopic({"zero", 0}).code(), StatusCode::kInvalidArgument);
}

TEST(Bus, RoundTripWithHeaders) {
  auto broker = StartBroker({{"rt", 2}});
  auto producer = MakeProducer(*broker);
  const std::string value("bin\0ary\xff", 8);
  const Headers headers = {{"seq", "17"}, {"empty", ""}, {"seq", std::string("\0x", 2)}};
  auto report = producer->ProduceSync("rt", 1, "key-1", value, headers);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->topic, "rt");
  EXPECT_EQ(report->partition, 1);
  EXPECT_EQ(report->offset, 0);

  auto reader = PartitionReader::Create(ConfigFor(*broker));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  { Status st = (*reader)->Assign("rt", 1, 0); ASSERT_TRUE(st.ok()) << st.ToString(); }
  auto got = ReadN(**reader, 1, milliseconds(10000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "rt");
  EXPECT_EQ(got[0].partition, 1);
  EXPECT_EQ(got[0].offset, 0);
  EXPECT_EQ(got[0].key, "key-1");
  EXPECT_EQ(got[0].value, value);
  EXPECT_EQ(got[0].headers, headers);  // order and repeated keys preserved
}

TEST(Bus, ProduceSyncReturnsIncreasingOffsetsAndKeysHashStably) {
  auto broker = StartBroker({{"seq", 3}});
  auto producer = MakeProducer(*broker);
  for (int i = 0; i < 5; ++i) {
    auto r = producer->ProduceSync("seq", 2, "", std::to_string(i) + "v");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->partition, 2);
    EXPECT_EQ(r->offset, i);
  }
  // partition -1: the key decides, so one key always lands on one partition.
  std::set<int32_t> partitions;
  for (int i = 0; i < 6; ++i) {
    auto r = producer->ProduceSync("seq", -1, "same-key", "x");
    ASSERT_TRUE(r.ok());
    partitions.insert(r->partition);
  }
  EXPECT_EQ(partitions.size(), 1u);
  EXPECT_EQ(producer->Produce("seq", -2, "", "x", {}, nullptr).code(),
            StatusCode::kInvalidArgument);
}

TEST(Bus, WarmUpThenProduce) {
  auto broker = StartBroker({{"warm", 2}});
  auto producer = MakeProducer(*broker);
  ASSERT_TRUE(producer->WarmUp("warm").ok());
  auto r = producer->ProduceSync("warm", 0, "", "first");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->offset, 0);
}

TEST(Bus, DestructorReportsEveryRecord) {
  auto broker = StartBroker({{"d", 1}});
  std::atomic<int> ok_reports{0};
  std::atomic<int> reports{0};
  constexpr int kRecords = 200;
  {
    auto producer = MakeProducer(*broker);
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(producer
                      ->Produce("d", 0, "", std::to_string(i), {},
                                [&](const DeliveryReport& r) {
                                  reports++;
                                  if (r.status.ok()) ok_reports++;
                                })
                      .ok());
    }
  }  // destroyed without Flush: the destructor flushes
  EXPECT_EQ(reports.load(), kRecords);
  EXPECT_EQ(ok_reports.load(), kRecords);
}

TEST(PartitionReader, StartsAtTheGivenOffsets) {
  auto broker = StartBroker({{"r", 2}});
  auto producer = MakeProducer(*broker);
  for (int32_t p = 0; p < 2; ++p) {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(producer
                      ->Produce("r", p, "", "p" + std::to_string(p) + "-" + std::to_string(i), {},
                                nullptr)
                      .ok());
    }
  }
  ASSERT_TRUE(producer->Flush(milliseconds(10000)).ok());

  auto reader = PartitionReader::Create(ConfigFor(*broker));
  ASSERT_TRUE(reader.ok());
  { Status st = (*reader)->Assign("r", 0, 6); ASSERT_TRUE(st.ok()) << st.ToString(); }
  { Status st = (*reader)->Assign("r", 1, 8); ASSERT_TRUE(st.ok()) << st.ToString(); }
  // 4 from partition 0 (6..9) and 2 from partition 1 (8, 9); then nothing more.
  auto got = ReadN(**reader, 6, milliseconds(10000));
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const auto& m : got) {
    offsets[m.partition].push_back(m.offset);
    EXPECT_EQ(m.value, "p" + std::to_string(m.partition) + "-" + std::to_string(m.offset));
  }
  EXPECT_EQ(offsets[0], (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(offsets[1], (std::vector<int64_t>{8, 9}));
  auto extra = (*reader)->Poll(milliseconds(500));
  ASSERT_TRUE(extra.ok());
  EXPECT_FALSE(extra->has_value());

  // Re-assigning an assigned partition restarts it.
  { Status st = (*reader)->Assign("r", 1, 9); ASSERT_TRUE(st.ok()) << st.ToString(); }
  auto again = ReadN(**reader, 1, milliseconds(10000));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].partition, 1);
  EXPECT_EQ(again[0].offset, 9);
  EXPECT_EQ((*reader)->Unassign("r", 0).code(), StatusCode::kOk);
  EXPECT_EQ((*reader)->Unassign("r", 0).code(), StatusCode::kNotFound);
}

TEST(PartitionReader, RetentionLossIsDataLoss) {
  auto broker = StartBroker({{"big", 1}});
  auto producer = MakeProducer(*broker);
  // 12 MiB into one partition: well over the mock's 5 MiB per partition.
  const std::string value(96 * 1024, 'v');
  constexpr int kRecords = 128;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(producer->Produce("big", 0, std::to_string(i), value, {}, nullptr).ok());
  }
  ASSERT_TRUE(producer->Flush(milliseconds(20000)).ok());

  auto reader = PartitionReader::Create(ConfigFor(*broker));
  ASSERT_TRUE(reader.ok());
  auto marks = (*reader)->QueryWatermarks("big", 0);
  ASSERT_TRUE(marks.ok()) << marks.status().ToString();
  EXPECT_EQ(marks->high, kRecords);
  EXPECT_GT(marks->low, 0) << "the mock should have dropped the oldest records";
  // What is left is at most the 5 MiB limit (plus one message set of slack).
  EXPECT_LE((marks->high - marks->low) * static_cast<int64_t>(value.size()), 6 * 1024 * 1024);

  { Status st = (*reader)->Assign("big", 0, 0); ASSERT_TRUE(st.ok()) << st.ToString(); }
  Status loss;
  auto end = Clock::now() + milliseconds(10000);
  while (loss.ok() && Clock::now() < end) {
    auto m = (*reader)->Poll(milliseconds(100));
    if (!m.ok()) {
      loss = m.status();
    } else {
      ASSERT_FALSE(m->has_value()) << "got offset " << (*m)->offset << " instead of an error";
    }
  }
  EXPECT_EQ(loss.code(), StatusCode::kDataLoss) << loss.ToString();
  EXPECT_NE(loss.message().find("topic 'big' partition 0 offset 0"), std::string::npos)
      << loss.message();

  // Continuing at the low watermark reads what is left, in order.
  { Status st = (*reader)->Assign("big", 0, marks->low); ASSERT_TRUE(st.ok()) << st.ToString(); }
  auto rest = ReadN(**reader, static_cast<size_t>(marks->high - marks->low), milliseconds(20000));
  ASSERT_EQ(rest.size(), static_cast<size_t>(marks->high - marks->low));
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].offset, marks->low + static_cast<int64_t>(i));
    EXPECT_EQ(rest[i].key, std::to_string(rest[i].offset));
  }
}

// ---- Consumer groups ------------------------------------------------------

struct Member {
  std::vector<RebalanceEvent> events;  // written on the polling (test) thread
  std::vector<Message> received;
  // Last: destroyed first, because its destructor still calls the listener,
  // which writes to `events`.
  std::unique_ptr<GroupConsumer> consumer;
};

std::unique_ptr<Member> Join(const EmbeddedBroker& broker, const std::string& group,
                             const std::string& topic, bool pause_first = false) {
  auto member = std::make_unique<Member>();
  GroupConsumerOptions options;
  options.group_id = group;
  Member* raw = member.get();
  options.on_rebalance = [raw](const RebalanceEvent& e) { raw->events.push_back(e); };
  auto consumer = GroupConsumer::Create(ConfigFor(broker), options);
  KREPLAY_CHECK(consumer.ok(), consumer.status().ToString());
  member->consumer = std::move(consumer).value();
  if (pause_first) KREPLAY_CHECK(member->consumer->PauseAll().ok(), "pause");
  KREPLAY_CHECK(member->consumer->Subscribe({topic}).ok(), "subscribe");
  return member;
}

// Polls every member in turn (a group only rebalances while its members poll)
// until `done` holds or `deadline` passes.
template <typename Pred>
bool PollUntil(const std::vector<Member*>& members, milliseconds deadline, Pred done) {
  auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    for (Member* m : members) {
      auto msg = m->consumer->Poll(milliseconds(50));
      EXPECT_TRUE(msg.ok()) << msg.status().ToString();
      if (msg.ok() && msg->has_value()) m->received.push_back(std::move(**msg));
    }
    if (done()) return true;
  }
  return false;
}

std::vector<TopicPartition> AssignmentOf(const Member& m) {
  auto a = m.consumer->Assignment();
  KREPLAY_CHECK(a.ok(), a.status().ToString());
  return *a;
}

void ProduceEach(Producer& producer, const std::string& topic, int partitions, int per_partition) {
  for (int32_t p = 0; p < partitions; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      KREPLAY_CHECK(producer.Produce(topic, p, "", std::to_string(p) + ":" + std::to_string(i), {},
                                     nullptr)
                        .ok(),
                    "produce");
    }
  }
  KREPLAY_CHECK(producer.Flush(milliseconds(10000)).ok(), "flush");
}

TEST(GroupConsumer, MembersSplitPartitionsAndPauseHoldsAcrossRebalances) {
  constexpr int kPartitions = 4;
  constexpr int kPerPartition = 5;
  auto broker = StartBroker({{"g", kPartitions}});
  auto producer = MakeProducer(*broker);
  ProduceEach(*producer, "g", kPartitions, kPerPartition);

  // A is paused before it has any partition: its first assignment arrives by
  // rebalance and must be paused too.
  auto a = Join(*broker, "split", "g", /*pause_first=*/true);
  ASSERT_TRUE(PollUntil({a.get()}, milliseconds(15000),
                        [&] { return AssignmentOf(*a).size() == kPartitions; }));
  ASSERT_FALSE(a->events.empty());
  EXPECT_EQ(a->events.back().kind, RebalanceEvent::Kind::kAssigned);
  EXPECT_EQ(a->events.back().partitions.size(), static_cast<size_t>(kPartitions));
  PollUntil({a.get()}, milliseconds(1500), [] { return false; });
  EXPECT_TRUE(a->received.empty()) << "paused member received offset " << a->received[0].offset;

  // B joins: the group splits 2/2; A stays paused, B reads its share.
  auto b = Join(*broker, "split", "g");
  ASSERT_TRUE(PollUntil({a.get(), b.get()}, milliseconds(20000), [&] {
    return AssignmentOf(*a).size() == 2 && AssignmentOf(*b).size() == 2 &&
           b->received.size() == 2 * kPerPartition;
  })) << "a has " << AssignmentOf(*a).size() << ", b has " << AssignmentOf(*b).size()
      << " partitions; b received " << b->received.size();
  std::set<TopicPartition> all;
  for (const auto& tp : AssignmentOf(*a)) all.insert(tp);
  for (const auto& tp : AssignmentOf(*b)) all.insert(tp);
  EXPECT_EQ(all.size(), static_cast<size_t>(kPartitions));  // disjoint and complete
  EXPECT_TRUE(a->received.empty());
  const auto b_parts = AssignmentOf(*b);
  for (const auto& m : b->received) {
    EXPECT_TRUE(std::count(b_parts.begin(), b_parts.end(), TopicPartition{"g", m.partition}));
  }

  // Resume: A now reads exactly its own partitions' records, from offset 0.
  ASSERT_TRUE(a->consumer->ResumeAll().ok());
  EXPECT_FALSE(a->consumer->paused());
  ASSERT_TRUE(PollUntil({a.get(), b.get()}, milliseconds(10000),
                        [&] { return a->received.size() == 2 * kPerPartition; }));
  std::map<int32_t, std::vector<int64_t>> a_offsets;
  for (const auto& m : a->received) {
    a_offsets[m.partition].push_back(m.offset);
    EXPECT_EQ(m.value, std::to_string(m.partition) + ":" + std::to_string(m.offset));
  }
  const std::vector<int64_t> all_offsets = {0, 1, 2, 3, 4};
  for (const auto& tp : AssignmentOf(*a)) EXPECT_EQ(a_offsets[tp.partition], all_offsets);
  EXPECT_EQ(b->received.size(), static_cast<size_t>(2 * kPerPartition));
}

TEST(GroupConsumer, NewMemberResumesAtStoredCommittedOffsets) {
  auto broker = StartBroker({{"c", 2}});
  auto producer = MakeProducer(*broker);
  ProduceEach(*producer, "c", 2, 10);

  auto first = Join(*broker, "resume", "c");
  ASSERT_TRUE(PollUntil({first.get()}, milliseconds(15000),
                        [&] { return first->received.size() == 20; }));
  // Handled 0..6 of partition 0 and 0..2 of partition 1.
  ASSERT_TRUE(first->consumer->StoreOffset("c", 0, 7).ok());
  ASSERT_TRUE(first->consumer->StoreOffset("c", 1, 3).ok());
  Status unowned = first->consumer->StoreOffset("c", 5, 1);
  EXPECT_FALSE(unowned.ok());
  ASSERT_TRUE(first->consumer->CommitSync().ok());
  ASSERT_TRUE(first->consumer->Close().ok());
  ASSERT_FALSE(first->events.empty());
  EXPECT_EQ(first->events.back().kind, RebalanceEvent::Kind::kRevoked);
  EXPECT_FALSE(first->events.back().lost);

  auto second = Join(*broker, "resume", "c");
  ASSERT_TRUE(PollUntil({second.get()}, milliseconds(15000),
                        [&] { return second->received.size() >= 10; }));
  PollUntil({second.get()}, milliseconds(500), [] { return false; });  // nothing more may come
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const auto& m : second->received) offsets[m.partition].push_back(m.offset);
  EXPECT_EQ(offsets[0], (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(offsets[1], (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9}));
}

TEST(GroupConsumer, LossDuringLongPauseIsDataLossWithEarliestThenError) {
  auto broker = StartBroker({{"lp", 1}});
  auto producer = MakeProducer(*broker);
  ASSERT_TRUE(producer->ProduceSync("lp", 0, "", "first").ok());
  auto member = std::make_unique<Member>();
  GroupConsumerOptions options;
  options.group_id = "pause-loss";
  options.offset_reset = OffsetReset::kEarliestThenError;
  auto consumer = GroupConsumer::Create(ConfigFor(*broker), options);
  ASSERT_TRUE(consumer.ok());
  member->consumer = std::move(consumer).value();
  ASSERT_TRUE(member->consumer->Subscribe({"lp"}).ok());
  // Never committed: starts at the oldest record instead of failing.
  ASSERT_TRUE(PollUntil({member.get()}, milliseconds(15000),
                        [&] { return member->received.size() == 1; }));
  EXPECT_EQ(member->received[0].offset, 0);

  // While paused, 12 MiB arrive: retention drops offset 1 before we fetch it.
  ASSERT_TRUE(member->consumer->PauseAll().ok());
  const std::string value(96 * 1024, 'v');
  for (int i = 0; i < 128; ++i) ASSERT_TRUE(producer->Produce("lp", 0, "", value, {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(milliseconds(20000)).ok());
  ASSERT_TRUE(member->consumer->ResumeAll().ok());
  Status loss;
  auto end = Clock::now() + milliseconds(10000);
  while (loss.ok() && Clock::now() < end) {
    auto m = member->consumer->Poll(milliseconds(100));
    if (!m.ok()) loss = m.status();
    else ASSERT_FALSE(m->has_value()) << "skipped silently to offset " << (*m)->offset;
  }
  EXPECT_EQ(loss.code(), StatusCode::kDataLoss) << loss.ToString();
  EXPECT_NE(loss.message().find("topic 'lp' partition 0 offset 1"), std::string::npos)
      << loss.message();
}

}  // namespace
}  // namespace kreplay::bus
