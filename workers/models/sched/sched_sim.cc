#include "workers/models/sched/sched_sim.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/energy.h"
#include "workers/models/sched/load_avg.h"

namespace kreplay::sched {

const char* MigrationKindName(MigrationKind k) {
  switch (k) {
    case MigrationKind::kFork: return "fork";
    case MigrationKind::kWake: return "wake";
    case MigrationKind::kForced: return "forced";
    case MigrationKind::kIdlePull: return "idle_pull";
    case MigrationKind::kOffload: return "offload";
    case MigrationKind::kBalance: return "balance";
  }
  return "?";
}

std::vector<uint32_t> ArmCpuPower(const workload::Platform& platform) {
  // parse_dt_topology(): capacity = (clock-frequency >> 20) * efficiency; the
  // DT clock-frequency is taken as the cluster's top OPP.
  std::vector<uint64_t> cap;
  uint64_t min_cap = UINT64_MAX, max_cap = 0;
  for (const auto& c : platform.clusters) {
    uint64_t v = ((c.opps.back().khz * 1000) >> 20) * c.cpu_efficiency;
    for (uint32_t i = 0; i < c.cpus; ++i) cap.push_back(v);
    min_cap = std::min(min_cap, v);
    max_cap = std::max(max_cap, v);
  }
  // SCHED_POWER_SHIFT = 10. The middle capacity puts the average CPU near
  // 1024 unless the spread is too wide, then the biggest near 3 * 1024.
  uint64_t middle;
  if (4 * max_cap < 3 * (max_cap + min_cap)) {
    middle = (min_cap + max_cap) >> 11;
  } else {
    middle = ((max_cap / 3) >> 9) + 1;
  }
  std::vector<uint32_t> out;
  for (uint64_t v : cap) out.push_back(static_cast<uint32_t>(std::max<uint64_t>(1, v / std::max<uint64_t>(1, middle))));
  return out;
}

namespace {

using sim::Duration;
using sim::Time;
using workload::PhaseOp;

enum EventKind : uint64_t { kEvDone = 0, kEvTick, kEvResume, kEvWake, kEvFork, kEvGovSample, kEvDvfs };
constexpr int kKindBits = 4;
uint64_t Tag(EventKind k, uint64_t index) { return (index << kKindBits) | k; }

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
  Time wake_time = 0;
  Time activation = 0;
  Time timer_next = -1;
  Time start_time = 0;
  Time finish_time = -1;
  Time exec_start = 0;    // last time it started running (cache-hot test)
  sim::EventId wake_event = 0;
  Time blocked_until = -1;  // known wake time while sleeping, -1 if unknown
  RunnableAvg avg;
  Time last_up_mig = INT64_MIN / 2;
  Time last_down_mig = INT64_MIN / 2;
  int64_t cpu_time = 0;
  sim::Histogram wakeup_hist;
};

struct Cpu {
  explicit Cpu(const CfsTunables& t) : rq(t) {}
  int cluster = 0;
  // Held by value: the runqueue is read on almost every event.
  CfsRq rq;
  Task* curr = nullptr;
  Time seg_start = 0;
  sim::EventId done_event = 0;
  sim::EventId tick_event = 0;
  sim::EventId resume_event = 0;
  bool idle = true;       // no task running and not resuming
  bool resuming = false;  // leaving an idle state
  int idle_state = 0;
  Time idle_since = 0;
  Duration idle_pred = 0;   // EWMA of idle durations (menu-like predictor)
  Duration avg_idle = 0;    // rq->avg_idle for newidle gating
  uint32_t power = 1024;    // 3.10 cpu_power
  Time next_balance[2] = {0, 0};
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
  uint32_t freq_scale = 0;  // cur/max frequency in 1/1024
  int pending_opp = -1;
  sim::EventId dvfs_event = 0;
  Time last_change = 0;
  Time gov_last_sample = 0;
};

struct Resource {
  int64_t count = 0;
  std::deque<Task*> waiters;
};

class SchedSim final : public sim::EventHandler {
 public:
  SchedSim(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o,
           const std::atomic<bool>* cancel, SchedObserver* obs, model::SchedObserver* trace)
      : p_(p), w_(w), o_(o), cancel_(cancel), obs_(obs), trace_(trace), meter_(p, 0, 0) {}

  Status Init();
  StatusOr<model::Result> Run();
  void OnEvent(uint64_t tag) override;

 private:
  // --- helpers
  Time Now() const { return sim_.Now(); }
  bool Hmp() const { return o_.policy == Policy::kHmp; }
  const workload::Cluster& ClusterOf(int cpu) const { return p_.clusters[cpus_[cpu].cluster]; }
  uint32_t CurCap(int cpu) const { return cpus_[cpu].cap; }
  uint32_t FreqScale(int cpu) const { return o_.frequency_invariant ? clusters_[cpus_[cpu].cluster].freq_scale : 1024; }
  void SetClusterOpp(int cluster, int opp);
  bool Allowed(const Task* t, int cpu) const { return t->spec->cpu_mask == 0 || (t->spec->cpu_mask >> cpu) & 1; }
  bool CpuIdle(int cpu) const { return cpus_[cpu].idle && cpus_[cpu].rq.nr_running() == 0; }
  int64_t Units() {
    // Several load averages are touched per event: convert the time once.
    if (units_time_ != Now()) {
      units_time_ = Now();
      units_ = LoadUnits(Now(), o_.load_avg_period_ms);
    }
    return units_;
  }
  bool IsFastest(int cpu) const { return cpus_[cpu].cluster == static_cast<int>(clusters_.size()) - 1; }
  bool IsSlowest(int cpu) const { return cpus_[cpu].cluster == 0; }

  // --- accounting
  void TouchLoad(Task* t) {
    if (Hmp()) UpdateLoad(t);
  }
  // TouchLoad()'s work, kept out of line so that CFS pays one test.
  [[gnu::noinline]] void UpdateLoad(Task* t);
  void TouchUtil(int cpu);
  void UpdateCurr(int cpu);
  void StartSegment(int cpu);

  // --- task program
  enum class Step { kBusy, kBlocked, kExited };
  Step Advance(Task* t);
  // kWait: takes a count of resource `id`, or queues `t` and returns false.
  // Out of line, like kSignal's half, to keep Advance() (run per phase) lean.
  [[gnu::noinline]] bool TakeResource(Task* t, int64_t id);
  [[gnu::noinline]] void SignalResource(Task* t, int64_t id);
  void RecordResponse(Task* t);

  // --- scheduling
  void Fork(Task* t);
  void Wake(Task* t, int waker_cpu);
  void EnqueueOn(Task* t, int cpu, bool initial);
  void Kick(int cpu, Task* wakee);
  void Resched(int cpu);
  void Schedule(int cpu);
  void GoIdle(int cpu, Time wake_hint);
  void BlockCurr(int cpu, Time wake_at);
  void FinishBusy(int cpu);
  void Tick(int cpu);
  void ArmTick(int cpu);
  void Migrate(Task* t, int to, MigrationKind kind);
  // `on_cpu`: where the move happens (the trace's CPU column).
  void CountMigration(Task* t, int from, int to, MigrationKind kind, int on_cpu);

  // --- trace (model::SchedObserver): called only when trace_ is set, so a
  // run without it pays one pointer test per hook. Out of line for the same reason.
  model::SchedTaskRef TraceRef(int task, int cpu) const;
  [[gnu::noinline]] void TraceInit();
  // A switch on `cpu` to task `next` (-1 = idle); none if `next` is already there.
  [[gnu::noinline]] void TraceSwitch(int cpu, int next);
  [[gnu::noinline]] void TraceWakeup(const Task* t, bool is_new, int on_cpu, int target_cpu);
  [[gnu::noinline]] void TraceMigrate(const Task* t, int from, int to, int on_cpu);
  [[gnu::noinline]] void TraceFrequency(int cpu);
  [[gnu::noinline]] void TraceIdle(int cpu, int state);

  // --- placement
  int SelectWakeCpu(Task* t, int waker_cpu);
  int SelectForkCpu(Task* t, int parent_cpu);
  int SelectIdleSibling(Task* t, int target);
  bool WakeAffine(Task* t, int this_cpu, int prev_cpu, int imbalance_pct);
  int FindIdlestCpuIn(Task* t, int first, int n, int this_cpu);

