// Throughput of the scheduler models: engine events per wall second and
// simulated seconds per wall second, CFS (LSK 3.10 and mainline 6.1), HMP and EEVDF (6.12) on Juno r0 with 64 mixed
// tasks (periodic, interactive, batch). Not a test; run by hand.
#include <benchmark/benchmark.h>

#include "services/sim/rng.h"
#include "workers/models/sched/platforms/platforms.h"
#include "workers/models/sched/sched_sim.h"

namespace kreplay::sched {
namespace {

workload::SchedWorkload Mixed64(uint64_t seed, int64_t duration) {
  sim::Rng rng(seed);
  workload::SchedWorkload w;
  w.duration_ns = duration;
  auto ms = [](int64_t v) { return v * sim::kMs; };
  for (int i = 0; i < 64; ++i) {
    workload::SchedTaskSpec t;
    t.name = "t";
    t.name += std::to_string(i);  // not "t" + to_string(): GCC 12 -Wrestrict false positive
    t.loops = -1;
    t.delay_ns = rng.Range(0, ms(20));
    switch (i % 4) {
      case 0:
      case 1:  // periodic: 0.5-3 ms of work every 8-32 ms
        t.kind = "periodic";
        t.periodic = true;
        t.phases = {{workload::PhaseOp::kRun, rng.Range(500, 3000) * sim::kUs, 0},
                    {workload::PhaseOp::kTimer, ms(rng.Range(8, 32)), 0}};
        break;
      case 2:  // interactive bursts with think time
        t.kind = "interactive";
        t.phases = {{workload::PhaseOp::kRun, rng.Range(200, 5000) * sim::kUs, 0},
                    {workload::PhaseOp::kSleep, ms(rng.Range(5, 60)), 0}};
        break;
      default:  // batch chunks with short pauses
        t.kind = "batch";
        t.nice = 5;
        t.phases = {{workload::PhaseOp::kRun, ms(rng.Range(5, 40)), 0},
                    {workload::PhaseOp::kSleep, rng.Range(100, 1000) * sim::kUs, 0}};
        break;
    }
    w.tasks.push_back(t);
  }
  return w;
}

void BM_Sched(benchmark::State& state, Policy policy, const char* release) {
  auto p = platforms::LoadBuiltinPlatform("juno-r0");
  if (!p.ok()) {
    state.SkipWithError(p.status().ToString().c_str());
    return;
  }
  workload::SchedWorkload w = Mixed64(1, 10 * sim::kSec);
  SchedOptions o;
  o.policy = policy;
  o.kernel_version = release;
  o.governor.kind = GovernorKind::kOndemand;
  uint64_t events = 0;
  double sim_s = 0, switches = 0, run_events = 0;
  for (auto _ : state) {
    auto r = RunSchedSim(*p, w, o, 1, nullptr);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    events += r->sim_events;
    switches = r->scalars.at("context_switches").value;
    run_events = static_cast<double>(r->sim_events);
    sim_s += r->sim_time_ns / 1e9;
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["sim_s_per_s"] = benchmark::Counter(sim_s, benchmark::Counter::kIsRate);
  // Per run: what a policy makes the core do (a switch costs more than a tick).
  state.counters["events"] = run_events;
  state.counters["switches"] = switches;
}

BENCHMARK_CAPTURE(BM_Sched, cfs_juno_64, Policy::kCfs, "3.10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sched, hmp_juno_64, Policy::kHmp, "3.10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sched, cfs61_juno_64, Policy::kCfs, "6.1")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sched, eevdf_juno_64, Policy::kEevdf, "6.12")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreplay::sched

BENCHMARK_MAIN();
