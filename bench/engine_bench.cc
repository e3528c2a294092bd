// The bare event engine: events dispatched per second with a steady
// population of pending events (a self-rescheduling handler per slot), so
// model benchmarks can be read against the engine's own ceiling.
#include <benchmark/benchmark.h>

#include "services/sim/engine.h"
#include "services/sim/rng.h"

namespace {

using kreplay::sim::Simulator;

struct Ticker : kreplay::sim::EventHandler {
  Simulator* sim = nullptr;
  kreplay::sim::Rng rng{1};
  void OnEvent(uint64_t tag) override { sim->After(1 + static_cast<int64_t>(rng.Below(1'000'000)), this, tag); }
};

void BM_EngineDispatch(benchmark::State& state) {
  const int pending = static_cast<int>(state.range(0));
  uint64_t events = 0;
  for (auto _ : state) {
    Simulator sim;
    Ticker t;
    t.sim = &sim;
    for (int i = 0; i < pending; ++i) sim.At(i, &t, static_cast<uint64_t>(i));
    sim.RunUntil(200'000'000);  // 200 ms simulated
    events += sim.events_processed();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineDispatch)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_EngineCancel(benchmark::State& state) {
  // Half of all scheduled events are cancelled before they fire (timers
  // re-armed by models): the cost of cancellation bookkeeping.
  uint64_t events = 0;
  for (auto _ : state) {
    Simulator sim;
    Ticker t;
    t.sim = &sim;
    for (int i = 0; i < 100000; ++i) {
      auto id = sim.At(i * 10, &t, 0);
      if (i % 2) sim.Cancel(id);
    }
    sim.RunUntil(1'000'000);
    events += sim.events_processed();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineCancel)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