  // --- balancing
  enum class IdleType { kNotIdle, kIdle, kNewlyIdle };
  bool LoadBalance(int this_cpu, int level, IdleType idle);
  void RebalanceDomains(int cpu, IdleType idle);
  bool IdleBalance(int cpu);
  void NohzKick();

  // --- HMP
  bool HmpPrioFiltered(const Task* t) const {
    return o_.hmp_prio_filter && t->spec->nice >= o_.hmp_up_prio_nice;
  }
  bool HmpUpMigration(Task* t, int cpu);
  bool HmpDownMigration(Task* t, int cpu);
  int HmpMinLoadCpu(int cluster, const Task* t, bool idle_only) const;
  void HmpTickChecks(int cpu);
  bool HmpIdlePull(int cpu);

  // --- DVFS
  void StartGovernors();
  void RequestOpp(int cluster, int opp);
  void ApplyOpp(int cluster);
  void GovernorSample(int cluster);
  void SchedutilUpdate(int cluster);

  void MaybeFinishRun();
  void FillResult(model::Result& r, Time end);

  const workload::Platform& p_;
  const workload::SchedWorkload& w_;
  const SchedOptions o_;
  const std::atomic<bool>* cancel_;
  SchedObserver* obs_;
  model::SchedObserver* trace_;
  // Filled only with trace_ (kept out of Cpu and Task, which the untraced run reads on every event):
  std::vector<std::string> trace_comm_;  // tasks, then "swapper/N" per CPU
  std::vector<int> trace_running_;       // per CPU, the task the trace last showed running (-1 = idle)
  sim::Simulator sim_;
  EnergyMeter meter_;
  LoadDecay decay_;
  CfsTunables tun_;
  Duration tick_ns_ = 10 * sim::kMs;
  int64_t cap_cal_ = 1024;
  std::vector<Cpu> cpus_;
  std::vector<ClusterRt> clusters_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::map<int64_t, Resource> resources_;
  int finite_left_ = 0;
  bool has_infinite_ = false;
  bool cancelled_ = false;
  bool finished_early_ = false;
  Time last_finish_ = -1;
  uint64_t events_since_poll_ = 0;
  int64_t context_switches_ = 0;
  int64_t migrations_[kMigrationKinds] = {};
  int64_t deadline_misses_ = 0;
  Time nohz_last_kick_ = -1;
  Time units_time_ = -1;  // Units() cache
  int64_t units_ = 0;
  int advancing_cpu_ = -1;  // CPU whose running task is executing its program
  sim::Histogram wakeup_hist_;
  sim::Histogram response_hist_;
};

Status SchedSim::Init() {
  if (p_.clusters.empty()) return InvalidArgument("platform: no clusters");
  if (o_.hz < 1 || o_.hz > 10000) return InvalidArgument("params.hz: out of range");
  tick_ns_ = sim::kSec / o_.hz;
  int ncpus = static_cast<int>(p_.total_cpus());
  tun_ = ScaledCfsTunables(ncpus, o_.latency_ns, o_.min_granularity_ns, o_.wakeup_granularity_ns);

  // Calibration CPU: named cluster (or the biggest) at calibration_khz (or its top OPP).
  const workload::Cluster* cal = &p_.clusters.back();
  if (!w_.calibration_cpu.empty()) {
    cal = nullptr;
    for (const auto& c : p_.clusters) {
      if (c.name == w_.calibration_cpu) cal = &c;
    }
    if (!cal) return InvalidArgument("workload.calibration_cpu: no cluster '" + w_.calibration_cpu + "' on platform " + p_.name);
  }
  cap_cal_ = cal->opps.back().capacity;
  if (w_.calibration_khz > 0) {
    cap_cal_ = static_cast<int64_t>(cal->opps.back().capacity * w_.calibration_khz / cal->opps.back().khz);
    for (const auto& opp : cal->opps) {
      if (opp.khz == w_.calibration_khz) cap_cal_ = opp.capacity;
    }
    if (cap_cal_ <= 0) return InvalidArgument("workload.calibration_khz: too low for cluster " + cal->name);
  }

  std::vector<uint32_t> power = ArmCpuPower(p_);
  for (int c = 0, cpu = 0; c < static_cast<int>(p_.clusters.size()); ++c) {
    ClusterRt cr;
    cr.first = cpu;
    cr.n = static_cast<int>(p_.clusters[c].cpus);
    clusters_.push_back(cr);
    for (uint32_t i = 0; i < p_.clusters[c].cpus; ++i, ++cpu) {
      Cpu x(tun_);
      x.cluster = c;
      x.power = power[cpu];
      x.idle_state = static_cast<int>(p_.clusters[c].idle_states.size()) - 1;  // idle since boot
      x.idle_pred = 10 * sim::kMs;
      x.avg_idle = 2 * o_.migration_cost_ns;  // 3.10 starts rq->avg_idle at 2 * migration_cost
      x.util.InitZero(0);
      cpus_.push_back(std::move(x));
    }
  }
  for (int cpu = 0; cpu < ncpus; ++cpu) meter_.SetIdle(cpu, cpus_[cpu].idle_state, 0);

  uint64_t all = ncpus >= 64 ? ~0ull : ((1ull << ncpus) - 1);
  for (size_t i = 0; i < w_.tasks.size(); ++i) {
    const workload::SchedTaskSpec& s = w_.tasks[i];
    std::string f = "workload.tasks[" + std::to_string(i) + "] (" + s.name + ")";
    if (s.cpu_mask != 0 && (s.cpu_mask & all) == 0) return InvalidArgument(f + ".cpu_mask: no CPU of " + p_.name);
    if (s.phases.empty()) return InvalidArgument(f + ".phases: empty");
    bool progresses = false;
    for (const auto& ph : s.phases) {
      if (ph.a < 0) return InvalidArgument(f + ".phases: negative duration");
      if (ph.op == PhaseOp::kWait || ((ph.op == PhaseOp::kRun || ph.op == PhaseOp::kRuntime ||
                                        ph.op == PhaseOp::kSleep || ph.op == PhaseOp::kTimer) && ph.a > 0)) {
        progresses = true;
      }
    }
    if (!progresses) return InvalidArgument(f + ".phases: no phase takes time, the loop would never end");
    if (s.loops == 0 || s.loops < -1) return InvalidArgument(f + ".loops: must be -1 or positive");
    auto t = std::make_unique<Task>();
    t->spec = &s;
    t->index = static_cast<int>(i);
    t->se.id = static_cast<uint32_t>(i);
    t->se.weight = NiceToWeight(s.nice);
    t->batch = s.kind == "batch";
    if (s.loops == -1) {
      has_infinite_ = true;
    } else {
      ++finite_left_;
    }
    sim_.At(std::max<int64_t>(0, s.delay_ns), this, Tag(kEvFork, i));
    tasks_.push_back(std::move(t));
  }
  StartGovernors();
  if (trace_) TraceInit();
  return OkStatus();
}

// ---------------------------------------------------------------- accounting

void SchedSim::UpdateLoad(Task* t) {
  // Same arithmetic as RunnableAvg::Update(..., FreqScale(t->cpu), ...):
  // load_scale is exactly FreqScale(t->cpu) / 1024.0.
  TaskState st = t->state;
  bool running = st == TaskState::kRunning;
  t->avg.UpdateScaled(Units(), running || st == TaskState::kRunnable, running, cpus_[t->cpu].load_scale, decay_);
}

void SchedSim::TouchUtil(int cpu) {
  if (o_.governor.kind != GovernorKind::kSchedutil) return;
  Cpu& c = cpus_[cpu];
  bool busy = !c.idle;
  c.util.UpdateScaled(Units(), busy, busy, c.util_scale, decay_);
}

void SchedSim::UpdateCurr(int cpu) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  if (!t) return;
  Duration dt = Now() - c.seg_start;
  if (dt <= 0) return;
  c.seg_start = Now();
  c.rq.UpdateCurr(dt);
  t->cpu_time += dt;
  int64_t progress = t->rem_is_work ? dt * CurCap(cpu) : dt;
  t->rem = std::max<int64_t>(0, t->rem - progress);
}

