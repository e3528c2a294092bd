// Throughput of the fixed-block caches and the one-pass MRC, in 4 KiB block
// accesses per second (items_per_second), on a synthetic Zipf(0.9) trace of
// single-block requests over 4 M distinct blocks. Not a test; run by hand.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "services/sim/rng.h"
#include "workers/models/blockcache/fixed/fixed_cache.h"
#include "workers/models/blockcache/fixed/mrc.h"

namespace kreplay::blockcache {
namespace {

const workload::BlockWorkload& Trace() {
  static const workload::BlockWorkload w = [] {
    const uint64_t n = 4 << 20;
    std::vector<double> cdf(n);
    double sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      sum += 1.0 / sim::DetExp(0.9 * sim::DetLog(static_cast<double>(i + 1)));
      cdf[i] = sum;
    }
    // Scatter ranks over a 1 TiB volume so hot blocks are not adjacent.
    sim::Rng rng(1);
    workload::BlockWorkload t;
    t.volumes = {"v"};
    for (int i = 0; i < 10'000'000; ++i) {
      auto rank = static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), rng.Uniform() * sum) - cdf.begin());
      workload::BlockRequest r;
      r.time_ns = i;
      r.offset = (rank * 0x9E3779B97F4A7C15ULL >> 36) * 4096;
      r.bytes = 4096;
      t.requests.push_back(r);
    }
    return t;
  }();
  return w;
}

void BM_Cache(benchmark::State& state, FixedPolicy policy) {
  const auto& w = Trace();
  uint64_t accesses = 0, mem = 0;
  double miss = 0;
  for (auto _ : state) {
    auto s = SimulateFixedCache(w, policy, 4096, static_cast<uint64_t>(state.range(0)));
    accesses += s->block_accesses;
    miss = s->miss_ratio();
    mem = s->memory_bytes;
  }
  state.SetItemsProcessed(static_cast<int64_t>(accesses));
  state.counters["miss_ratio"] = miss;
  // Cache structures per million blocks the cache can hold (it fills up:
  // the trace touches more distinct blocks than the largest capacity).
  state.counters["MB_per_M_blocks"] = static_cast<double>(mem) / 1e6 / (static_cast<double>(state.range(0)) / 1e6);
}
BENCHMARK_CAPTURE(BM_Cache, lru, FixedPolicy::kLru)->Arg(1 << 16)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Cache, fifo, FixedPolicy::kFifo)->Arg(1 << 16)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_Mrc(benchmark::State& state) {
  const auto& w = Trace();
  const double rate = static_cast<double>(state.range(0)) / 1000;
  uint64_t accesses = 0, mem = 0, distinct = 0;
  for (auto _ : state) {
    StackDistanceMrc mrc(rate);
    std::vector<uint64_t> batch;
    for (size_t i = 0; i < w.requests.size(); i += 4096) {
      batch.clear();
      for (size_t j = i; j < std::min(w.requests.size(), i + 4096); ++j) batch.push_back(w.requests[j].offset >> 12);
      mrc.AccessBatch(batch.data(), batch.size());
    }
    auto curve = mrc.Curve(CacheSizes(1, std::max<uint64_t>(1, mrc.distinct_blocks()), 100, true));
    benchmark::DoNotOptimize(curve.miss_ratio.data());
    accesses += mrc.accesses();
    mem = mrc.memory_bytes();
    distinct = mrc.distinct_blocks();
  }
  state.counters["distinct_blocks"] = static_cast<double>(distinct);
  state.SetItemsProcessed(static_cast<int64_t>(accesses));
  state.counters["memory_MB"] = static_cast<double>(mem) / 1e6;
  state.counters["MB_per_M_distinct"] = static_cast<double>(mem) / static_cast<double>(distinct);
}
BENCHMARK(BM_Mrc)->Arg(1000)->Arg(10)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreplay::blockcache

BENCHMARK_MAIN();
