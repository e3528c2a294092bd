// Internal to the scheduler models: the policy-free core of a run as its
// policies see it. The core (sched_sim.cc) owns the engine, the per-CPU
// runqueues, ticks, DVFS, idle states, energy, observers and results; it knows
// no policy by name. Placement and pick policies (sched_policy.h) read the
// state below and act through the few methods SchedCore exposes.
//
// Not thread-safe; one instance per run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/load_avg.h"
#include "workers/models/sched/sched_sim.h"

namespace kreplay::sched {

enum class TaskState : uint8_t { kNotStarted, kRunnable, kRunning, kBlocked, kDone };

struct Task {
  const workload::SchedTaskSpec* spec = nullptr;
  int index = 0;
  SchedEntity se;
  TaskState state = TaskState::kNotStarted;
  int cpu = 0;
  size_t phase = 0;
  int64_t loops_done = 0;
  int64_t rem = 0;        // remaining work of the busy phase
  bool rem_is_work = false;  // kRun (capacity-scaled) vs kRuntime (wall)
  bool batch = false;
  bool wake_pending = false;  // wake-up latency not yet recorded
  sim::Time wake_time = 0;
  sim::Time activation = 0;
  sim::Time timer_next = -1;
  sim::Time start_time = 0;
  sim::Time finish_time = -1;
  sim::Time exec_start = 0;    // last time it started running (cache-hot test)
  sim::EventId wake_event = 0;
  sim::Time blocked_until = -1;  // known wake time while sleeping, -1 if unknown
  RunnableAvg avg;             // kept only with LoadTracking::kLsk310RunnableAvg
  int64_t cpu_time = 0;
  sim::Histogram wakeup_hist;
};

struct Cpu {
  explicit Cpu(const CfsTunables& t) : rq(t) {}
  int cluster = 0;
  // Held by value: the runqueue is read on almost every event.
  CfsRq rq;
  Task* curr = nullptr;
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
  uint32_t power = 1024;    // 3.10 cpu_power
  sim::Time next_balance[2] = {0, 0};
  int balance_interval_ms[2] = {1, 1};
  int balance_failed[2] = {0, 0};
  bool need_resched = false; // preemption deferred while the CPU's task runs its program
  RunnableAvg util;          // schedutil input (invariant utilisation)
  // The cluster's speed, copied per CPU by SetClusterOpp() because it is
  // read on most events: the OPP's capacity, and as the load trackers weigh
  // time, freq_scale / 1024 (1.0 when not frequency-invariant) and cap / 1024.
  uint32_t cap = 0;  // the cluster's current OPP capacity
  double load_scale = 1.0;
  double util_scale = 1.0;
  int64_t gov_busy_mark = 0; // busy ns at the last governor sample
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
};

// Per-task load signals a placement policy can ask the core to keep.
enum class LoadTracking {
  kNone,
  // LSK 3.10 per-entity runnable average (load_avg.h): starts high at fork,
  // updated on every state change, frequency-scaled when frequency_invariant
  // (by 1024 under the single-frequency performance/powersave governors).
  kLsk310RunnableAvg,
};

class SchedCore {
 public:
  virtual ~SchedCore() = default;

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

  bool Allowed(const Task* t, int cpu) const { return t->spec->cpu_mask == 0 || (t->spec->cpu_mask >> cpu) & 1; }
  // No task running or queued, and not leaving an idle state.
  bool CpuIdle(int cpu) const { return cpus_[cpu].idle && cpus_[cpu].rq.nr_running() == 0; }
  bool IsFastest(int cpu) const { return cpus_[cpu].cluster == nclusters() - 1; }
  bool IsSlowest(int cpu) const { return cpus_[cpu].cluster == 0; }

  // Brings t->avg up to now; nothing without load tracking.
  void TouchLoad(Task* t) {
    if (track_load_) UpdateLoad(t);
  }
  // TouchLoad() for the running and the queued tasks of `cpu`. Inline, for a
  // policy that refreshes a CPU's loads on a hot path.
  void TouchLoads(int cpu) {
    if (!track_load_) return;
    const Cpu& c = cpus_[cpu];
    if (c.curr) UpdateLoad(c.curr);
    for (int i = 0; i < c.rq.queued(); ++i) UpdateLoad(tasks_[c.rq.queued_at(i)->id].get());
  }
  // Moves a queued or running task to `to` (counted under `kind`) and lets
  // `to` preempt or leave idle.
  virtual void Migrate(Task* t, int to, MigrationKind kind) = 0;

 protected:
  SchedCore(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o)
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

}  // namespace kreplay::sched