void SchedSim::StartSegment(int cpu) {
  Cpu& c = cpus_[cpu];
  if (c.done_event) sim_.Cancel(c.done_event);
  c.done_event = 0;
  c.seg_start = Now();
  Task* t = c.curr;
  if (!t) return;
  // Work is done at the current capacity per ns (rounded up); wall time as is.
  Duration d = t->rem_is_work ? (t->rem + CurCap(cpu) - 1) / CurCap(cpu) : t->rem;
  c.done_event = sim_.At(Now() + d, this, Tag(kEvDone, cpu));
}

// ------------------------------------------------------------- task program

void SchedSim::RecordResponse(Task* t) {
  if (t->batch) return;
  response_hist_.Record(Now() - t->activation);
}

SchedSim::Step SchedSim::Advance(Task* t) {
  const auto& phases = t->spec->phases;
  // A program with no time-taking phase is rejected at Init; this bound only
  // stops a pathological wait/signal ping-pong from spinning forever.
  for (int guard = 0; guard < 100000; ++guard) {
    if (t->phase >= phases.size()) {
      t->phase = 0;
      ++t->loops_done;
      if (t->spec->loops != -1 && t->loops_done >= t->spec->loops) return Step::kExited;
    }
    const workload::Phase& ph = phases[t->phase++];
    switch (ph.op) {
      case PhaseOp::kRun:
        if (ph.a > 0) {
          t->rem = ph.a * cap_cal_;
          t->rem_is_work = true;
          return Step::kBusy;
        }
        break;
      case PhaseOp::kRuntime:
        if (ph.a > 0) {
          t->rem = ph.a;
          t->rem_is_work = false;
          return Step::kBusy;
        }
        break;
      case PhaseOp::kSleep:
        if (ph.a > 0) {
          RecordResponse(t);
          t->blocked_until = Now() + ph.a;
          return Step::kBlocked;
        }
        break;
      case PhaseOp::kTimer: {
        RecordResponse(t);  // activation (previous expiry, or start) to completion
        if (t->timer_next < 0) {
          t->timer_next = Now() + ph.a;
        } else {
          t->timer_next += ph.a;
          if (t->timer_next < Now()) {
            // Overran the period: rt-app's absolute timer does not sleep.
            ++deadline_misses_;
            t->activation = t->timer_next;
            break;
          }
        }
        t->blocked_until = t->timer_next;
        return Step::kBlocked;
      }
      case PhaseOp::kWait:
        if (!TakeResource(t, ph.a)) return Step::kBlocked;
        break;
      case PhaseOp::kSignal:
        SignalResource(t, ph.a);
        break;
    }
  }
  return Step::kExited;
}

bool SchedSim::TakeResource(Task* t, int64_t id) {
  Resource& r = resources_[id];
  if (r.count > 0) {
    --r.count;
    return true;
  }
  RecordResponse(t);
  r.waiters.push_back(t);
  t->blocked_until = -1;
  return false;
}

void SchedSim::SignalResource(Task* t, int64_t id) {
  Resource& r = resources_[id];
  if (!r.waiters.empty()) {
    Task* w = r.waiters.front();
    r.waiters.pop_front();
    Wake(w, t->cpu);
  } else {
    ++r.count;
  }
}

// --------------------------------------------------------------- scheduling

void SchedSim::CountMigration(Task* t, int from, int to, MigrationKind kind, int on_cpu) {
  if (from == to) return;
  ++migrations_[static_cast<int>(kind)];
  if (obs_) obs_->OnMigration(Now(), t->index, from, to, kind);
  if (trace_) TraceMigrate(t, from, to, on_cpu);
}

void SchedSim::EnqueueOn(Task* t, int cpu, bool initial) {
  // Vruntime is relative to the runqueue: carry the offset from the old
  // queue's min_vruntime to the new one's (task_waking_fair()/migrate).
  if (!initial && t->cpu != cpu) {
    t->se.vruntime = t->se.vruntime - cpus_[t->cpu].rq.min_vruntime() + cpus_[cpu].rq.min_vruntime();
  }
  t->cpu = cpu;
  cpus_[cpu].rq.PlaceEntity(&t->se, initial);
  t->state = TaskState::kRunnable;
  cpus_[cpu].rq.Enqueue(&t->se);
}

void SchedSim::Kick(int cpu, Task* wakee) {
  Cpu& c = cpus_[cpu];
  if (c.resuming) return;  // will pick at resume
  if (c.idle) {
    // Leave the idle state: pay its exit latency, then schedule.
    TouchUtil(cpu);
    c.idle = false;
    c.resuming = true;
    Duration idle_for = Now() - c.idle_since;
    c.idle_pred = (7 * c.idle_pred + idle_for) / 8;
    // rq->avg_idle: update_avg(&avg_idle, delta), capped at 2 * migration_cost.
    Duration max_idle = 2 * o_.migration_cost_ns;
    c.avg_idle = idle_for > max_idle ? max_idle : c.avg_idle + (idle_for - c.avg_idle) / 8;
    meter_.SetBusy(cpu, Now());
    if (trace_) TraceIdle(cpu, -1);
    Duration exit = ClusterOf(cpu).idle_states[c.idle_state].exit_latency_ns;
    c.resume_event = sim_.At(Now() + exit, this, Tag(kEvResume, cpu));
    if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(c.cluster);
    return;
  }
  if (wakee && c.curr && c.rq.WakeupPreempt(&wakee->se)) {
    // A signal woke a task that should preempt the signaller itself: act
    // once the signaller's program step is done (set_tsk_need_resched()).
    if (cpu == advancing_cpu_) {
      c.need_resched = true;
    } else {
      Resched(cpu);
    }
  }
}

void SchedSim::Resched(int cpu) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  if (!t) return;
  UpdateCurr(cpu);
  TouchLoad(t);
  c.rq.PutPrev();
  t->state = TaskState::kRunnable;
  c.curr = nullptr;
  ++context_switches_;
  Schedule(cpu);
}

void SchedSim::Schedule(int cpu) {
  Cpu& c = cpus_[cpu];
  if (c.curr || c.resuming) return;
  SchedEntity* se = c.rq.PickNext();
  if (!se && IdleBalance(cpu)) {
    if (c.curr || c.resuming) return;  // the pulled task started already
    se = c.rq.PickNext();
  }
  if (!se) {
    if (c.done_event) sim_.Cancel(c.done_event);
    c.done_event = 0;
    GoIdle(cpu, -1);
    return;
  }
  Task* t = tasks_[se->id].get();
  c.need_resched = false;
  TouchLoad(t);
  t->state = TaskState::kRunning;
  t->exec_start = Now();
  c.curr = t;
  if (t->wake_pending) {
    t->wake_pending = false;
    Duration lat = Now() - t->wake_time;
    wakeup_hist_.Record(lat);
    t->wakeup_hist.Record(lat);
  }
  if (obs_) obs_->OnRun(Now(), cpu, t->index);
  if (trace_) TraceSwitch(cpu, t->index);
  StartSegment(cpu);
  if (!c.tick_event) ArmTick(cpu);
}

void SchedSim::GoIdle(int cpu, Time wake_hint) {
  Cpu& c = cpus_[cpu];
  if (c.idle) return;
  TouchUtil(cpu);
  c.idle = true;
  c.idle_since = Now();
  if (c.tick_event) sim_.Cancel(c.tick_event);  // NO_HZ idle: no tick while idle
  c.tick_event = 0;
  // Idle-state choice (cpuidle menu governor, reduced): the deepest state
  // whose target residency fits the predicted idle time, which is the
  // recent idle history bounded by the blocking task's known wake-up.
  Duration pred = c.idle_pred;
  if (wake_hint >= 0) pred = std::min(pred, wake_hint - Now());
  const auto& states = ClusterOf(cpu).idle_states;
  int s = 0;
  for (int i = 0; i < static_cast<int>(states.size()); ++i) {
    if (states[i].min_residency_ns <= pred) s = i;
  }
  c.idle_state = s;
  meter_.SetIdle(cpu, s, Now());
  if (trace_) {
    TraceSwitch(cpu, -1);
    TraceIdle(cpu, s);
  }
}

