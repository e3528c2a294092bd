// bus_bench: produce/consume throughput through the in-process mock cluster.
//
// Three phases per message size:
//   produce    Produce N records round-robin over the partitions, then Flush.
//   consume    PartitionReader reads what retention kept (low..high watermark).
//   pipelined  producer and reader run together; the producer keeps at most
//              `window` bytes ahead of the reader per partition (below the
//              mock's 5 MiB retention), so nothing is lost; any loss would
//              surface as DataLoss and abort the run.
// Usage: bus_bench [records_64B] [records_512KiB] [-X key=value ...]
// (-X properties go to every client, e.g. -X fetch.wait.max.ms=10).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "services/bus/embedded_broker.h"
#include "services/bus/partition_reader.h"
#include "services/bus/producer.h"
#include "services/core/strings.h"

namespace kreplay::bus {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kPartitions = 8;
constexpr int64_t kWindowBytesPerPartition = 3 * 1024 * 1024;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

void Report(const char* phase, size_t size, int64_t records, double secs) {
  double mb = static_cast<double>(records) * static_cast<double>(size) / 1e6;
  std::printf("%-9s %7zu B  %8lld msgs  %7.3f s  %11.0f msgs/s  %9.1f MB/s\n", phase, size,
              static_cast<long long>(records), secs, static_cast<double>(records) / secs,
              mb / secs);
}

int Fail(const Status& st) {
  std::fprintf(stderr, "bus_bench: %s\n", st.ToString().c_str());
  return 1;
}

// Enqueues one record, backing off while librdkafka's local queue is full.
Status ProduceBlocking(Producer& producer, const std::string& topic, int32_t partition,
                       const std::string& value, DeliveryCallback cb) {
  for (;;) {
    Status st = producer.Produce(topic, partition, "", value, {}, cb);
    if (st.code() != StatusCode::kUnavailable) return st;
    std::this_thread::sleep_for(milliseconds(1));
  }
}

int RunSize(EmbeddedBroker& broker, const KafkaConfig& base, size_t size, int64_t records) {
  KafkaConfig config = base;
  const std::string value(size, 'x');
  std::string topic = "bench-" + std::to_string(size);
  if (Status st = broker.CreateTopic({topic, kPartitions}); !st.ok()) return Fail(st);

  auto producer = Producer::Create(config);
  if (!producer.ok()) return Fail(producer.status());
  if (Status st = (*producer)->WarmUp(topic); !st.ok()) return Fail(st);

  // Phase 1: produce.
  auto t0 = Clock::now();
  for (int64_t i = 0; i < records; ++i) {
    Status st = ProduceBlocking(**producer, topic, static_cast<int32_t>(i % kPartitions), value,
                                nullptr);
    if (!st.ok()) return Fail(st);
  }
  if (Status st = (*producer)->Flush(milliseconds(120000)); !st.ok()) return Fail(st);
  Report("produce", size, records, Seconds(t0));

  // Phase 2: consume what retention kept.
  auto reader = PartitionReader::Create(config);
  if (!reader.ok()) return Fail(reader.status());
  int64_t retained = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto marks = (*reader)->QueryWatermarks(topic, p);
    if (!marks.ok()) return Fail(marks.status());
    retained += marks->high - marks->low;
    if (Status st = (*reader)->Assign(topic, p, marks->low); !st.ok()) return Fail(st);
  }
  t0 = Clock::now();
  for (int64_t got = 0; got < retained;) {
    auto m = (*reader)->Poll(milliseconds(1000));
    if (!m.ok()) return Fail(m.status());
    if (m->has_value()) ++got;
  }
  Report("consume", size, retained, Seconds(t0));
  std::printf("          (retention kept %lld of %lld records)\n", static_cast<long long>(retained),
              static_cast<long long>(records));

  // Phase 3: pipelined with a per-partition window, on a fresh topic.
  std::string piped = topic + "-piped";
  if (Status st = broker.CreateTopic({piped, kPartitions}); !st.ok()) return Fail(st);
  if (Status st = (*producer)->WarmUp(piped); !st.ok()) return Fail(st);
  auto reader2 = PartitionReader::Create(config);
  if (!reader2.ok()) return Fail(reader2.status());
  for (int32_t p = 0; p < kPartitions; ++p) {
    if (Status st = (*reader2)->Assign(piped, p, 0); !st.ok()) return Fail(st);
  }
  const int64_t window_records =
      std::max<int64_t>(1, kWindowBytesPerPartition / static_cast<int64_t>(size)) * kPartitions;
  std::vector<std::atomic<int64_t>> consumed(kPartitions);
  std::atomic<bool> failed{false};
  t0 = Clock::now();
  std::thread consumer([&] {
    for (int64_t got = 0; got < records && !failed;) {
      auto m = (*reader2)->Poll(milliseconds(1000));
      if (!m.ok()) {
        std::fprintf(stderr, "bus_bench: %s\n", m.status().ToString().c_str());
        failed = true;
        return;
      }
      if (!m->has_value()) continue;
      consumed[(*m)->partition].store((*m)->offset + 1, std::memory_order_relaxed);
      ++got;
    }
  });
  for (int64_t i = 0; i < records && !failed; ++i) {
    auto p = static_cast<int32_t>(i % kPartitions);
    int64_t nth = i / kPartitions;  // this record's offset in its partition
    while (nth - consumed[p].load(std::memory_order_relaxed) >= window_records / kPartitions &&
           !failed) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    Status st = ProduceBlocking(**producer, piped, p, value, nullptr);
    if (!st.ok()) {
      failed = true;
      consumer.join();
      return Fail(st);
    }
  }
  consumer.join();
  if (failed) return 1;
  Report("pipelined", size, records, Seconds(t0));
  return 0;
}

int Main(int argc, char** argv) {
  int64_t small = 200000;
  int64_t large = 400;
  std::vector<std::string> positional;
  std::vector<std::string> properties;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-X" && i + 1 < argc) {
      properties.push_back(argv[++i]);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() > 0) small = ParseInt(positional[0]).value_or(-1);
  if (positional.size() > 1) large = ParseInt(positional[1]).value_or(-1);
  if (small < 1 || large < 1 || positional.size() > 2) {
    std::fprintf(stderr, "usage: bus_bench [records_64B] [records_512KiB] [-X key=value ...]\n");
    return 2;
  }
  auto broker = EmbeddedBroker::Start(1, {});
  if (!broker.ok()) return Fail(broker.status());
  KafkaConfig config{(*broker)->bootstrap_servers(), {}, "bus_bench"};
  if (Status st = AddKafkaProperties(properties, "-X", &config); !st.ok()) return Fail(st);
  std::printf("mock cluster, 1 broker, %d partitions, no compression\n", kPartitions);
  if (int rc = RunSize(**broker, config, 64, small); rc != 0) return rc;
  return RunSize(**broker, config, 512 * 1024, large);
}

}  // namespace
}  // namespace kreplay::bus

int main(int argc, char** argv) { return kreplay::bus::Main(argc, argv); }
