// Internal to the scheduler models: the policy-free core of a run as its
// policies see it. The core (sched_sim.cc) owns the engine, the per-CPU
// runqueues, ticks, DVFS, idle states, energy, observers and results; it knows
// no policy by name. Placement and pick policies (sched_policy.h) read the
// state below and act through the few methods SchedCore exposes.
//
// One core serves both kernel bases: it is a template on the fair runqueue
// (CfsRq for LSK 3.10; MainlineCfsRq for mainline CFS 5.15 .. 6.5 and
// EevdfRq for EEVDF 6.6+, both on the mainline base), the task's entity
// type and the base following it (FairRqTypes). SchedCore/Cpu/Task name the 3.10 instances,
// MainlineCore/MainlineCpu/MainlineTask the mainline ones. What else differs
// between the bases is data (VersionTraits, sched_version.h).
//
// Not thread-safe; one instance per run.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/dl_rq.h"
#include "workers/models/sched/eevdf_rq.h"
#include "workers/models/sched/load_avg.h"
#include "workers/models/sched/pelt.h"
#include "workers/models/sched/rt_rq.h"
#include "workers/models/sched/sched_sim.h"
#include "workers/models/sched/sched_version.h"

namespace kreplay::sched {

enum class TaskState : uint8_t { kNotStarted, kRunnable, kRunning, kBlocked, kDone };

// What a core needs to know about its fair runqueue type.
template <class Rq>
struct FairRqTypes;
template <>
struct FairRqTypes<CfsRq> {
  static constexpr KernelBase kBase = KernelBase::kLsk310;
  using Entity = SchedEntity;
  using Params = CfsTunables;
  // The pick policy's view for place_entity()/check_preempt_wakeup(): 3.10
  // decides without changing the runqueue.
  using DecideRq = const CfsRq&;
  using Wakee = const SchedEntity*;
  // No mainline PELT state on this base.
  struct TaskPelt {};
  struct CpuPelt {};
  static constexpr bool kPelt = false;
};
// The mainline base's per-task and per-CPU PELT state.
struct MainlineTaskPelt {
  pelt::Avg avg;
  int attached_cpu = -1;  // the CPU whose cfs_rq sums hold this task (-1: none)
};
struct MainlineCpuPelt {
  pelt::Clock clock;
  pelt::RqAvg rq;
  uint32_t freq_cap = 1024;  // arch_scale_freq_capacity(): cur kHz * 1024 / max kHz
};
// Mainline CFS (5.15 .. 6.5): the 3.10 runqueue's entity and decisions, the
// mainline base's PELT.
template <>
struct FairRqTypes<MainlineCfsRq> {
  static constexpr KernelBase kBase = KernelBase::kMainline;
  using Entity = SchedEntity;
  using Params = CfsTunables;
  using DecideRq = const MainlineCfsRq&;
  using Wakee = const SchedEntity*;
  using TaskPelt = MainlineTaskPelt;
  using CpuPelt = MainlineCpuPelt;
  static constexpr bool kPelt = true;
};
template <>
struct FairRqTypes<EevdfRq> {
  static constexpr KernelBase kBase = KernelBase::kMainline;
  using Entity = EevdfEntity;
  using Params = EevdfTraits;
  // PREEMPT_SHORT changes curr's slice protection at a wake-up.
  using DecideRq = EevdfRq&;
  using Wakee = EevdfEntity*;
  using TaskPelt = MainlineTaskPelt;
  using CpuPelt = MainlineCpuPelt;
  static constexpr bool kPelt = true;
};

// Fields in the order the hot paths read them (the entity, the program's
// position, PELT, the class pointers), with what the program needs of the
// spec copied in so that a phase is one load away; the cold bookkeeping and
// the per-task histogram (a pointer to its pages) last. The 64-task
// sched_bench keeps every task's hot lines in L1 this way.
template <class Rq>
struct TaskT {
  typename FairRqTypes<Rq>::Entity se;
  TaskState state = TaskState::kNotStarted;
  bool rem_is_work = false;  // kRun (capacity-scaled) vs kRuntime (wall)
  bool batch = false;
  bool wake_pending = false;  // wake-up latency not yet recorded
  int cpu = 0;
  int64_t rem = 0;        // remaining work of the busy phase
  size_t phase = 0;
  // spec->phases, spec->loops and spec->cpu_mask, copied by SetSpec().
  const workload::Phase* phases = nullptr;
  size_t nphases = 0;
  int64_t loops = 1;
  uint64_t cpu_mask = 0;
  RtEntity* rt = nullptr;  // SCHED_FIFO/SCHED_RR (rt_class.h); nullptr: the fair class
  DlEntity* dl = nullptr;  // SCHED_DEADLINE (dl_class.h, mainline base only)
  [[no_unique_address]] typename FairRqTypes<Rq>::TaskPelt pelt;  // mainline only
  sim::Time wake_time = 0;
  sim::Time activation = 0;
  sim::Time timer_next = -1;
  sim::Time exec_start = 0;    // last time it started running (cache-hot test)
  sim::Time blocked_until = -1;  // known wake time while sleeping, -1 if unknown
  sim::EventId wake_event = 0;
  int64_t cpu_time = 0;
  const workload::SchedTaskSpec* spec = nullptr;
  int index = 0;
  int64_t loops_done = 0;
  sim::Time start_time = 0;
  sim::Time finish_time = -1;
  RunnableAvg avg;             // kept only with LoadTracking::kLsk310RunnableAvg
  sim::Histogram wakeup_hist;