void SchedSim::BlockCurr(int cpu, Time wake_at) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  TouchLoad(t);
  c.rq.DequeueCurr();
  c.curr = nullptr;
  t->state = TaskState::kBlocked;
  ++context_switches_;
  if (wake_at >= 0) t->wake_event = sim_.At(wake_at, this, Tag(kEvWake, t->index));
  if (c.rq.nr_running() == 0 && !IdleBalance(cpu)) {
    if (c.done_event) sim_.Cancel(c.done_event);
    c.done_event = 0;
    GoIdle(cpu, wake_at);
    return;
  }
  Schedule(cpu);
}

void SchedSim::FinishBusy(int cpu) {
  Cpu& c = cpus_[cpu];
  c.done_event = 0;
  Task* t = c.curr;
  if (!t) return;
  UpdateCurr(cpu);
  t->rem = 0;
  advancing_cpu_ = cpu;
  Step s = Advance(t);
  advancing_cpu_ = -1;
  if (s == Step::kBusy) {
    StartSegment(cpu);
    if (c.need_resched) Resched(cpu);
    return;
  }
  if (s == Step::kBlocked) {
    BlockCurr(cpu, t->blocked_until);
    return;
  }
  // Exit.
  if (!t->batch) RecordResponse(t);
  if (t->batch) response_hist_.Record(Now() - t->start_time);
  TouchLoad(t);
  c.rq.DequeueCurr();
  c.curr = nullptr;
  t->state = TaskState::kDone;
  t->finish_time = Now();
  ++context_switches_;
  if (t->spec->loops != -1) {
    --finite_left_;
    last_finish_ = Now();
  }
  Schedule(cpu);
  MaybeFinishRun();
}

void SchedSim::MaybeFinishRun() {
  if (w_.duration_ns <= 0 && finite_left_ == 0 && !has_infinite_) {
    finished_early_ = true;
    sim_.Stop();
  }
}

void SchedSim::Fork(Task* t) {
  t->start_time = Now();
  t->activation = Now();
  t->cpu = 0;  // the parent (rt-app's main thread) runs on CPU 0
  if (Hmp()) t->avg.InitHigh(Units(), decay_);
  Step s = Advance(t);
  if (s == Step::kExited) {
    t->state = TaskState::kDone;
    t->finish_time = Now();
    if (t->spec->loops != -1) {
      --finite_left_;
      last_finish_ = Now();
    }
    MaybeFinishRun();
    return;
  }
  if (s == Step::kBlocked) {
    // Starts by sleeping: it is placed when it first wakes.
    t->state = TaskState::kBlocked;
    if (t->blocked_until >= 0) t->wake_event = sim_.At(t->blocked_until, this, Tag(kEvWake, t->index));
    return;
  }
  int cpu = SelectForkCpu(t, 0);
  CountMigration(t, 0, cpu, MigrationKind::kFork, 0);
  EnqueueOn(t, cpu, /*initial=*/true);
  if (trace_) TraceWakeup(t, /*is_new=*/true, 0, cpu);
  t->wake_pending = true;
  t->wake_time = Now();
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[cpu].cluster);
  Kick(cpu, t);
}

void SchedSim::Wake(Task* t, int waker_cpu) {
  if (t->state != TaskState::kBlocked) return;
  TouchLoad(t);  // decays over the sleep
  t->wake_event = 0;
  t->blocked_until = -1;
  t->wake_time = Now();
  t->wake_pending = true;
  t->activation = Now();
  int prev = t->cpu;
  int cpu = SelectWakeCpu(t, waker_cpu);
  MigrationKind kind = MigrationKind::kWake;
  CountMigration(t, prev, cpu, kind, waker_cpu);
  EnqueueOn(t, cpu, /*initial=*/false);
  if (trace_) TraceWakeup(t, /*is_new=*/false, waker_cpu, cpu);
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[cpu].cluster);
  Kick(cpu, t);
}

void SchedSim::Migrate(Task* t, int to, MigrationKind kind) {
  int from = t->cpu;
  Cpu& src = cpus_[from];
  bool was_running = src.curr == t;
  TouchLoad(t);
  if (was_running) {
    UpdateCurr(from);
    if (src.done_event) sim_.Cancel(src.done_event);
    src.done_event = 0;
    src.rq.DequeueCurr();
    src.curr = nullptr;
    ++context_switches_;
  } else {
    src.rq.Dequeue(&t->se);
  }
  // Tick-time HMP moves happen on the source CPU; balancing pulls on the destination.
  CountMigration(t, from, to, kind, kind == MigrationKind::kForced || kind == MigrationKind::kOffload ? from : to);
  t->se.vruntime = t->se.vruntime - src.rq.min_vruntime() + cpus_[to].rq.min_vruntime();
  t->cpu = to;
  t->state = TaskState::kRunnable;
  cpus_[to].rq.Enqueue(&t->se);
  if (was_running) Schedule(from);
  Kick(to, t);
}

void SchedSim::ArmTick(int cpu) {
  Time next = (Now() / tick_ns_ + 1) * tick_ns_;
  cpus_[cpu].tick_event = sim_.At(next, this, Tag(kEvTick, cpu));
}

void SchedSim::Tick(int cpu) {
  Cpu& c = cpus_[cpu];
  c.tick_event = 0;
  if (!c.curr) return;  // went idle or is resuming: NO_HZ
  UpdateCurr(cpu);
  Task* t = c.curr;
  TouchLoad(t);
  if (obs_) obs_->OnTick(Now(), cpu, t->index, t->avg.LoadRatio());
  ArmTick(cpu);
  if (o_.governor.kind == GovernorKind::kSchedutil) {
    TouchUtil(cpu);
    SchedutilUpdate(c.cluster);
  }
  if (c.rq.TickPreempt()) Resched(cpu);
  if (Hmp()) HmpTickChecks(cpu);
  RebalanceDomains(cpu, IdleType::kNotIdle);
  NohzKick();
}

void SchedSim::OnEvent(uint64_t tag) {
  if (cancel_ && ++events_since_poll_ >= 4096) {
    events_since_poll_ = 0;
    if (cancel_->load(std::memory_order_relaxed)) {
      cancelled_ = true;
      sim_.Stop();
      return;
    }
  }
  uint64_t idx = tag >> kKindBits;
  switch (static_cast<EventKind>(tag & ((1u << kKindBits) - 1))) {
    case kEvDone:
      FinishBusy(static_cast<int>(idx));
      break;
    case kEvTick:
      Tick(static_cast<int>(idx));
      break;
    case kEvResume: {
      Cpu& c = cpus_[idx];
      c.resume_event = 0;
      c.resuming = false;
      Schedule(static_cast<int>(idx));
      break;
    }
    case kEvWake:
      Wake(tasks_[idx].get(), tasks_[idx]->cpu);
      break;
    case kEvFork:
      Fork(tasks_[idx].get());
      break;
    case kEvGovSample:
      GovernorSample(static_cast<int>(idx));
      break;
    case kEvDvfs:
      ApplyOpp(static_cast<int>(idx));
      break;
  }
}

// ---------------------------------------------------------------- placement

int SchedSim::SelectIdleSibling(Task* t, int target) {
  // select_idle_sibling(): the target if idle, else the first idle CPU of the
  // target's LLC (cluster), scanning from the target onwards.
  if (CpuIdle(target) && Allowed(t, target)) return target;
  const ClusterRt& cl = clusters_[cpus_[target].cluster];
  int end = cl.first + cl.n;
  for (int k = 1; k < cl.n; ++k) {
    int cpu = target + k;  // cl.first + (target - cl.first + k) % cl.n
    if (cpu >= end) cpu -= cl.n;
    if (CpuIdle(cpu) && Allowed(t, cpu)) return cpu;
  }
  return target;
}

