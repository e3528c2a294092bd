// Throughput of the bcache model in requests per second (items/s below
// count trace requests, not 4 KiB block accesses). Shipped device profiles
// (ssd-sata over hdd-7200), default parameters unless named.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "workers/models/blockcache/bcache/bcache_sim.h"
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

}  // namespace
}  // namespace kreplay::blockcache::bcache

BENCHMARK_MAIN();
