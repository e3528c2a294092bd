// Throughput of the bcache model in requests per second (items/s below
// count trace requests, not 4 KiB block accesses). Shipped device profiles
// (ssd-sata over hdd-7200), default parameters unless named.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "workers/models/blockcache/bcache/bcache_sim.h"
#include "workers/models/blockcache/bcache/bcache_stack.h"
#include "workers/models/blockcache/devices/device.h"

namespace kreplay::blockcache::bcache {
namespace {

// `n` 4 KiB requests over a hot set of `hot_blocks` (skewed: a quarter of
// the blocks take about three quarters of the accesses), 90 % reads, 1 ms
// apart (the disk keeps up with the misses once the cache is warm).
workload::BlockWorkload CacheFriendly(size_t n, uint64_t hot_blocks) {
  workload::BlockWorkload w;
  w.volumes = {"vol0"};
  w.requests.reserve(n);
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t r = x % 1000;
    uint64_t block = (x >> 20) % hot_blocks;
    if (r < 750) block %= hot_blocks / 4;
    workload::BlockRequest q;
    q.time_ns = static_cast<int64_t>(i) * 1'000'000;
    q.offset = block * 8 * 4096;  // spread out, not sequential
    q.bytes = 4096;
    q.op = (x >> 40) % 10 == 0 ? workload::BlockOp::kWrite : workload::BlockOp::kRead;
    w.requests.push_back(q);
  }
  return w;
}

void Run(benchmark::State& state, CacheMode mode) {
  const size_t n = static_cast<size_t>(state.range(0));
  const workload::BlockWorkload w = CacheFriendly(n, 50'000);  // 200 MiB hot set
  BcacheConfig cfg;
  cfg.mode = mode;
  double hit_ratio = 0;
  for (auto _ : state) {
    auto cache = MakeDevice("ssd-sata", uint64_t{1} << 30);
    std::vector<std::unique_ptr<Device>> backing;
    backing.push_back(std::move(MakeDevice("hdd-7200", 0)).value());
    auto sim = BcacheSim::Create(cfg, std::move(cache).value(), std::move(backing));
    auto st = (*sim)->Run(w);
    if (!st.ok()) state.SkipWithError(st.status().ToString().c_str());
    hit_ratio = static_cast<double>(st->cache_hits) / static_cast<double>(st->cache_hits + st->cache_misses);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["hit_ratio"] = hit_ratio;
}

void BM_Writethrough(benchmark::State& s) { Run(s, CacheMode::kWritethrough); }
void BM_Writeback(benchmark::State& s) { Run(s, CacheMode::kWriteback); }
BENCHMARK(BM_Writethrough)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Writeback)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Two stacked cache sets, both writethrough: a 64 MiB ssd-nvme set over the
// bcache device of the 1 GiB ssd-sata set above. The NVMe set holds about a
// third of the hot set, so its misses exercise the level below.
void BM_Stack(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const workload::BlockWorkload w = CacheFriendly(n, 50'000);
  double l1_hits = 0, l2_hits = 0;
  for (auto _ : state) {
    std::vector<StackLevel> levels;
    levels.push_back(StackLevel{BcacheConfig(), std::move(MakeDevice("ssd-nvme", uint64_t{64} << 20)).value()});
    levels.push_back(StackLevel{BcacheConfig(), std::move(MakeDevice("ssd-sata", uint64_t{1} << 30)).value()});
    std::vector<std::unique_ptr<Device>> backing;
    backing.push_back(std::move(MakeDevice("hdd-7200", 0)).value());
    auto stack = BcacheStack::Create(std::move(levels), std::move(backing));
    auto st = (*stack)->Run(w);
    if (!st.ok()) state.SkipWithError(st.status().ToString().c_str());
    auto ratio = [](const BcacheStats& s) {
      return static_cast<double>(s.cache_hits) / static_cast<double>(s.cache_hits + s.cache_misses);
    };
    l1_hits = ratio(st->levels[0]);
    l2_hits = ratio(st->levels[1]);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["l1_hit_ratio"] = l1_hits;
  state.counters["l2_hit_ratio"] = l2_hits;
}
BENCHMARK(BM_Stack)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreplay::blockcache::bcache

BENCHMARK_MAIN();