  // The task's spec, which must outlive it.
  void SetSpec(const workload::SchedTaskSpec* s) {
    spec = s;
    phases = s->phases.data();
    nphases = s->phases.size();
    loops = s->loops;
    cpu_mask = s->cpu_mask;
  }
};

// Division by a divisor that stays fixed for many divisions (a CPU's
// capacity at its OPP, the tick period), as the high half of a multiply by
// m = ceil(2^64 / d): with e = m * d - 2^64 < d, n * m / 2^64 = n / d +
// n * e / (d * 2^64), which moves no quotient across an integer while
// n * e < 2^64, so the quotient is exact for n < 2^(64 - bit_width(d)) (a
// run's work at capacity 1024: below 2^53; its time at a 4 ms tick: below
// 2^42 ns, 73 minutes); larger n divide. The 64-bit divisions per busy
// segment and per tick were the core's costliest instructions.
class FixedDivisor {
 public:
  FixedDivisor() = default;
  explicit FixedDivisor(uint64_t d) : d_(d) {
    KREPLAY_CHECK(d > 0, "division by zero");
    if (d > 1) {  // ceil(2^64 / 1) does not fit: 1 always divides
      m_ = UINT64_MAX / d + 1;  // ceil(2^64 / d): a power of two divides 2^64 exactly
      max_ = (uint64_t{1} << (64 - std::bit_width(d))) - 1;
    }
  }
  uint64_t Divide(uint64_t n) const {
    if (n > max_) [[unlikely]] return n / d_;
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(n) * m_) >> 64);
  }

 private:
  uint64_t m_ = 0;
  uint64_t max_ = 0;  // largest n divided by multiplying (0: only n = 0)
  uint64_t d_ = 1;
};

// Cache-line aligned: a CPU's record then starts a line, and with its size
// a multiple of 64 (512 bytes on the mainline base) indexing cpus_ is a shift.
template <class Rq>
struct alignas(64) CpuT {
  explicit CpuT(const typename FairRqTypes<Rq>::Params& t) : rq(t) {}
  int cluster = 0;
  // Held by value: the runqueue is read on almost every event.
  Rq rq;
  TaskT<Rq>* curr = nullptr;
  sim::Time seg_start = 0;
  sim::EventId done_event = 0;
  sim::EventId tick_event = 0;
  sim::EventId resume_event = 0;
  bool idle = true;       // no task running and not resuming
  bool resuming = false;  // leaving an idle state
  int idle_state = 0;
  sim::Time idle_since = 0;
  sim::Duration idle_pred = 0;   // EWMA of idle durations (menu-like predictor)
  sim::Duration avg_idle = 0;    // rq->avg_idle for newidle gating
  uint32_t power = 1024;    // capacity (VersionTraits::capacity): 3.10 cpu_power or arch_scale_cpu_capacity()
  FixedDivisor power_div;   // divides by power (load balancing)
  sim::Time next_balance[2] = {0, 0};
  int balance_interval_ms[2] = {1, 1};
  int balance_failed[2] = {0, 0};
  bool need_resched = false; // preemption deferred while the CPU's task runs its program
  RunnableAvg util;          // schedutil input (invariant utilisation)
  // The cluster's speed, copied per CPU by SetClusterOpp() because it is
  // read on most events: the OPP's capacity, and as the load trackers weigh
  // time, freq_scale / 1024 (1.0 when not frequency-invariant) and cap / 1024.
  uint32_t cap = 0;  // the cluster's current OPP capacity
  FixedDivisor cap_div;  // divides by cap
  double load_scale = 1.0;
  double util_scale = 1.0;
  int64_t gov_busy_mark = 0; // busy ns at the last governor sample
  [[no_unique_address]] typename FairRqTypes<Rq>::CpuPelt pelt;  // mainline only
};

