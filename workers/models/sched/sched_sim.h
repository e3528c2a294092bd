// Internal to the scheduler models: the big.LITTLE SoC simulator shared by
// "sched.cfs" and "sched.hmp". Both run the same Linaro LSK 3.10 CFS core, so
// the two models differ only in task placement.
//
// What it mirrors (kernel/sched/fair.c, Linaro LSK 3.10):
// - per-CPU CFS runqueues (cfs_rq.h), tick preemption at HZ
//   (task_tick_fair() -> check_preempt_tick()), wake-up preemption
//   (check_preempt_wakeup());
// - wake placement select_task_rq_fair(): wake_affine() with the domain's
//   imbalance_pct and cpu_power, then select_idle_sibling() in the LLC
//   (cluster); fork placement find_idlest_group()/find_idlest_cpu() from the
//   DIE level down;
// - load balancing rebalance_domains()/load_balance() on MC (cluster) and DIE
//   (all CPUs, groups = clusters) with find_busiest_group() rules,
//   busy_factor, cache-hot checks against migration_cost, active balance after
//   repeated failures, newidle balance gated by rq->avg_idle >=
//   migration_cost, and NOHZ idle balance kicked from a busy CPU's tick;
// - cpu_power from cpu_efficiency and the top frequency
//   (arch/arm/kernel/topology.c parse_dt_topology()/update_cpu_power()); group
//   loads are divided by group power; there is no task-fit logic;
// - HMP (CONFIG_SCHED_HMP): hmp_up_migration()/hmp_down_migration() on wake,
//   fork boost to the big cluster, hmp_force_up_migration() and
//   hmp_offload_down() at the tick, hmp_idle_pull() from newidle on a big CPU,
//   no cross-cluster CFS balancing, and the priority filter.
// Simplified, and why:
// - Runqueue load for balancing is the instantaneous sum of weights
//   (rq->load.weight, pre-3.8 style) rather than 3.10's runnable_load_avg and
//   cpu_load[] indices: the decision rules are kept, the smoothing is not.
// - hmp_domain_min_load() uses runnable counts (0 = idle) rather than rq
//   runnable averages: it only has to find idle or least-loaded CPUs.
// - Migration itself (stop_machine, cache refill) costs no time; an idle CPU
//   pays its idle state's exit latency before it runs anything.
// - kWait/kSignal are counting semaphores, so a signal that arrives before its
//   waiter is not lost (rt-app pairs them under a mutex to the same effect).
// - Tasks are forked by a parent on CPU 0 at their start time (delay_ns).
//
// Not thread-safe; one instance per run. Deterministic: a pure function of
// platform, workload, options and seed (the seed only breaks no ties today:
// every choice is ordered by CPU and task index).
#pragma once

#include <atomic>
#include <cstdint>

#include "services/core/status.h"
#include "services/model/result.h"
#include "services/model/sched_observer.h"
#include "services/sim/time.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/governor.h"

namespace kreplay::sched {

enum class Policy { kCfs, kHmp };

enum class MigrationKind { kFork, kWake, kForced, kIdlePull, kOffload, kBalance };
inline constexpr int kMigrationKinds = 6;
const char* MigrationKindName(MigrationKind k);

struct SchedOptions {
  Policy policy = Policy::kCfs;
  int hz = 100;
  sim::Duration latency_ns = 0;  // 0 = 6 ms scaled by CPU count
  sim::Duration min_granularity_ns = 0;
  sim::Duration wakeup_granularity_ns = 0;
  sim::Duration migration_cost_ns = 500 * sim::kUs;
  int imbalance_pct = 125;     // DIE (SD_CPU_INIT)
  int mc_imbalance_pct = 125;  // MC (SD_MC_INIT in 3.10; 117 from 3.16)
  int busy_factor = 64;
  GovernorParams governor;
  // HMP.
  bool frequency_invariant = true;
  int64_t load_avg_period_ms = 32;
  uint32_t hmp_up_threshold = 700;
  uint32_t hmp_down_threshold = 512;
  bool hmp_prio_filter = false;
  int hmp_up_prio_nice = 5;  // with the filter on, tasks with nice >= this never go up
  sim::Duration hmp_min_migration_interval_ns = 4096 * 1024;  // (now - last) >> 10 < 4096
  sim::Duration max_sim_time_ns = 600 * sim::kSec;
};

// Observes a run (tests, traces). All hooks default to nothing; called
// synchronously from the simulation, which must not be re-entered.
class SchedObserver {
 public:
  virtual ~SchedObserver() = default;
  virtual void OnMigration(sim::Time, int /*task*/, int /*from_cpu*/, int /*to_cpu*/, MigrationKind) {}
  // A task starts running on a CPU.
  virtual void OnRun(sim::Time, int /*cpu*/, int /*task*/) {}
  // Scheduler tick on a busy CPU; `load_ratio` is curr's HMP load_avg_ratio
  // (after the tick's update, before any forced migration).
  virtual void OnTick(sim::Time, int /*cpu*/, int /*task*/, uint32_t /*load_ratio*/) {}
  virtual void OnOpp(sim::Time, int /*cluster*/, int /*opp*/) {}
};

// Runs the workload on the platform. Errors: InvalidArgument for inputs the
// model cannot run (unknown calibration cluster, empty cpu_mask, ...),
// Cancelled if `cancel` was set. `observer` (model internals, for tests) and
// `trace` (the schedule as sched/power tracepoints, model/sched_observer.h)
// may be null; neither changes the result.
StatusOr<model::Result> RunSchedSim(const workload::Platform& platform, const workload::SchedWorkload& workload,
                                    const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                    SchedObserver* observer = nullptr, model::SchedObserver* trace = nullptr);

// cpu_power per CPU as LSK 3.10 arch/arm/kernel/topology.c computes it:
// (top_hz >> 20) * cpu_efficiency, divided by a middle capacity chosen so the
// average CPU is near SCHED_POWER_SCALE (1024).
std::vector<uint32_t> ArmCpuPower(const workload::Platform& platform);

}  // namespace kreplay::sched
