// Internal to the scheduler models: the big.LITTLE SoC simulator shared by
// "sched.cfs" and "sched.hmp", which run the Linaro LSK 3.10 core with the
// CFS pick policy (so the two differ only in placement), and "sched.eevdf",
// which runs the same core on the mainline runqueue (EevdfRq) with mainline
// placement, EEVDF, PELT and mainline schedutil (sched.cfs with a mainline
// kernel_version runs that mainline core with the CFS runqueue,
// MainlineCfsRq) (what it mirrors:
// eevdf_rq.h, eevdf_pick.h, pelt.h, mainline_placement.h and
// docs/models/sched.md), with group scheduling for workloads with task
// groups (group_sched.h; the LSK 3.10 core refuses them), and on the
// mainline base the deadline class (dl_class.h; LSK 3.10 predates it). The core is one template on the runqueue type
// (sched_core.h); what follows describes its 3.10 instance.
//
// The simulator is a policy-free core (sched_core.h: engine, runqueues, tick,
// load balancing, DVFS, idle, energy, observers, results) and two policies
// (sched_policy.h): placement (cfs_placement.h, hmp_placement.h) and
// pick/preempt (cfs_pick.h). RunSched() takes any pair of the core's kernel
// base (sched_version.h); RunSchedSim() runs the pair of a registered model.
//
// What the core mirrors (kernel/sched/fair.c, Linaro LSK 3.10):
// - per-CPU CFS runqueues (cfs_rq.h), tick preemption at HZ
//   (task_tick_fair() -> check_preempt_tick()), wake-up preemption
//   (check_preempt_wakeup()), both decided by the pick policy; a wake-up or
//   migration brings the target's running task up to date (update_curr())
//   before placement and the preemption check;
// - the rebalance softirq (trigger_load_balance()): at a busy CPU's tick
//   when its next balance is due, the placement's pass
//   (hmp_force_up_migration()) then rebalance_domains();
// - load balancing rebalance_domains()/load_balance() on MC (cluster) and,
//   unless the placement policy has none, DIE (all CPUs, groups = clusters) with find_busiest_group() rules,
//   busy_factor, cache-hot checks against migration_cost, active balance after
//   repeated failures, newidle balance gated by rq->avg_idle >=
//   migration_cost (then, if nothing was pulled, the placement's idle pull),
//   and NOHZ idle balance kicked from a busy CPU's tick;
// - cpu_power from cpu_efficiency and the top frequency
//   (arch/arm/kernel/topology.c parse_dt_topology()/update_cpu_power()); group
//   loads are divided by group power; there is no task-fit logic;
// - the per-task load tracking a placement policy asks for (load_avg.h).
// Simplified, and why:
// - Runqueue load for balancing is the instantaneous sum of weights
//   (rq->load.weight, pre-3.8 style) rather than 3.10's runnable_load_avg and
//   cpu_load[] indices: the decision rules are kept, the smoothing is not.
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
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/model/result.h"
#include "services/model/sched_observer.h"
#include "services/sim/time.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/governor.h"
#include "workers/models/sched/sched_version.h"

