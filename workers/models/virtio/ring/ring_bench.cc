// Ring engine speed (not a test): driver + device round trips of 1- and
// 2-segment chains on split and packed rings, in batches of 32 as a vhost
// worker or a DPDK burst takes them. Reports descriptors/s (segments written
// by the driver and parsed by the device) and buffers/s.
//
//   ./build/workers/models/virtio/ring/virtioring_bench
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "workers/models/virtio/ring/packed_ring.h"
#include "workers/models/virtio/ring/split_ring.h"

namespace kreplay::virtio {
namespace {

constexpr uint32_t kQueueSize = 256;
constexpr int kBatch = 32;

// range(0): segments per chain; range(1): 1 = indirect tables allowed;
// range(2): 1 = the device also collects the segments (Pop's out-parameter).
template <typename Ring>
void BM_RoundTrip(benchmark::State& state) {
  const int nseg = static_cast<int>(state.range(0));
  RingFeatures f;
  f.indirect = state.range(1) != 0;
  const bool collect = state.range(2) != 0;
  Ring ring(kQueueSize, f);
  std::array<Segment, 2> segs = {Segment{0x10000, 12, false}, Segment{0x20000, 1500, true}};
  if (nseg == 1) segs[0] = Segment{0x20000, 1500, true};
  const std::span<const Segment> chain(segs.data(), static_cast<size_t>(nseg));
  std::vector<Segment> out;
  out.reserve(8);
  uint32_t token = 0;
  int64_t buffers = 0;
  uint64_t sink = 0;
  for (auto _ : state) {
    for (int k = 0; k < kBatch; ++k) {
      auto r = ring.AddBuf(chain, token++);
      sink += r.has_value() ? *r : 0;
    }
    sink += ring.KickPrepare();
    ring.DisableNotify();
    for (int k = 0; k < kBatch; ++k) {
      auto c = ring.Pop(collect ? &out : nullptr);
      const Chain& ch = **c;
      ring.PushUsed(ch.id, ch.in_bytes);
    }
    sink += ring.EnableNotify();
    sink += ring.PublishUsed();
    for (int k = 0; k < kBatch; ++k) sink += ring.GetUsed()->len;
    buffers += kBatch;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["descriptors/s"] = benchmark::Counter(static_cast<double>(buffers * nseg), benchmark::Counter::kIsRate);
  state.counters["buffers/s"] = benchmark::Counter(static_cast<double>(buffers), benchmark::Counter::kIsRate);
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"segs", "indirect", "collect"});
  b->Args({1, 0, 0})->Args({2, 0, 0})->Args({2, 1, 0})->Args({2, 0, 1});
}

BENCHMARK(BM_RoundTrip<SplitRing>)->Apply(Args);
BENCHMARK(BM_RoundTrip<PackedRing>)->Apply(Args);

}  // namespace
}  // namespace kreplay::virtio

BENCHMARK_MAIN();