struct ClusterRt {
  int first = 0;
  int n = 0;
  int opp = 0;
  // Derived from `opp` by SetClusterOpp(); read on most events.
  uint32_t cap = 0;         // the OPP's capacity
  uint32_t freq_scale = 0;  // cur kHz / (max kHz >> 10): LSK cpufreq_calc_scale()
  int pending_opp = -1;
  sim::EventId dvfs_event = 0;
  sim::Time last_change = 0;
  sim::Time gov_last_sample = 0;
  FixedDivisor power_div;  // divides by the sum of its CPUs' power (load balancing)
};

template <class Rq>
class SchedCoreT {
 public:
  using Cpu = CpuT<Rq>;
  using Task = TaskT<Rq>;
  static constexpr bool kPelt = FairRqTypes<Rq>::kPelt;

  virtual ~SchedCoreT() = default;

  sim::Time Now() const { return sim_.Now(); }
  const SchedOptions& options() const { return o_; }
  int ncpus() const { return static_cast<int>(cpus_.size()); }
  int nclusters() const { return nclusters_; }
  int ntasks() const { return static_cast<int>(tasks_.size()); }
  const Cpu& cpu(int i) const { return cpus_[i]; }
  // Clusters are ordered slowest first, as on the platform.
  const ClusterRt& cluster(int c) const { return clusters_[c]; }
  // Task i of the workload; a queued entity's task is task(se->id).
  Task* task(int i) const { return tasks_[i].get(); }

  bool Allowed(const Task* t, int cpu) const { return t->cpu_mask == 0 || (t->cpu_mask >> cpu) & 1; }
  // No task running or queued, and not leaving an idle state.
  bool CpuIdle(int cpu) const { return cpus_[cpu].idle && cpus_[cpu].rq.nr_running() == 0; }
  bool IsFastest(int cpu) const { return cpus_[cpu].cluster == nclusters() - 1; }
  // The exit latency of the idle state `cpu` is in (idle_get_state()).
  int64_t IdleExitLatency(int cpu) const {
    return p_.clusters[cpus_[cpu].cluster].idle_states[cpus_[cpu].idle_state].exit_latency_ns;
  }
  bool IsSlowest(int cpu) const { return cpus_[cpu].cluster == 0; }

  // Brings t's load signal up to now: the LSK runnable average when a
  // policy asked for it (t->avg), or on the mainline base PELT as
  // update_load_avg() does (t->pelt and its CPU's cfs_rq, clock_pelt first).
  void TouchLoad(Task* t) {
    if constexpr (kPelt) {
      PeltUpdate(t);
    } else {
      if (track_load_) UpdateLoad(t);
    }
  }
  // TouchLoad() for the running and the queued tasks of `cpu` (on the
  // mainline base: its clock, curr and cfs_rq, as the kernel's queued tasks
  // are brought up to date only when they are touched). Inline, for a policy
  // that refreshes a CPU's loads on a hot path.
  void TouchLoads(int cpu) {
    if constexpr (kPelt) {
      PeltSync(cpu);
      if (cpus_[cpu].curr && !cpus_[cpu].curr->rt && !cpus_[cpu].curr->dl) PeltTask(cpus_[cpu].curr);
      PeltRq(cpu);
    } else {
      if (!track_load_) return;
      const Cpu& c = cpus_[cpu];
      if (c.curr) UpdateLoad(c.curr);
      for (int i = 0; i < c.rq.queued(); ++i) UpdateLoad(tasks_[c.rq.queued_at(i)->id].get());
    }
  }
  // Mainline PELT (pelt.h). update_rq_clock_pelt(): the CPU's clock_pelt to
  // now; it runs scaled by capacity and frequency while a task is current,
  // and is synced to the task clock while the idle task is (idle, or
  // leaving an idle state).
  void PeltSync(int cpu) {
    Cpu& c = cpus_[cpu];
    c.pelt.clock.Advance(static_cast<uint64_t>(Now()), c.idle || c.resuming, c.power, c.pelt.freq_cap);
  }
  // __update_load_avg_se(): the task as it was since its last update
  // (queued or running counts as runnable load, running as utilisation; a
  // delayed-dequeue task is asleep), against the clock of the CPU it is
  // attached to. REQUIRES: attached, PeltSync() of that CPU done now.
  [[gnu::always_inline]] void PeltTask(Task* t) {
    uint64_t now = cpus_[t->pelt.attached_cpu].pelt.clock.Now();
    // ___update_load_sum() does nothing within the same 1024-ns unit; test
    // it here, where it is one subtraction, before the call.
    if (now >= t->pelt.avg.last_update_time && ((now - t->pelt.avg.last_update_time) >> 10) == 0) return;
    TaskState st = t->state;
    pelt::UpdateEntity(now, &t->pelt.avg, t->se.weight, st == TaskState::kRunnable || st == TaskState::kRunning,
                       st == TaskState::kRunning);
  }
  // update_cfs_rq_load_avg(): the CPU's sums (weights of the entities on
  // the runqueue, runnable tasks, a task current).
  [[gnu::always_inline]] void PeltRq(int cpu) {
    Cpu& c = cpus_[cpu];
    uint64_t now = c.pelt.clock.Now();
    if (now >= c.pelt.rq.avg.last_update_time && ((now - c.pelt.rq.avg.last_update_time) >> 10) == 0) return;
    pelt::UpdateRq(now, &c.pelt.rq, c.rq.load(), static_cast<uint32_t>(c.rq.nr_runnable()),
                   c.curr != nullptr && !c.curr->rt && !c.curr->dl);  // an RT or DL curr is not the cfs_rq's
  }
  // update_load_avg(cfs_rq, se): task then its CPU.
  void PeltUpdate(Task* t) {
    PeltSync(t->cpu);
    if (t->pelt.attached_cpu == t->cpu) PeltTask(t);
    PeltRq(t->cpu);
  }
  // cpu_util() of the fair class (max of util_avg and util_est, capped at
  // the CPU's capacity), as of the CPU's last update.
  uint32_t PeltCpuUtil(int cpu) const { return pelt::CpuUtil(cpus_[cpu].pelt.rq, cpus_[cpu].power); }
  // Moves a queued or running task to `to` (counted under `kind`) and lets
  // `to` preempt or leave idle.
  virtual void Migrate(Task* t, int to, MigrationKind kind) = 0;

