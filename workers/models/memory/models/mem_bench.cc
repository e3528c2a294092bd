// Memory family benchmarks (not tests): the state a run keeps per simulated
// page on the 8 GiB phone profile (the family's budget: 32 bytes, so the
// profile stays under 100 MiB), and a whole model run's speed on the
// example's workload (examples/cma-vs-gcma.yaml, shortened) in simulator
// events and page events per second.
//
//   ./build/workers/models/memory/models/mem_bench
#include <benchmark/benchmark.h>

#include "workers/models/memory/models/mem_sim.h"
#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory {
namespace {

// The example's background and initial state (examples/cma-vs-gcma.yaml).
MemWorkload ExampleWorkload(int per_size) {
  ForegroundSpec f;
  f.sizes = {1, 4, 16, 64, 256, 1024, 4096, 16384, 32000};
  f.per_size = static_cast<uint32_t>(per_size);
  f.rate = 5;
  f.poisson = true;
  f.hold = 100 * sim::kMs;
  MemWorkload w;
  w.foreground = GenerateForeground(f, sim::Rng(1));
  w.background = DefaultBackground();
  BackgroundSpec& b = w.background.spec;
  b.build.spawn_rate = 40;
  w.background.build_anon.bytes = 2 << 20;
  w.background.build_kernel.bytes = 64 << 10;
  b.build.file_reads = 128;
  b.build.mean_lifetime = 600 * sim::kMs;
  w.background.anon_working_set.fraction = 0.2;
  b.anon.fault_rate = 5000;
  b.anon.mapped_cpus = 4;
  w.background.cache_files.fraction = 0.6;
  b.cache.read_rate = 3000;
  b.cache.write_rate = 500;
  b.cache.hot_fraction = 0.2;
  b.cache.hot_access = 0.8;
  b.slab.rate = 500;
  b.sample_interval = 100 * sim::kMs;
  w.initial = DefaultInitial();
  w.initial.used = 0.85;
  return w;
}

// Bytes of model state per page of the 8 GiB profile: the zone core, the
// background's indexes, after the initial state was placed.
void BM_StateBytesPerPage_Phone8G(benchmark::State& state) {
  const MemProfile p = *LoadBuiltinMemProfile("arm64-phone-8g");
  const MemWorkload w = ExampleWorkload(1);
  StateFootprint f;
  for (auto _ : state) {
    auto m = MeasureStateFootprint(MemRunConfig{}, p, w, 1);
    if (!m.ok()) {
      state.SkipWithError(m.status().ToString().c_str());
      return;
    }
    f = *m;
  }
  const double total = f.zone_bytes_per_page + f.background_bytes_per_page;
  state.counters["zone_bytes_per_page"] = f.zone_bytes_per_page;
  state.counters["background_bytes_per_page"] = f.background_bytes_per_page;
  state.counters["total_bytes_per_page"] = total;
  state.counters["total_mib"] = total * static_cast<double>(p.pages) / (1 << 20);
}
BENCHMARK(BM_StateBytesPerPage_Phone8G)->Unit(benchmark::kMillisecond)->Iterations(1);

// One run of a model on the ARMv7 profile, 4 calls per size (36 calls,
// about 8 s simulated): events/s as the plan estimates count them.
void BM_Run(benchmark::State& state, MemVariant v) {
  const MemProfile p = *LoadBuiltinMemProfile("armv7-800m");
  const MemWorkload w = ExampleWorkload(4);
  MemRunConfig c;
  c.variant = v;
  uint64_t events = 0, page_events = 0;
  for (auto _ : state) {
    auto r = RunMemory(c, p, w, 1);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    events += r->sim_events;
    page_events += static_cast<uint64_t>(r->scalars.at("page_events").value);
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["page_events_per_s"] = benchmark::Counter(static_cast<double>(page_events), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Run, cma, MemVariant::kCma)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Run, gcma, MemVariant::kGcma)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Run, carveout, MemVariant::kCarveout)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Run, buddy, MemVariant::kBuddy)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreplay::memory

BENCHMARK_MAIN();