bool SchedSim::WakeAffine(Task* t, int this_cpu, int prev_cpu, int imbalance_pct) {
  // wake_affine(): pull to the waker's CPU if that leaves this CPU no more
  // loaded (power-scaled) than the previous CPU with half the imbalance slack.
  uint64_t this_load = cpus_[this_cpu].rq.load();
  uint64_t prev_load = cpus_[prev_cpu].rq.load();
  uint64_t this_eff = 100ull * cpus_[prev_cpu].power * (this_load + t->se.weight);
  uint64_t prev_eff = (100ull + (imbalance_pct - 100) / 2) * cpus_[this_cpu].power * prev_load;
  return this_eff <= prev_eff;
}

int SchedSim::SelectWakeCpu(Task* t, int waker_cpu) {
  int prev = t->cpu;
  int cpu = waker_cpu;
  bool same_cluster = cpus_[cpu].cluster == cpus_[prev].cluster;
  // The affine domain is the lowest one spanning both CPUs: MC if they share
  // a cluster, else DIE (which HMP builds without load balancing).
  int target = prev;
  if (cpu != prev && Allowed(t, cpu) && (same_cluster || !Hmp())) {
    int pct = same_cluster ? o_.mc_imbalance_pct : o_.imbalance_pct;
    if (WakeAffine(t, cpu, prev, pct)) target = cpu;
  }
  int new_cpu = SelectIdleSibling(t, target);
  if (!Allowed(t, new_cpu)) {
    new_cpu = -1;
    for (int c = 0; c < static_cast<int>(cpus_.size()) && new_cpu < 0; ++c) {
      if (Allowed(t, c)) new_cpu = c;
    }
  }
  if (!Hmp()) return new_cpu;
  // select_task_rq_fair() HMP tail: up to an idle big CPU, or down to the
  // least-loaded LITTLE one; otherwise stay in the previous HMP domain.
  if (HmpUpMigration(t, prev)) {
    int up = HmpMinLoadCpu(cpus_[prev].cluster + 1, t, /*idle_only=*/true);
    if (up >= 0) {
      t->last_up_mig = Now();
      return up;
    }
  }
  if (HmpDownMigration(t, prev)) {
    int down = HmpMinLoadCpu(cpus_[prev].cluster - 1, t, false);
    if (down >= 0) {
      t->last_down_mig = Now();
      return down;
    }
  }
  if (cpus_[new_cpu].cluster != cpus_[prev].cluster && Allowed(t, prev)) return prev;
  return new_cpu;
}

int SchedSim::FindIdlestCpuIn(Task* t, int first, int n, int this_cpu) {
  // find_idlest_cpu(): least weighted load; ties go to this_cpu, then the
  // lowest index.
  int best = -1;
  uint64_t best_load = UINT64_MAX;
  for (int cpu = first; cpu < first + n; ++cpu) {
    if (!Allowed(t, cpu)) continue;
    uint64_t load = cpus_[cpu].rq.load();
    if (load < best_load || (load == best_load && cpu == this_cpu)) {
      best = cpu;
      best_load = load;
    }
  }
  return best;
}

int SchedSim::SelectForkCpu(Task* t, int parent_cpu) {
  if (Hmp()) {
    // hmp_task_should_forkboost(): user tasks start on the fastest cluster.
    int cpu = HmpMinLoadCpu(static_cast<int>(clusters_.size()) - 1, t, false);
    if (cpu >= 0) {
      t->last_up_mig = Now();
      return cpu;
    }
  }
  // find_idlest_group() at DIE: the group with the least power-scaled load,
  // unless the local group is within imbalance_pct of it.
  int this_cluster = cpus_[parent_cpu].cluster;
  int chosen = -1;
  uint64_t min_load = UINT64_MAX, this_load = 0;
  bool this_allowed = false;
  for (int g = 0; g < static_cast<int>(clusters_.size()); ++g) {
    const ClusterRt& cl = clusters_[g];
    uint64_t load = 0, power = 0;
    bool allowed = false;
    for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
      load += cpus_[cpu].rq.load();
      power += cpus_[cpu].power;
      allowed = allowed || Allowed(t, cpu);
    }
    if (!allowed) continue;
    uint64_t avg = load * 1024 / power;
    if (g == this_cluster) {
      this_load = avg;
      this_allowed = true;
    } else if (avg < min_load) {
      min_load = avg;
      chosen = g;
    }
  }
  if (chosen < 0 || (this_allowed && 100 * this_load < static_cast<uint64_t>(o_.imbalance_pct) * min_load)) {
    chosen = this_allowed ? this_cluster : chosen;
  }
  const ClusterRt& cl = clusters_[chosen];
  int this_cpu = chosen == this_cluster ? parent_cpu : cl.first;
  // At MC each group is one CPU: find_idlest_group() again, then the CPU.
  int idlest = FindIdlestCpuIn(t, cl.first, cl.n, -1);
  if (Allowed(t, this_cpu) && idlest != this_cpu) {
    uint64_t here = cpus_[this_cpu].rq.load() * 1024 / cpus_[this_cpu].power;
    uint64_t there = cpus_[idlest].rq.load() * 1024 / cpus_[idlest].power;
    if (100 * here < static_cast<uint64_t>(o_.mc_imbalance_pct) * there) idlest = this_cpu;
  }
  return idlest;
}

// ---------------------------------------------------------------- balancing