 protected:
  SchedCoreT(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o)
      : p_(p), w_(w), o_(o) {}
  int64_t Units() {
    // Several load averages are touched per event: convert the time once.
    if (units_time_ != Now()) {
      units_time_ = Now();
      units_ = LoadUnits(Now(), o_.load_avg_period_ms);
    }
    return units_;
  }
  // TouchLoad()'s work, kept out of line so that a run without load
  // tracking pays one test. Defined here all the same: a caller in another
  // file (a policy's loop over a CPU's tasks) then sees that it writes only
  // the task's load average and the Units() cache, and need not reload the
  // runqueue and task table after each call.
  [[gnu::noinline]] void UpdateLoad(Task* t) {
    // Same arithmetic as RunnableAvg::Update(..., FreqScale(t->cpu), ...):
    // load_scale is exactly FreqScale(t->cpu) / 1024.0.
    TaskState st = t->state;
    bool running = st == TaskState::kRunning;
    t->avg.UpdateScaled(Units(), running || st == TaskState::kRunnable, running, cpus_[t->cpu].load_scale, decay_);
  }

  const workload::Platform& p_;
  const workload::SchedWorkload& w_;
  const SchedOptions o_;
  sim::Simulator sim_;
  LoadDecay decay_;
  std::vector<Cpu> cpus_;
  std::vector<ClusterRt> clusters_;
  // clusters_.size(), kept once the core has built them: IsFastest() and the
  // HMP checks read it on most events, and sizeof(ClusterRt) is no power of
  // two (the size would be a multiply each time).
  int nclusters_ = 0;
  std::vector<std::unique_ptr<Task>> tasks_;
  bool track_load_ = false;  // LoadTracking::kLsk310RunnableAvg
  sim::Time units_time_ = -1;  // Units() cache
  int64_t units_ = 0;
};

// The LSK 3.10 instances (sched.cfs, sched.hmp).
using Task = TaskT<CfsRq>;
using Cpu = CpuT<CfsRq>;
using SchedCore = SchedCoreT<CfsRq>;
// The mainline instances (sched.eevdf).
using MainlineTask = TaskT<EevdfRq>;
using MainlineCpu = CpuT<EevdfRq>;
using MainlineCore = SchedCoreT<EevdfRq>;
// Mainline CFS (sched.cfs with a kernel_version before 6.6).
using MainlineCfsTask = TaskT<MainlineCfsRq>;
using MainlineCfsCore = SchedCoreT<MainlineCfsRq>;

}  // namespace kreplay::sched