namespace kreplay::sched {

// The registered models: which policies RunSchedSim() runs. kCfs and kHmp
// on the LSK 3.10 core, kEevdf on the mainline core.
enum class Policy { kCfs, kHmp, kEevdf };

enum class MigrationKind { kFork, kWake, kForced, kIdlePull, kOffload, kBalance, kRtPush, kRtPull, kDlPush, kDlPull };
inline constexpr int kMigrationKinds = 6;  // the fair kinds (kFork..kBalance), always reported
// kRtPush/kRtPull (push_rt_task(), pull_rt_task()): reported only for
// workloads with real-time tasks (rt_class.h).
inline constexpr int kRtMigrationKinds = 2;
// kDlPush/kDlPull (push_dl_task(), pull_dl_task()): reported only for
// workloads with SCHED_DEADLINE tasks (dl_class.h).
inline constexpr int kDlMigrationKinds = 2;
const char* MigrationKindName(MigrationKind k);

struct SchedOptions {
  Policy policy = Policy::kCfs;  // RunSchedSim() only
  int hz = 100;
  sim::Duration latency_ns = 0;  // 0 = 6 ms scaled by CPU count
  sim::Duration min_granularity_ns = 0;
  sim::Duration wakeup_granularity_ns = 0;
  sim::Duration migration_cost_ns = 500 * sim::kUs;
  int imbalance_pct = 125;     // DIE (SD_CPU_INIT)
  int mc_imbalance_pct = 125;  // MC (SD_MC_INIT in 3.10; 117 from 3.16)
  int busy_factor = 64;
  GovernorParams governor;
  // Load tracking (LoadTracking::kLsk310RunnableAvg).
  bool frequency_invariant = true;
  int64_t load_avg_period_ms = 32;
  // HMP placement.
  uint32_t hmp_up_threshold = 700;
  uint32_t hmp_down_threshold = 512;
  bool hmp_prio_filter = false;
  int hmp_up_prio_nice = 5;  // with the filter on, tasks with nice >= this never go up
  // hmp_next_up_threshold / hmp_next_down_threshold: a task does not move up
  // (down) again while ((now - its last up (down) migration) >> 10) is below
  // this, in the kernel's 1024-ns units (4096 = 4.194304 ms).
  uint32_t hmp_next_up_threshold = 4096;
  uint32_t hmp_next_down_threshold = 4096;
  sim::Duration max_sim_time_ns = 600 * sim::kSec;
  // The kernel release. "" = the policy's default: LSK "3.10" for kCfs and
  // kHmp, "6.12" for kEevdf. kCfs also runs mainline releases 5.15 .. 6.5
  // (MainlineCfsRules()).
  // Mainline base: the release's EEVDF rules and base slice
  // (MainlineEevdfTraits()) or CFS rules, EEVDF feature switches (unset:
  // the release's default; validated against the release), and schedutil's
  // rate_limit_us (-1: cpufreq_policy_transition_delay_us() of the
  // platform's DVFS latency).
  std::string kernel_version;
  std::optional<bool> run_to_parity;
  std::optional<bool> place_lag;
  std::optional<bool> delay_dequeue;
  sim::Duration sugov_rate_limit_ns = -1;
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
class CfsRq;
class MainlineCfsRq;
class EevdfRq;
template <class Rq>
class BasicPlacementPolicy;
template <class Rq>
class BasicPickPolicy;
using PlacementPolicy = BasicPlacementPolicy<CfsRq>;
using PickPolicy = BasicPickPolicy<CfsRq>;
using MainlinePlacementPolicy = BasicPlacementPolicy<EevdfRq>;
using MainlinePickPolicy = BasicPickPolicy<EevdfRq>;
using MainlineCfsPlacementPolicy = BasicPlacementPolicy<MainlineCfsRq>;
using MainlineCfsPickPolicy = BasicPickPolicy<MainlineCfsRq>;

// One run's policies (sched_policy.h), both required, owned by the caller.
// A policy object keeps per-run state: one run at a time. (Not allocated per
// run by RunSchedSim(): a run's allocations are its own, as before the
// policies were split out, which keeps glibc from trimming and regrowing the
// heap between runs.)
// SchedPolicies are written against the 3.10 runqueue (CfsRq),
// MainlinePolicies against the mainline one (EevdfRq).
struct SchedPolicies {
  PlacementPolicy* placement = nullptr;
  PickPolicy* pick = nullptr;
};
struct MainlinePolicies {
  MainlinePlacementPolicy* placement = nullptr;
  MainlinePickPolicy* pick = nullptr;
};
// Mainline CFS (5.15 .. 6.5) on the mainline base (MainlineCfsRq).
struct MainlineCfsPolicies {
  MainlineCfsPlacementPolicy* placement = nullptr;
  MainlineCfsPickPolicy* pick = nullptr;
};

// Runs the workload on the platform with the core of kernel base `base` and
// the given policies: the LSK 3.10 core (CfsRq) for SchedPolicies, the
// mainline cores for MainlinePolicies (EevdfRq) and MainlineCfsPolicies
// (MainlineCfsRq, whose release is options.kernel_version). InvalidArgument if `base`
// is not the base of that core, or a policy declares another base.
// Otherwise as RunSchedSim(); `options.policy` is ignored.
StatusOr<model::Result> RunSched(const VersionTraits& base, SchedPolicies policies, const workload::Platform& platform,
                                 const workload::SchedWorkload& workload, const SchedOptions& options, uint64_t seed,
                                 const std::atomic<bool>* cancel, SchedObserver* observer = nullptr,
                                 model::SchedObserver* trace = nullptr);
StatusOr<model::Result> RunSched(const VersionTraits& base, MainlinePolicies policies,
                                 const workload::Platform& platform, const workload::SchedWorkload& workload,
                                 const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                 SchedObserver* observer = nullptr, model::SchedObserver* trace = nullptr);
StatusOr<model::Result> RunSched(const VersionTraits& base, MainlineCfsPolicies policies,
                                 const workload::Platform& platform, const workload::SchedWorkload& workload,
                                 const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                 SchedObserver* observer = nullptr, model::SchedObserver* trace = nullptr);

// RunSched() with the policies of options.policy: on LSK 3.10 CFS placement
// (sched.cfs) or HMP placement (sched.hmp), and the CFS pick policy; kCfs
// with a mainline options.kernel_version (5.15 .. 6.5) runs mainline CFS,
// kEevdf mainline EEVDF.
StatusOr<model::Result> RunSchedSim(const workload::Platform& platform, const workload::SchedWorkload& workload,
                                    const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                    SchedObserver* observer = nullptr, model::SchedObserver* trace = nullptr);

// True if sched.cfs's kernel_version selects mainline CFS (anything but
// "" and LSK "3.10"; the release itself is checked by the run).
bool IsMainlineCfsVersion(const std::string& kernel_version);

// cpu_power per CPU as LSK 3.10 arch/arm/kernel/topology.c computes it:
// (top_hz >> 20) * cpu_efficiency, divided by a middle capacity chosen so the
// average CPU is near SCHED_POWER_SCALE (1024).
std::vector<uint32_t> ArmCpuPower(const workload::Platform& platform);

}  // namespace kreplay::sched