bool SchedSim::LoadBalance(int this_cpu, int level, IdleType idle) {
  // No default member initialisers: the array is left uninitialised and
  // each group used is value-initialised by Group{first, n} below (zeroing
  // all 64 cost more than the balancing itself).
  struct Group {
    int first, n;
    uint64_t load, power;
    int nr, idle_cpus;
    uint64_t avg;
    int capacity;
    bool imbalanced;  // sgs->group_imb
  };
  Group groups[64];
  int ng = 0;
  int local = 0;
  const ClusterRt& mine = clusters_[cpus_[this_cpu].cluster];
  if (level == 0) {
    for (int cpu = mine.first; cpu < mine.first + mine.n; ++cpu) {
      if (cpu == this_cpu) local = ng;
      groups[ng++] = Group{cpu, 1};
    }
  } else {
    for (int c = 0; c < static_cast<int>(clusters_.size()); ++c) {
      if (c == cpus_[this_cpu].cluster) local = ng;
      groups[ng++] = Group{clusters_[c].first, clusters_[c].n};
    }
  }
  uint64_t total_load = 0, total_power = 0;
  for (int g = 0; g < ng; ++g) {
    Group& G = groups[g];
    uint64_t max_cpu_load = 0, min_cpu_load = UINT64_MAX;
    int max_nr = 0;
    for (int cpu = G.first; cpu < G.first + G.n; ++cpu) {
      uint64_t l = cpus_[cpu].rq.load();
      G.load += l;
      G.power += cpus_[cpu].power;
      G.nr += cpus_[cpu].rq.nr_running();
      max_nr = std::max(max_nr, cpus_[cpu].rq.nr_running());
      max_cpu_load = std::max(max_cpu_load, l);
      min_cpu_load = std::min(min_cpu_load, l);
      if (CpuIdle(cpu)) ++G.idle_cpus;
    }
    G.avg = G.load * 1024 / G.power;
    // update_sg_lb_stats(): the group is internally imbalanced when its CPUs'
    // loads differ by a task's worth and one CPU has several tasks.
    uint64_t per_task_load = G.nr ? G.load / G.nr : 0;
    G.imbalanced = max_nr > 1 && max_cpu_load - min_cpu_load >= per_task_load;
    G.capacity = std::max<int>(1, static_cast<int>((G.power + 512) / 1024));
    total_load += G.load;
    total_power += G.power;
  }
  // update_sd_pick_busiest(): only an overloaded group (more tasks than its
  // power-derived capacity) or an internally imbalanced one can be the busiest.
  int busiest = -1;
  for (int g = 0; g < ng; ++g) {
    if (g == local || (groups[g].nr <= groups[g].capacity && !groups[g].imbalanced)) continue;
    if (busiest < 0 || groups[g].avg > groups[busiest].avg) busiest = g;
  }
  int& failed = cpus_[this_cpu].balance_failed[level];
  if (busiest < 0) return false;
  const Group& B = groups[busiest];
  const Group& L = groups[local];
  uint64_t sds_avg = total_load * 1024 / total_power;
  bool force = idle == IdleType::kNewlyIdle && L.capacity > L.nr && !(B.capacity > B.nr);
  if (!force) {
    if (L.avg >= B.avg || L.avg >= sds_avg) return false;
    if (idle == IdleType::kIdle) {
      if (L.idle_cpus <= B.idle_cpus + 1 && B.nr <= B.n) return false;
    } else {
      int pct = level == 0 ? o_.mc_imbalance_pct : o_.imbalance_pct;
      if (100 * B.avg <= static_cast<uint64_t>(pct) * L.avg) return false;
    }
  }
  // calculate_imbalance(): pull no more than brings busiest down to the
  // average (and not below its capacity), nor local above the average.
  uint64_t max_pull = B.avg > sds_avg ? B.avg - sds_avg : 0;
  if (!B.imbalanced) {
    uint64_t above_cap = static_cast<uint64_t>(std::max(0, B.nr - B.capacity)) * kNiceZeroWeight * 1024 / B.power;
    max_pull = std::min(max_pull, above_cap);
  }
  uint64_t imbalance = std::min(max_pull * B.power, (sds_avg > L.avg ? sds_avg - L.avg : 0) * L.power) / 1024;
  uint64_t per_task = B.nr ? B.load / B.nr : 0;
  if (imbalance < per_task) imbalance = per_task;  // fix_small_imbalance(), reduced

  // find_busiest_queue(): most power-scaled load among the group's CPUs.
  int src = -1;
  uint64_t src_wl = 0;
  for (int cpu = B.first; cpu < B.first + B.n; ++cpu) {
    const CfsRq& rq = cpus_[cpu].rq;
    if (rq.nr_running() == 0) continue;
    if (rq.nr_running() == 1 && rq.load() > imbalance) continue;
    uint64_t wl = rq.load() * 1024 / cpus_[cpu].power;
    if (src < 0 || wl > src_wl) {
      src = cpu;
      src_wl = wl;
    }
  }
  if (src < 0) return false;
  // move_tasks(): queued (not running) tasks, most recently queued last in the
  // heap array first; skip cache-hot ones until balancing keeps failing.
  constexpr int kCacheNiceTries = 1;
  int moved = 0;
  int64_t remaining = static_cast<int64_t>(imbalance);
  CfsRq& srq = cpus_[src].rq;
  for (int i = srq.queued() - 1; i >= 0 && remaining > 0 && moved < 32; --i) {
    if (i >= srq.queued()) continue;
    Task* t = tasks_[srq.queued_at(i)->id].get();
    if (!Allowed(t, this_cpu)) continue;
    bool hot = Now() - t->exec_start < o_.migration_cost_ns;
    if (hot && failed <= kCacheNiceTries) continue;
    if (static_cast<int64_t>(t->se.weight / 2) > remaining) continue;
    // Never move a task if that would leave this CPU busier than the source.
    uint64_t src_after = (srq.load() - t->se.weight) * 1024 / cpus_[src].power;
    uint64_t dst_after = (cpus_[this_cpu].rq.load() + t->se.weight) * 1024 / cpus_[this_cpu].power;
    if (dst_after > src_after + t->se.weight * 1024 / cpus_[this_cpu].power) continue;
    Migrate(t, this_cpu, MigrationKind::kBalance);
    remaining -= t->se.weight;
    ++moved;
    if (idle == IdleType::kNewlyIdle) break;
  }
  if (moved > 0) {
    failed = 0;
    cpus_[this_cpu].balance_interval_ms[level] = 1;
    return true;
  }
  ++failed;
  // need_active_balance(): after repeated failures push the source's running
  // task here (active_load_balance_cpu_stop()).
  Task* running = cpus_[src].curr;
  if (idle != IdleType::kNewlyIdle && failed > kCacheNiceTries + 2 && running && Allowed(running, this_cpu) &&
      CpuIdle(this_cpu) && srq.nr_running() >= 1) {
    failed = kCacheNiceTries + 1;
    Migrate(running, this_cpu, MigrationKind::kBalance);
    return true;
  }
  cpus_[this_cpu].balance_interval_ms[level] = std::min(4, cpus_[this_cpu].balance_interval_ms[level] * 2);
  return false;
}

void SchedSim::RebalanceDomains(int cpu, IdleType idle) {
  // rebalance_domains(): per level, when its interval (x busy_factor when the
  // CPU is busy) has passed. HMP has no cross-cluster (DIE) balancing.
  int levels = (Hmp() || clusters_.size() < 2) ? 1 : 2;
  Cpu& c = cpus_[cpu];
  for (int level = 0; level < levels; ++level) {
    if (Now() < c.next_balance[level]) continue;
    Duration interval = c.balance_interval_ms[level] * sim::kMs;
    if (idle == IdleType::kNotIdle) interval *= o_.busy_factor;
    interval = std::max(interval, tick_ns_);
    c.next_balance[level] = Now() + interval;
    if (LoadBalance(cpu, level, idle)) idle = IdleType::kNotIdle;
  }
}

bool SchedSim::IdleBalance(int cpu) {
  // idle_balance(): skipped when this CPU's idle periods are shorter than a
  // migration costs.
  Cpu& c = cpus_[cpu];
  if (Hmp() && IsFastest(cpu) && !IsSlowest(cpu) && HmpIdlePull(cpu)) return true;
  if (c.avg_idle < o_.migration_cost_ns) return false;
  int levels = (Hmp() || clusters_.size() < 2) ? 1 : 2;
  for (int level = 0; level < levels; ++level) {
    if (LoadBalance(cpu, level, IdleType::kNewlyIdle)) return true;
  }
  return false;
}

void SchedSim::NohzKick() {
  // nohz_kick_needed(): a busy CPU with 2+ runnable tasks kicks the idle load
  // balancer at most once per jiffy; it balances on behalf of every idle CPU.
  if (nohz_last_kick_ >= 0 && Now() - nohz_last_kick_ < tick_ns_) return;
  bool overloaded = false, any_idle = false;
  for (const Cpu& c : cpus_) {
    int nr = c.rq.nr_running();
    overloaded = overloaded || nr >= 2;
    any_idle = any_idle || (c.idle && nr == 0);  // CpuIdle()
    if (overloaded && any_idle) break;
  }
  if (!overloaded || !any_idle) return;
  nohz_last_kick_ = Now();
  for (int cpu = 0; cpu < static_cast<int>(cpus_.size()); ++cpu) {
    if (CpuIdle(cpu)) RebalanceDomains(cpu, IdleType::kIdle);
  }
}

// ---------------------------------------------------------------------- HMP

bool SchedSim::HmpUpMigration(Task* t, int cpu) {
  // hmp_up_migration(): heavy enough, not filtered, settled since the last
  // up-migration, and an idle CPU exists in the faster domain.
  if (IsFastest(cpu)) return false;
  if (HmpPrioFiltered(t)) return false;
  if (t->avg.LoadRatio() < o_.hmp_up_threshold) return false;
  if (Now() - t->last_up_mig < o_.hmp_min_migration_interval_ns) return false;
  return HmpMinLoadCpu(cpus_[cpu].cluster + 1, t, true) >= 0;
}

bool SchedSim::HmpDownMigration(Task* t, int cpu) {
  // hmp_down_migration(): filtered tasks always go down; otherwise below the
  // down threshold once settled.
  if (IsSlowest(cpu)) return false;
  bool allowed_below = false;
  const ClusterRt& below = clusters_[cpus_[cpu].cluster - 1];
  for (int c = below.first; c < below.first + below.n; ++c) allowed_below = allowed_below || Allowed(t, c);
  if (!allowed_below) return false;
  if (HmpPrioFiltered(t)) return true;
  if (Now() - t->last_down_mig < o_.hmp_min_migration_interval_ns) return false;
  return t->avg.LoadRatio() < o_.hmp_down_threshold;
}

int SchedSim::HmpMinLoadCpu(int cluster, const Task* t, bool idle_only) const {
  if (cluster < 0 || cluster >= static_cast<int>(clusters_.size())) return -1;
  const ClusterRt& cl = clusters_[cluster];
  int best = -1, best_load = INT32_MAX;
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    if (t && !Allowed(t, cpu)) continue;
    int load = CpuIdle(cpu) ? 0 : 1 + cpus_[cpu].rq.nr_running();
    if (idle_only && load != 0) continue;
    if (load < best_load) {
      best = cpu;
      best_load = load;
    }
  }
  return best;
}

void SchedSim::HmpTickChecks(int cpu) {
  // hmp_force_up_migration() for this CPU: the heaviest runnable task goes
  // up if it qualifies; on a big CPU, hmp_offload_down() for the running one.
  Cpu& c = cpus_[cpu];
  if (!IsFastest(cpu)) {
    Task* heaviest = nullptr;
    uint32_t best = 0;
    auto consider = [&](Task* t) {
      TouchLoad(t);
      uint32_t r = t->avg.LoadRatio();
      if (!heaviest || r > best) {
        heaviest = t;
        best = r;
      }
    };
    if (c.curr) consider(c.curr);
    for (int i = 0; i < c.rq.queued(); ++i) consider(tasks_[c.rq.queued_at(i)->id].get());
    if (heaviest && HmpUpMigration(heaviest, cpu)) {
      int to = HmpMinLoadCpu(c.cluster + 1, heaviest, true);
      heaviest->last_up_mig = Now();
      Migrate(heaviest, to, MigrationKind::kForced);
    }
    return;
  }
  Task* t = c.curr;
  if (!t || IsSlowest(cpu)) return;
  // Offload only if this domain has no idle CPU, the task is not alone, it is
  // starving (runs < 75 % of its runnable time) and a slower CPU idles.
  if (HmpMinLoadCpu(c.cluster, nullptr, true) >= 0) return;
  if (c.rq.nr_running() < 2) return;
  uint32_t running_share = static_cast<uint32_t>(t->avg.usage_sum * 1024.0 / (t->avg.runnable_sum + 1.0));
  if (running_share > 768) return;
  int to = HmpMinLoadCpu(c.cluster - 1, t, true);
  if (to < 0) return;
  t->last_down_mig = Now();
  Migrate(t, to, MigrationKind::kOffload);
}

bool SchedSim::HmpIdlePull(int cpu) {
  // hmp_idle_pull(): an idle big CPU takes the heaviest eligible task from the
  // slower domain.
  Task* best = nullptr;
  uint32_t best_ratio = 0;
  const ClusterRt& below = clusters_[cpus_[cpu].cluster - 1];
  for (int c = below.first; c < below.first + below.n; ++c) {
    auto consider = [&](Task* t) {
      if (!Allowed(t, cpu) || HmpPrioFiltered(t)) return;
      if (Now() - t->last_up_mig < o_.hmp_min_migration_interval_ns) return;
      TouchLoad(t);
      uint32_t r = t->avg.LoadRatio();
      if (r > o_.hmp_up_threshold && r > best_ratio) {
        best = t;
        best_ratio = r;
      }
    };
    if (cpus_[c].curr) consider(cpus_[c].curr);
    for (int i = 0; i < cpus_[c].rq.queued(); ++i) consider(tasks_[cpus_[c].rq.queued_at(i)->id].get());
  }
  if (!best) return false;
  best->last_up_mig = Now();
  Migrate(best, cpu, MigrationKind::kIdlePull);
  return true;
}

// --------------------------------------------------------------------- DVFS

void SchedSim::StartGovernors() {
  for (int c = 0; c < static_cast<int>(clusters_.size()); ++c) {
    int top = static_cast<int>(p_.clusters[c].opps.size()) - 1;
    int opp = 0;
    switch (o_.governor.kind) {
      case GovernorKind::kPerformance: opp = top; break;
      case GovernorKind::kPowersave: opp = 0; break;
      default: opp = 0; break;  // dynamic governors start low, as after boot idle
    }
    SetClusterOpp(c, opp);
    meter_.SetOpp(c, opp, 0);
    if (o_.governor.kind == GovernorKind::kOndemand || o_.governor.kind == GovernorKind::kInteractive) {
      sim_.At(o_.governor.sampling_ns, this, Tag(kEvGovSample, c));
    }
  }
}

void SchedSim::SetClusterOpp(int cluster, int opp) {
  ClusterRt& cl = clusters_[cluster];
  const workload::Cluster& pc = p_.clusters[cluster];
  cl.opp = opp;
  cl.cap = pc.opps[opp].capacity;
  cl.freq_scale = static_cast<uint32_t>(pc.opps[opp].khz * 1024 / pc.opps.back().khz);
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    cpus_[cpu].cap = cl.cap;
    cpus_[cpu].load_scale = FreqScale(cpu) / 1024.0;
    cpus_[cpu].util_scale = cl.cap / 1024.0;
  }
}

void SchedSim::RequestOpp(int cluster, int opp) {
  ClusterRt& cl = clusters_[cluster];
  int want_now = cl.pending_opp >= 0 ? cl.pending_opp : cl.opp;
  if (opp == want_now) return;
  if (cl.dvfs_event) sim_.Cancel(cl.dvfs_event);
  cl.pending_opp = opp;
  cl.last_change = Now();
  cl.dvfs_event = sim_.At(Now() + p_.clusters[cluster].dvfs_transition_ns, this, Tag(kEvDvfs, cluster));
}

void SchedSim::ApplyOpp(int cluster) {
  ClusterRt& cl = clusters_[cluster];
  cl.dvfs_event = 0;
  if (cl.pending_opp < 0) return;
  // Everything that depends on the speed is accounted at the old one first.
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    UpdateCurr(cpu);
    TouchUtil(cpu);
    if (Hmp()) {
      if (cpus_[cpu].curr) TouchLoad(cpus_[cpu].curr);
      for (int i = 0; i < cpus_[cpu].rq.queued(); ++i) TouchLoad(tasks_[cpus_[cpu].rq.queued_at(i)->id].get());
    }
  }
  SetClusterOpp(cluster, cl.pending_opp);
  cl.pending_opp = -1;
  meter_.SetOpp(cluster, cl.opp, Now());
  if (obs_) obs_->OnOpp(Now(), cluster, cl.opp);
  if (trace_) {
    for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) TraceFrequency(cpu);
  }
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    if (cpus_[cpu].curr) StartSegment(cpu);
  }
}

void SchedSim::GovernorSample(int cluster) {
  ClusterRt& cl = clusters_[cluster];
  const workload::Cluster& pc = p_.clusters[cluster];
  sim_.At(Now() + o_.governor.sampling_ns, this, Tag(kEvGovSample, cluster));
  meter_.Flush(Now());
  Duration window = Now() - cl.gov_last_sample;
  cl.gov_last_sample = Now();
  if (window <= 0) return;
  int load = 0;
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    int64_t busy = meter_.busy_time(cpu);
    int l = static_cast<int>((busy - cpus_[cpu].gov_busy_mark) * 100 / window);
    cpus_[cpu].gov_busy_mark = busy;
    load = std::max(load, l);
  }
  int cur = cl.pending_opp >= 0 ? cl.pending_opp : cl.opp;
  if (o_.governor.kind == GovernorKind::kOndemand) {
    RequestOpp(cluster, OndemandTarget(pc, o_.governor, cur, load));
  } else {
    int target = InteractiveTarget(pc, o_.governor, cur, load);
    // floor_validate_time: hold the speed for min_sample_time before lowering.
    if (target < cur && Now() - cl.last_change < o_.governor.min_sample_time) return;
    RequestOpp(cluster, target);
  }
}

void SchedSim::SchedutilUpdate(int cluster) {
  ClusterRt& cl = clusters_[cluster];
  uint32_t util = 0;
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    TouchUtil(cpu);
    util = std::max(util, cpus_[cpu].util.UsageRatio());
  }
  int cur = cl.pending_opp >= 0 ? cl.pending_opp : cl.opp;
  int target = SchedutilTarget(p_.clusters[cluster], util);
  if (target == cur) return;
  Duration limit = target > cur ? o_.governor.up_rate_limit_ns : o_.governor.down_rate_limit_ns;
  if (Now() - cl.last_change < limit) return;
  RequestOpp(cluster, target);
}

// -------------------------------------------------------------------- trace

model::SchedTaskRef SchedSim::TraceRef(int task, int cpu) const {
  if (task < 0) return {0, trace_comm_[tasks_.size() + cpu], model::SchedPrio(0)};
  return {model::kSchedTaskPidBase + task, trace_comm_[task], model::SchedPrio(tasks_[task]->spec->nice)};
}

void SchedSim::TraceInit() {
  for (const auto& t : tasks_) trace_comm_.push_back(t->spec->name.substr(0, model::kSchedCommMax));
  for (size_t cpu = 0; cpu < cpus_.size(); ++cpu) trace_comm_.push_back("swapper/" + std::to_string(cpu));
  trace_running_.assign(cpus_.size(), -1);
  // The state at time 0: every CPU idle in its deepest state, at its cluster's first OPP.
  for (int cpu = 0; cpu < static_cast<int>(cpus_.size()); ++cpu) {
    TraceFrequency(cpu);
    TraceIdle(cpu, cpus_[cpu].idle_state);
  }
}

void SchedSim::TraceSwitch(int cpu, int next) {
  int prev = trace_running_[cpu];
  if (prev == next) return;  // as __schedule(): no switch when prev == next
  trace_running_[cpu] = next;
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kSwitch;
  e.cpu = cpu;
  e.task = TraceRef(prev, cpu);
  e.next = TraceRef(next, cpu);
  if (prev >= 0) {
    switch (tasks_[prev]->state) {
      case TaskState::kBlocked: e.prev_state = "S"; break;
      case TaskState::kDone: e.prev_state = "X"; break;  // EXIT_DEAD: rt-app threads are reaped at once
      default: e.prev_state = "R+"; break;               // preempted (or moved) while runnable
    }
  }
  trace_->On(e);
}

void SchedSim::TraceWakeup(const Task* t, bool is_new, int on_cpu, int target_cpu) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = is_new ? model::SchedTraceEvent::Kind::kWakeupNew : model::SchedTraceEvent::Kind::kWakeup;
  e.cpu = on_cpu;
  e.task = TraceRef(t->index, on_cpu);
  e.target_cpu = target_cpu;
  trace_->On(e);
}

void SchedSim::TraceMigrate(const Task* t, int from, int to, int on_cpu) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kMigrate;
  e.cpu = on_cpu;
  e.task = TraceRef(t->index, on_cpu);
  e.orig_cpu = from;
  e.dest_cpu = to;
  trace_->On(e);
}

void SchedSim::TraceFrequency(int cpu) {
  const ClusterRt& cl = clusters_[cpus_[cpu].cluster];
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kCpuFrequency;
  e.cpu = cpu;
  e.khz = static_cast<uint32_t>(p_.clusters[cpus_[cpu].cluster].opps[cl.opp].khz);
  trace_->On(e);
}

void SchedSim::TraceIdle(int cpu, int state) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kCpuIdle;
  e.cpu = cpu;
  e.idle_state = state;
  trace_->On(e);
}

// ------------------------------------------------------------------- result

StatusOr<model::Result> SchedSim::Run() {
  Time limit = w_.duration_ns > 0 ? w_.duration_ns : o_.max_sim_time_ns;
  sim_.RunUntil(limit);
  if (cancelled_) return Cancelled("sched run cancelled at simulated " + std::to_string(Now()) + " ns");
  Time end = finished_early_ ? Now() : limit;
  for (int cpu = 0; cpu < static_cast<int>(cpus_.size()); ++cpu) UpdateCurr(cpu);
  meter_.Flush(end);
  model::Result r;
  FillResult(r, end);
  return r;
}

// Called once, last: moves the histograms out.
void SchedSim::FillResult(model::Result& r, Time end) {
  r.sim_events = sim_.events_processed();
  r.sim_time_ns = end;
  double ms = 1e6, us = 1e3;
  bool joules = p_.power_unit == "mW";
  r.Set("energy", meter_.power_seconds() / (joules ? 1000.0 : 1.0), joules ? "J" : "units");
  r.Set("wakeup_latency_p50_us", wakeup_hist_.Percentile(0.5) / us, "us");
  r.Set("wakeup_latency_p99_us", wakeup_hist_.Percentile(0.99) / us, "us");
  r.Set("wakeup_latency_mean_us", wakeup_hist_.Mean() / us, "us");
  r.Set("response_time_p50_ms", response_hist_.Percentile(0.5) / ms, "ms");
  r.Set("response_time_p99_ms", response_hist_.Percentile(0.99) / ms, "ms");
  bool all_finite_done = finite_left_ == 0 && last_finish_ >= 0;
  r.Set("makespan_ms", (all_finite_done ? last_finish_ : end) / ms, "ms");
  // batch_makespan_ms: when the last "batch" task finished, whatever the
  // looping tasks of other kinds do; the run length if one never finished.
  bool any_batch = false, all_batch_done = true;
  Time last_batch = 0;
  for (const auto& t : tasks_) {
    if (!t->batch) continue;
    any_batch = true;
    if (t->finish_time < 0) all_batch_done = false;
    last_batch = std::max(last_batch, t->finish_time);
  }
  r.Set("batch_makespan_ms", !any_batch ? 0.0 : (all_batch_done ? last_batch : end) / ms, "ms");
  int64_t total_mig = 0;
  for (int k = 0; k < kMigrationKinds; ++k) {
    total_mig += migrations_[k];
    r.Set(std::string("migrations_") + MigrationKindName(static_cast<MigrationKind>(k)),
          static_cast<double>(migrations_[k]), "count");
  }
  r.Set("migrations", static_cast<double>(total_mig), "count");
  r.Set("context_switches", static_cast<double>(context_switches_), "count");
  r.Set("deadline_misses", static_cast<double>(deadline_misses_), "count");
  int64_t cpu_time = 0;
  for (const auto& t : tasks_) {
    cpu_time += t->cpu_time;
    const std::string pre = "task." + t->spec->name + ".";
    r.Set(pre + "cpu_time_ms", t->cpu_time / ms, "ms");
    r.Set(pre + "wakeup_latency_p99_us", t->wakeup_hist.Percentile(0.99) / us, "us");
    r.histograms[pre + "wakeup_latency"] = std::move(t->wakeup_hist);  // the run is over
  }
  r.Set("cpu_time_ms", cpu_time / ms, "ms");
  for (int c = 0; c < static_cast<int>(clusters_.size()); ++c) {
    const workload::Cluster& pc = p_.clusters[c];
    const std::string pre = "cluster." + pc.name + ".";
    int64_t busy = 0;
    for (int cpu = clusters_[c].first; cpu < clusters_[c].first + clusters_[c].n; ++cpu) busy += meter_.busy_time(cpu);
    double util = end > 0 ? static_cast<double>(busy) / (static_cast<double>(end) * clusters_[c].n) : 0.0;
    r.Set(pre + "utilization", util, "ratio");
    for (size_t o = 0; o < pc.opps.size(); ++o) {
      r.Set(pre + "opp." + std::to_string(pc.opps[o].khz) + ".time_ms", meter_.opp_time(c, static_cast<int>(o)) / ms, "ms");
    }
    for (size_t s = 0; s < pc.idle_states.size(); ++s) {
      r.Set(pre + "idle." + pc.idle_states[s].name + ".time_ms", meter_.idle_time(c, static_cast<int>(s)) / ms, "ms");
    }
  }
  r.histograms["wakeup_latency"] = std::move(wakeup_hist_);
  r.histograms["response_time"] = std::move(response_hist_);
}

}  // namespace

StatusOr<model::Result> RunSchedSim(const workload::Platform& platform, const workload::SchedWorkload& workload,
                                    const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                    SchedObserver* observer, model::SchedObserver* trace) {
  (void)seed;  // every choice is ordered; kept in the signature for future randomised tie-breaks
  if (options.load_avg_period_ms < 1) return InvalidArgument("params.load_avg_period_ms: must be >= 1");
  auto sim = std::make_unique<SchedSim>(platform, workload, options, cancel, observer, trace);
  KREPLAY_RETURN_IF_ERROR(sim->Init());
  return sim->Run();
}

}  // namespace kreplay::sched
