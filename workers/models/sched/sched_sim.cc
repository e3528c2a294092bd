#include "workers/models/sched/sched_sim.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "workers/models/sched/dl_class.h"
#include "workers/models/sched/energy.h"
#include "workers/models/sched/group_sched.h"
#include "workers/models/sched/rt_class.h"
#include "workers/models/sched/sched_core.h"
#include "workers/models/sched/sched_policy.h"

#include <type_traits>

namespace kreplay::sched {

// Most scheduling groups one balancing level holds (checked in Init()).
constexpr size_t kMaxBalanceGroups = 64;

const char* MigrationKindName(MigrationKind k) {
  switch (k) {
    case MigrationKind::kFork: return "fork";
    case MigrationKind::kWake: return "wake";
    case MigrationKind::kForced: return "forced";
    case MigrationKind::kIdlePull: return "idle_pull";
    case MigrationKind::kOffload: return "offload";
    case MigrationKind::kBalance: return "balance";
    case MigrationKind::kRtPush: return "rt_push";
    case MigrationKind::kRtPull: return "rt_pull";
    case MigrationKind::kDlPush: return "dl_push";
    case MigrationKind::kDlPull: return "dl_pull";
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

enum EventKind : uint64_t {
  kEvDone = 0, kEvTick, kEvResume, kEvWake, kEvFork, kEvGovSample, kEvDvfs,
  kEvDlTimer, kEvDlInactive, kEvDlResched  // the deadline class's timers and deferred resched_curr()
};
constexpr int kKindBits = 4;
uint64_t Tag(EventKind k, uint64_t index) { return (index << kKindBits) | k; }

// Per-CPU capacity on a base (VersionTraits::capacity).
std::vector<uint32_t> CpuCapacities(CapacityKind kind, const workload::Platform& p) {
  if (kind == CapacityKind::kArmCpuPower) return ArmCpuPower(p);
  // arch_scale_cpu_capacity(): the CPU's capacity at its top OPP.
  std::vector<uint32_t> out;
  for (const auto& c : p.clusters) {
    for (uint32_t i = 0; i < c.cpus; ++i) out.push_back(std::max<uint32_t>(1, c.opps.back().capacity));
  }
  return out;
}

// schedutil's default rate_limit_us: cpufreq_policy_transition_delay_us()
// (drivers/cpufreq/cpufreq.c) of a policy without transition_delay_us, from
// its transition latency in us: 6.6..6.8 min(latency * LATENCY_MULTIPLIER
// (1000), 10 ms); 6.9+ (Qais Yousef, "cpufreq: Change default transition
// delay to 2ms") the latency itself above 2 ms, else min(latency * 1000,
// 2 ms); LATENCY_MULTIPLIER us without a latency.
Duration SugovTransitionDelay(const MainlineVersion& v, Duration dvfs_transition_ns) {
  int64_t latency_us = dvfs_transition_ns / sim::kUs;
  if (latency_us <= 0) return 1000 * sim::kUs;
  if (!v.AtLeast(6, 9)) return std::min<int64_t>(latency_us * 1000, 10000) * sim::kUs;
  if (latency_us > 2000) return latency_us * sim::kUs;
  return std::min<int64_t>(latency_us * 1000, 2000) * sim::kUs;
}

template <class T>
struct Resource {
  int64_t count = 0;
  std::deque<T*> waiters;
};

// The core: everything but the policies, which it calls through
// PlacementPolicy and PickPolicy (sched_policy.h).
// EventHandler is the first base so that the engine's OnEvent() calls need
// no this-adjusting thunk.
template <class Rq>
class SchedSim final : public sim::EventHandler, public SchedCoreT<Rq> {
  using Base = SchedCoreT<Rq>;
  using Cpu = CpuT<Rq>;
  using Task = TaskT<Rq>;
  using Entity = typename FairRqTypes<Rq>::Entity;
  using Params = typename FairRqTypes<Rq>::Params;
  using Placement = BasicPlacementPolicy<Rq>;
  using Pick = BasicPickPolicy<Rq>;
  // The mainline base: PELT, mainline schedutil, the RT class's 6.x rules.
  static constexpr bool kMainline = FairRqTypes<Rq>::kBase == KernelBase::kMainline;
  // The EEVDF runqueue: lag-based placement across CPUs (no vruntime
  // renormalization), delayed dequeue, and task groups (group_sched.h).
  static constexpr bool kEevdf = std::is_same_v<Rq, EevdfRq>;
  using Base::p_, Base::w_, Base::o_, Base::sim_, Base::decay_, Base::cpus_, Base::clusters_, Base::nclusters_,
      Base::tasks_, Base::track_load_;
  using Base::Now, Base::Units, Base::CpuIdle, Base::Allowed, Base::TouchLoad, Base::TouchLoads, Base::PeltSync,
      Base::PeltTask, Base::PeltRq, Base::PeltCpuUtil;

 public:
  SchedSim(const VersionTraits& traits, const workload::Platform& p, const workload::SchedWorkload& w,
           const SchedOptions& o, Placement* placement, const Pick* pick, const std::atomic<bool>* cancel,
           SchedObserver* obs, model::SchedObserver* trace)
      : sim::EventHandler(), Base(p, w, o), traits_(traits), placement_(placement), pick_(pick), cancel_(cancel),
        obs_(obs), trace_(trace), meter_(p, 0, 0) {}

  Status Init();
  StatusOr<model::Result> Run();
  void OnEvent(uint64_t tag) override;
  void Migrate(Task* t, int to, MigrationKind kind) override;

 private:
  // --- helpers
  const workload::Cluster& ClusterOf(int cpu) const { return p_.clusters[cpus_[cpu].cluster]; }
  uint32_t CurCap(int cpu) const { return cpus_[cpu].cap; }
  // freq_scale[cpu].curr_scale of LSK's frequency-invariant load scaling:
  // 1024 when the scaling is off (hmp_data.freqinvar_load_scale_enabled) or
  // the governor is single-frequency (cpufreq_policy_callback()).
  uint32_t FreqScale(int cpu) const { return freq_invariant_scale_ ? clusters_[cpus_[cpu].cluster].freq_scale : 1024; }
  void SetClusterOpp(int cluster, int opp);

  // The runqueue's parameters: 3.10 CFS tunables scaled for the CPU count,
  // or the mainline release's EEVDF traits with the feature overrides.
  // On the mainline base also the release (`version_`).
  Status MakeRqParams(int ncpus, Params* out, MainlineVersion* version) const;

  // --- mainline PELT around the runqueue operations (sched_core.h has the
  // update_load_avg() parts)
  // enqueue_task_fair(): update_load_avg(DO_ATTACH) with the task as it was
  // (asleep, or new: post_init_entity_util_avg()), then util_est_enqueue().
  void PeltEnqueue(Task* t, int cpu, bool initial);
  // util_est_dequeue(), and util_est_update() for a task going to sleep.
  void PeltUtilEstDequeue(Task* t, int cpu, bool sleep);
  // detach_entity_load_avg() from the cfs_rq the task is attached to;
  // `sync` first brings the task and that cfs_rq up to now (the caller has
  // not: TouchLoad()).
  void PeltDetach(Task* t, bool sync);

  // --- accounting
  void TouchUtil(int cpu);
  // UpdateCurr(), StartSegment() and Advance() run on most events (a busy
  // phase ending is all three): inline, their callers' frames serve them
  // (sched_bench sched.eevdf: 3 % fewer instructions per event).
  [[gnu::always_inline]] inline void UpdateCurr(int cpu);
  [[gnu::always_inline]] inline void StartSegment(int cpu);

  // --- task program
  enum class Step { kBusy, kBlocked, kExited };
  [[gnu::always_inline]] inline Step Advance(Task* t);
  // kWait: takes a count of resource `id`, or queues `t` and returns false.
  // Out of line, like kSignal's half, to keep Advance() (run per phase) lean.
  [[gnu::noinline]] bool TakeResource(Task* t, int64_t id);
  [[gnu::noinline]] void SignalResource(Task* t, int64_t id);
  void RecordResponse(Task* t);

  // --- the scheduling classes around the fair one (rt_class.h): a run
  // without RT (or SCHED_IDLE/SCHED_BATCH) tasks tests a flag and no more.
  // check_preempt_curr(): the class test, the fair class's SCHED_IDLE and
  // SCHED_BATCH rules of check_preempt_wakeup() (3.10) /
  // check_preempt_wakeup_fair() (6.x), then the pick policy.
  bool WakeupPreempt(Cpu& c, Task* wakee);
  // rq->nr_running: the fair and the RT tasks of a CPU.
  int NrRunning(int cpu) const {
    return FairNrRunning(cpu) + (rt_on_ ? rt_.nr_running(cpu) : 0) + (dl_on_ ? dl_.nr_running(cpu) : 0);
  }
  // The fair class's tasks on `cpu`: the root runqueue's entities, or with
  // task groups every task in the hierarchy (h_nr_queued).
  int FairNrRunning(int cpu) const {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] return groups_->nr_tasks(cpu);
    }
    return cpus_[cpu].rq.nr_running();
  }
  // An RT task leaves `cpu` (blocks or exits) as curr: dequeue_task_rt().
  void RtDequeueCurr(int cpu, Task* t);
  // pre_schedule_rt()/balance_rt() after RT task `prev` left `cpu`.
  void RtPull(int cpu, const Task* prev);
  // push_rt_tasks() on `cpu`.
  void RtPush(int cpu);
  // Moves a queued RT task to `to` and lets `to` reschedule.
  void RtMove(Task* t, int to, MigrationKind kind);

  // --- the deadline class (dl_class.h; mainline only), behind dl_on_.
  // enqueue_task_dl() of a new (`initial`) or woken task on `cpu`.
  void DlEnqueue(Task* t, int cpu, bool initial);
  // update_curr_dl(): charges the running deadline task `dt` of wall time,
  // scaled; throttles it when its runtime runs out.
  void DlUpdateCurr(int cpu, Task* t, Duration dt);
  // dequeue_task_dl(DEQUEUE_SLEEP) of curr `t` (it blocks or exits), with
  // task_non_contending().
  void DlDequeueSleep(int cpu, Task* t);
  // start_dl_timer(): the replenishment timer at dl_next_period(); false
  // if that has passed.
  bool DlStartTimer(Task* t);
  // resched_curr() from inside update_curr_dl(): acted on at once by the
  // caller where it can (tick, end of a phase, wake-up check), else by an
  // event at the same instant.
  void DlResched(int cpu);
  // balance_dl() after deadline task prev left `cpu`: pull_dl_task(), then
  // balance_rt() when no deadline task is runnable here.
  void DlBalance(int cpu);
  // push_dl_tasks() on `cpu` (at most `max` pushes).
  void DlPush(int cpu, int max = 1 << 30);
  // Moves a queued deadline task to `to` (running_bw with it) and lets `to` reschedule.
  void DlMove(Task* t, int to, MigrationKind kind);
  // dl_task_timer() and inactive_task_timer().
  void DlTimer(Task* t);
  void DlInactive(Task* t);

  // --- task groups (group_sched.h; mainline only). A run without task
  // groups tests groups_on_ and takes the root runqueue's path as before.
  // `c` is cpus_[cpu] (passed so that the path without groups reads the
  // runqueue as before, with no reload of the CPU table).
  Entity* PickFair(Cpu& c, int cpu) {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] return groups_->Pick(cpu);
    }
    return pick_->PickNext(c.rq);
  }
  // dequeue of the running fair task (the runqueue's DequeueCurr()).
  void DequeueCurrFair(Cpu& c, int cpu, Task* t, bool sleep) {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] {
        groups_->DequeueCurr(&t->se, cpu, sleep);
        return;
      }
      c.rq.DequeueCurr(sleep);
    } else {
      c.rq.DequeueCurr();
    }
  }

  // task_tick_fair(): entity_tick() at every level with task groups.
  bool FairTickPreempt(Cpu& c, int cpu, Task* t) {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] return groups_->TickPreempt(&t->se, cpu);
    }
    return pick_->TickPreempt(c.rq);
  }

  // --- scheduling
  void Fork(Task* t);
  void Wake(Task* t, int waker_cpu);
  void EnqueueOn(Task* t, int cpu, bool initial);
  void Kick(int cpu, Task* wakee);
  // Inline in its callers (tick, wake-up preemption, deferred resched): out of
  // line it cost about 34 instructions per call on the tick path.
  [[gnu::always_inline]] inline void Resched(int cpu);
  void Schedule(int cpu);
  void GoIdle(int cpu, Time wake_hint);
  void BlockCurr(int cpu, Time wake_at);
  void FinishBusy(int cpu);
  void Tick(int cpu);
  void ArmTick(int cpu);
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

  // --- balancing
  enum class IdleType { kNotIdle, kIdle, kNewlyIdle };
  bool LoadBalance(int this_cpu, int level, IdleType idle);
  void RebalanceDomains(int cpu, IdleType idle);
  bool IdleBalance(int cpu);
  void NohzKick();

  // --- DVFS
  void StartGovernors();
  void RequestOpp(int cluster, int opp);
  void ApplyOpp(int cluster);
  void GovernorSample(int cluster);
  void SchedutilUpdate(int cluster);

  void MaybeFinishRun();
  void FillResult(model::Result& r, Time end);

  const VersionTraits traits_;
  Placement* const placement_;
  const Pick* const pick_;
  int balance_levels_ = 1;  // MC, and DIE when the placement has cross-cluster balancing
  const std::atomic<bool>* cancel_;
  SchedObserver* obs_;
  model::SchedObserver* trace_;
  // Filled only with trace_ (kept out of Cpu and Task, which the untraced run reads on every event):
  std::vector<std::string> trace_comm_;  // tasks, then "swapper/N" per CPU
  std::vector<int> trace_running_;       // per CPU, the task the trace last showed running (-1 = idle)
  EnergyMeter meter_;
  Params rq_params_;  // CfsTunables or EevdfTraits
  MainlineVersion version_;  // the mainline release (mainline base only)
  std::vector<Duration> sugov_rate_limit_ns_;  // mainline schedutil, per cluster
  bool freq_invariant_scale_ = false;  // see FreqScale()
  Duration tick_ns_ = 10 * sim::kMs;
  FixedDivisor all_power_div_;  // the sum of every CPU's power (LoadBalance())
  FixedDivisor tick_div_{static_cast<uint64_t>(tick_ns_)};  // ArmTick()'s division by tick_ns_
  int64_t cap_cal_ = 1024;
  std::map<int64_t, Resource<Task>> resources_;
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
  int advancing_cpu_ = -1;  // CPU whose running task is executing its program
  // No run-wide wake-up histogram: FillResult() merges the tasks' ones,
  // which hold the same values (one Record() per wake-up instead of two;
  // Merge() is exact).
  sim::Histogram response_hist_;
  // The RT class, last so that a run without it keeps its layout.
  bool rt_on_ = false;          // the workload has SCHED_FIFO/SCHED_RR tasks
  bool fair_policies_ = false;  // ... SCHED_IDLE or SCHED_BATCH tasks
  int64_t rt_migrations_[kRtMigrationKinds] = {};
  RtClass<Rq> rt_;
  // The deadline class (mainline), after the RT class for the same reason.
  bool dl_on_ = false;     // the workload has SCHED_DEADLINE tasks
  bool dl_final_ = false;  // the run's closing accounting: charge, do not throttle
  int64_t dl_migrations_[kDlMigrationKinds] = {};
  int64_t dl_throttles_ = 0;
  std::vector<uint8_t> dl_resched_pending_;  // per CPU: a kEvDlResched is queued
  DlClass<Rq> dl_;
  // Task groups (mainline), after the RT class for the same reason.
  bool groups_on_ = false;
  std::unique_ptr<GroupSched> groups_;
  std::vector<Task*> lb_tasks_;  // LoadBalance()'s candidates with task groups
};

template <class Rq>
Status SchedSim<Rq>::MakeRqParams(int ncpus, Params* out, MainlineVersion* version) const {
  if constexpr (kEevdf) {
    auto traits = MainlineEevdfTraits(o_.kernel_version.empty() ? "6.12" : o_.kernel_version, ncpus, o_.hz);
    if (!traits.ok()) return InvalidArgument("params." + traits.status().message());
    EevdfTraits t = *traits;
    struct Override {
      const std::optional<bool>& value;
      bool* feature;
      const char* param;
    };
    for (const Override& ov : {Override{o_.run_to_parity, &t.features.run_to_parity, "run_to_parity"},
                               Override{o_.place_lag, &t.features.place_lag, "place_lag"},
                               Override{o_.delay_dequeue, &t.features.delay_dequeue, "delay_dequeue"}}) {
      if (!ov.value) continue;
      *ov.feature = *ov.value;
      Status st = t.Validate();
      if (!st.ok()) return InvalidArgument(std::string("params.") + ov.param + ": " + st.message());
    }
    *out = t;
    *version = t.version;
  } else if constexpr (kMainline) {
    // Mainline CFS: the 3.10 tunables (same defaults and scaling) under the
    // release's rules.
    auto v = ParseMainlineCfsVersion(o_.kernel_version);
    if (!v.ok()) return InvalidArgument("params." + v.status().message());
    *out = ScaledCfsTunables(ncpus, o_.latency_ns, o_.min_granularity_ns, o_.wakeup_granularity_ns);
    out->rules = MainlineCfsRules(*v);
    *version = *v;
  } else {
    *out = ScaledCfsTunables(ncpus, o_.latency_ns, o_.min_granularity_ns, o_.wakeup_granularity_ns);
  }
  return OkStatus();
}

template <class Rq>
void SchedSim<Rq>::PeltEnqueue(Task* t, int cpu, bool initial) {
  Cpu& c = cpus_[cpu];
  PeltSync(cpu);
  if (t->pelt.attached_cpu == cpu) PeltTask(t);
  PeltRq(cpu);
  if (t->pelt.attached_cpu != cpu) {
    // A task new to this cfs_rq: forked here, or migrated (detached from
    // its previous CPU).
    if (initial) pelt::InitNewTask(c.pelt.rq, &t->pelt.avg, t->se.weight, c.power);
    pelt::Attach(&c.pelt.rq, &t->pelt.avg, t->se.weight);
    t->pelt.attached_cpu = cpu;
  }
  pelt::UtilEstEnqueue(&c.pelt.rq, t->pelt.avg);
}

template <class Rq>
void SchedSim<Rq>::PeltUtilEstDequeue(Task* t, int cpu, bool sleep) {
  Cpu& c = cpus_[cpu];
  pelt::UtilEstDequeue(&c.pelt.rq, t->pelt.avg);
  pelt::UtilEstUpdate(&t->pelt.avg, sleep, c.power);
}

template <class Rq>
void SchedSim<Rq>::PeltDetach(Task* t, bool sync) {
  int from = t->pelt.attached_cpu;
  if (from < 0) return;
  if (sync) {
    PeltSync(from);
    PeltTask(t);
    PeltRq(from);
  }
  pelt::Detach(&cpus_[from].pelt.rq, t->pelt.avg, t->se.weight);
  t->pelt.attached_cpu = -1;
}

template <class Rq>
Status SchedSim<Rq>::Init() {
  if (p_.clusters.empty()) return InvalidArgument("platform: no clusters");
  // Load balancing keeps its groups (a cluster's CPUs, or the clusters) in a
  // fixed array and CPU masks are 64-bit: a bigger platform is refused, not
  // overrun (a platform from a work item has not been through the parser).
  uint64_t cpus_total = 0;
  for (const auto& c : p_.clusters) {
    if (c.cpus == 0 || c.cpus > kMaxBalanceGroups)
      return InvalidArgument("platform: cluster " + c.name + " has " + std::to_string(c.cpus) + " CPUs (1 to " +
                             std::to_string(kMaxBalanceGroups) + ")");
    cpus_total += c.cpus;
  }
  if (p_.clusters.size() > kMaxBalanceGroups || cpus_total > 64)
    return InvalidArgument("platform: " + std::to_string(p_.clusters.size()) + " clusters, " +
                           std::to_string(cpus_total) + " CPUs (at most " + std::to_string(kMaxBalanceGroups) +
                           " clusters and 64 CPUs)");
  if (o_.hz < 1 || o_.hz > 10000) return InvalidArgument("params.hz: out of range");
  tick_ns_ = sim::kSec / o_.hz;
  tick_div_ = FixedDivisor(static_cast<uint64_t>(tick_ns_));
  int ncpus = static_cast<int>(p_.total_cpus());
  KREPLAY_RETURN_IF_ERROR(MakeRqParams(ncpus, &rq_params_, &version_));
  // LSK cpufreq_policy_callback() recognises the performance and powersave
  // governors by name as single-frequency and pins the load scale at 1024
  // (SCHED_LOAD_FREQINVAR_SINGLEFREQ), whatever frequency they hold.
  freq_invariant_scale_ = o_.frequency_invariant && o_.governor.kind != GovernorKind::kPerformance &&
                          o_.governor.kind != GovernorKind::kPowersave;

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

  std::vector<uint32_t> power = CpuCapacities(traits_.capacity, p_);
  for (int c = 0, cpu = 0; c < static_cast<int>(p_.clusters.size()); ++c) {
    ClusterRt cr;
    cr.first = cpu;
    cr.n = static_cast<int>(p_.clusters[c].cpus);
    clusters_.push_back(cr);
    for (uint32_t i = 0; i < p_.clusters[c].cpus; ++i, ++cpu) {
      Cpu x(rq_params_);
      x.cluster = c;
      x.power = power[cpu];
      x.idle_state = static_cast<int>(p_.clusters[c].idle_states.size()) - 1;  // idle since boot
      x.idle_pred = 10 * sim::kMs;
      x.avg_idle = 2 * o_.migration_cost_ns;  // 3.10 starts rq->avg_idle at 2 * migration_cost
      x.util.InitZero(0);
      cpus_.push_back(std::move(x));
    }
  }
  nclusters_ = static_cast<int>(clusters_.size());
  // LoadBalance() divides loads by these powers: a CPU's, a cluster's, all.
  uint64_t all_power = 0;
  for (ClusterRt& cr : clusters_) {
    uint64_t sum = 0;
    for (int cpu = cr.first; cpu < cr.first + cr.n; ++cpu) {
      cpus_[cpu].power_div = FixedDivisor(cpus_[cpu].power);
      sum += cpus_[cpu].power;
    }
    cr.power_div = FixedDivisor(sum);
    all_power += sum;
  }
  all_power_div_ = FixedDivisor(all_power);
  for (int cpu = 0; cpu < ncpus; ++cpu) meter_.SetIdle(cpu, cpus_[cpu].idle_state, 0);
  if constexpr (kEevdf) {
    // A delayed task finally leaving its runqueue (__block_task()): it is
    // asleep already; nothing to account (its lag is saved by the rq).
    for (Cpu& c : cpus_) c.rq.set_blocked_hook([](void*, EevdfEntity*) {}, nullptr);
    {
      // Task groups: the per-CPU group runqueues and entities (group_sched.h).
      KREPLAY_ASSIGN_OR_RETURN(GroupTree tree, GroupTree::Build(w_));
      if (tree.size() > 1) {
        std::vector<EevdfRq*> roots;
        for (Cpu& c : cpus_) roots.push_back(&c.rq);
        groups_ = std::make_unique<GroupSched>(std::move(tree), std::move(roots), rq_params_);
        groups_on_ = true;
      }
    }
  }
  if constexpr (kMainline) {
    for (const auto& pc : p_.clusters) {
      sugov_rate_limit_ns_.push_back(o_.sugov_rate_limit_ns >= 0
                                         ? o_.sugov_rate_limit_ns
                                         : SugovTransitionDelay(version_, pc.dvfs_transition_ns));
    }
  }

  if constexpr (!kEevdf) {
    bool grouped = !w_.groups.empty();
    for (const auto& s : w_.tasks) grouped = grouped || !s.group.empty();
    if (grouped) {
      return InvalidArgument(std::string("workload.groups: the ") + traits_.name +
                             " CFS core does not model group scheduling");
    }
  }
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
    if (workload::IsRealTime(s.policy) && (s.rt_priority < 1 || s.rt_priority >= kMaxRtPrio))
      return InvalidArgument(f + ".rt_priority: must be 1..99 for " + workload::SchedPolicyName(s.policy));
    auto t = std::make_unique<Task>();
    t->SetSpec(&s);
    t->index = static_cast<int>(i);
    t->se.id = static_cast<uint32_t>(i);
    t->se.weight = NiceToWeight(s.nice);
    // set_load_weight(): SCHED_IDLE weighs WEIGHT_IDLEPRIO whatever its nice.
    if (s.policy == workload::SchedPolicy::kIdle) {
      t->se.weight = 3;
      if constexpr (std::is_same_v<Entity, SchedEntity>) t->se.idle = true;  // CfsRules::idle_entities
    }
    fair_policies_ = fair_policies_ || s.policy == workload::SchedPolicy::kIdle ||
                     s.policy == workload::SchedPolicy::kBatch;
    t->batch = s.kind == "batch";
    if (s.loops == -1) {
      has_infinite_ = true;
    } else {
      ++finite_left_;
    }
    sim_.At(std::max<int64_t>(0, s.delay_ns), this, Tag(kEvFork, i));
    tasks_.push_back(std::move(t));
  }
  rt_on_ = rt_.Init(this, o_.hz, /*distribute=*/kMainline);
  for (const auto& s : w_.tasks) {
    if (s.policy != workload::SchedPolicy::kDeadline && s.dl_runtime_ns == 0 && s.dl_deadline_ns == 0 &&
        s.dl_period_ns == 0) {
      continue;
    }
    if constexpr (!kMainline) {
      return InvalidArgument("workload: task '" + s.name + "' has policy SCHED_DEADLINE; the " + traits_.name +
                             " base predates the deadline class (Linux 3.14)");
    }
    // Parameters, affinity and admission control; the class's flag.
    KREPLAY_RETURN_IF_ERROR(dl_.Init(this));
    dl_on_ = dl_.active();
    dl_resched_pending_.assign(cpus_.size(), 0);
    break;
  }
  // The policies: what the placement needs of the core is fixed for the run.
  placement_->Attach(this);
  track_load_ = placement_->needs().load == LoadTracking::kLsk310RunnableAvg;
  balance_levels_ = placement_->needs().cross_cluster_balance && clusters_.size() >= 2 ? 2 : 1;
  StartGovernors();
  if (trace_) TraceInit();
  return OkStatus();
}

// ---------------------------------------------------------------- accounting

template <class Rq>
void SchedSim<Rq>::TouchUtil(int cpu) {
  if constexpr (kMainline) return;  // mainline schedutil reads PELT
  if (o_.governor.kind != GovernorKind::kSchedutil) return;
  Cpu& c = cpus_[cpu];
  bool busy = !c.idle;
  c.util.UpdateScaled(Units(), busy, busy, c.util_scale, decay_);
}

template <class Rq>
void SchedSim<Rq>::UpdateCurr(int cpu) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  if (!t) return;
  Duration dt = Now() - c.seg_start;
  if (dt <= 0) return;
  c.seg_start = Now();
  if (dl_on_ && t->dl) [[unlikely]] {
    DlUpdateCurr(cpu, t, dt);  // update_curr_dl(): runtime, no vruntime
  } else if (!(rt_on_ && t->rt)) {  // update_curr_rt(): CPU time, no vruntime
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] {
        groups_->UpdateCurr(&t->se, cpu, dt);  // every level of the hierarchy
      } else {
        c.rq.UpdateCurr(dt);
      }
    } else {
      c.rq.UpdateCurr(dt);
    }
  }
  t->cpu_time += dt;
  int64_t progress = t->rem_is_work ? dt * CurCap(cpu) : dt;
  t->rem = std::max<int64_t>(0, t->rem - progress);
}

template <class Rq>
void SchedSim<Rq>::StartSegment(int cpu) {
  Cpu& c = cpus_[cpu];
  if (c.done_event) sim_.Cancel(c.done_event);
  c.done_event = 0;
  c.seg_start = Now();
  Task* t = c.curr;
  if (!t) return;
  // Work is done at the current capacity per ns (rounded up); wall time as is.
  // rem >= 0 (UpdateCurr() clamps it), so the unsigned division is the same.
  Duration d = t->rem_is_work ? static_cast<Duration>(c.cap_div.Divide(static_cast<uint64_t>(t->rem + CurCap(cpu) - 1)))
                              : t->rem;
  c.done_event = sim_.At(Now() + d, this, Tag(kEvDone, cpu));
}

// ------------------------------------------------------------- task program

template <class Rq>
void SchedSim<Rq>::RecordResponse(Task* t) {
  if (t->batch) return;
  response_hist_.Record(Now() - t->activation);
}

template <class Rq>
typename SchedSim<Rq>::Step SchedSim<Rq>::Advance(Task* t) {
  const workload::Phase* phases = t->phases;
  // A program with no time-taking phase is rejected at Init; this bound only
  // stops a pathological wait/signal ping-pong from spinning forever.
  for (int guard = 0; guard < 100000; ++guard) {
    if (t->phase >= t->nphases) {
      t->phase = 0;
      ++t->loops_done;
      if (t->loops != -1 && t->loops_done >= t->loops) return Step::kExited;
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

template <class Rq>
bool SchedSim<Rq>::TakeResource(Task* t, int64_t id) {
  Resource<Task>& r = resources_[id];
  if (r.count > 0) {
    --r.count;
    return true;
  }
  RecordResponse(t);
  r.waiters.push_back(t);
  t->blocked_until = -1;
  return false;
}

template <class Rq>
void SchedSim<Rq>::SignalResource(Task* t, int64_t id) {
  Resource<Task>& r = resources_[id];
  if (!r.waiters.empty()) {
    Task* w = r.waiters.front();
    r.waiters.pop_front();
    Wake(w, t->cpu);
  } else {
    ++r.count;
  }
}

// --------------------------------------------------------------- scheduling

template <class Rq>
void SchedSim<Rq>::CountMigration(Task* t, int from, int to, MigrationKind kind, int on_cpu) {
  if (from == to) return;
  int k = static_cast<int>(kind);
  if (k < kMigrationKinds + kRtMigrationKinds) {
    ++(k < kMigrationKinds ? migrations_[k] : rt_migrations_[k - kMigrationKinds]);
  } else {
    ++dl_migrations_[k - kMigrationKinds - kRtMigrationKinds];
  }
  if (obs_) obs_->OnMigration(Now(), t->index, from, to, kind);
  if (trace_) TraceMigrate(t, from, to, on_cpu);
}

template <class Rq>
void SchedSim<Rq>::EnqueueOn(Task* t, int cpu, bool initial) {
  if (dl_on_ && t->dl) [[unlikely]] {
    DlEnqueue(t, cpu, initial);
    return;
  }
  if (rt_on_ && t->rt) {
    // enqueue_task_rt(): the tail of its priority's list.
    t->cpu = cpu;
    t->state = TaskState::kRunnable;
    rt_.rq(cpu).Enqueue(t->rt);
    return;
  }
  Rq& rq = cpus_[cpu].rq;
  if constexpr (kEevdf) {
    // enqueue_entity() (6.6+): update_curr(), then place_entity() from the
    // lag saved when the task left (vruntime is not renormalized between
    // CPUs: the lag carries its position), then __enqueue_entity(). A new
    // task (ENQUEUE_INITIAL) gets half a slice (PLACE_DEADLINE_INITIAL).
    UpdateCurr(cpu);
    PeltEnqueue(t, cpu, initial);
    if (groups_on_) [[unlikely]] {
      // enqueue_task_fair() up the task's group hierarchy.
      groups_->Enqueue(&t->se, cpu, initial);
      t->cpu = cpu;
      t->state = TaskState::kRunnable;
      return;
    }
    pick_->PlaceEntity(rq, &t->se, initial);
  } else if (initial) {
    // A new task: place_entity(initial) relative to the target's
    // min_vruntime (task_fork_fair()), then enqueue_entity(). 3.10 adds
    // the target's min_vruntime before enqueue_entity()'s update_curr(),
    // mainline after it (a task not curr is renormalized "at the current
    // moment in time").
    if constexpr (kMainline) {
      UpdateCurr(cpu);
      pick_->PlaceEntity(rq, &t->se, true);
      PeltEnqueue(t, cpu, true);  // update_load_avg(DO_ATTACH), post_init_entity_util_avg()
    } else {
      pick_->PlaceEntity(rq, &t->se, true);
      UpdateCurr(cpu);
    }
  } else {
    // A wake-up. Vruntime is relative to the runqueue: task_waking_fair()
    // (mainline: migrate_task_rq_fair()) subtracts the old queue's
    // min_vruntime and enqueue_entity() adds the new one's, before its
    // update_curr() in 3.10, after it on mainline (ENQUEUE_MIGRATED);
    // place_entity() then sees the min_vruntime that update_curr() brought
    // up to now.
    if constexpr (kMainline) {
      const bool migrated = t->cpu != cpu;
      const int64_t rel = migrated ? t->se.vruntime - cpus_[t->cpu].rq.min_vruntime() : 0;
      UpdateCurr(cpu);
      if (migrated) t->se.vruntime = rel + rq.min_vruntime();
      PeltEnqueue(t, cpu, false);
    } else {
      if (t->cpu != cpu) t->se.vruntime = t->se.vruntime - cpus_[t->cpu].rq.min_vruntime() + rq.min_vruntime();
      UpdateCurr(cpu);
    }
    pick_->PlaceEntity(rq, &t->se, false);
  }
  t->cpu = cpu;
  t->state = TaskState::kRunnable;
  rq.Enqueue(&t->se);
}

template <class Rq>
void SchedSim<Rq>::Kick(int cpu, Task* wakee) {
  Cpu& c = cpus_[cpu];
  if (c.resuming) return;  // will pick at resume
  // A deadline wakee still throttled is not queued: its timer will kick.
  if (dl_on_ && wakee && wakee->dl && !wakee->dl->on_rq) [[unlikely]] return;
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
  if (wakee && c.curr && WakeupPreempt(c, wakee)) {
    // A signal woke a task that should preempt the signaller itself: act
    // once the signaller's program step is done (set_tsk_need_resched()).
    if (cpu == advancing_cpu_) {
      c.need_resched = true;
    } else {
      Resched(cpu);
    }
  }
}

template <class Rq>
void SchedSim<Rq>::Resched(int cpu) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  if (!t) return;
  UpdateCurr(cpu);
  TouchLoad(t);
  // put_prev_task_rt()/_dl(): it stays on its list or tree (a throttled
  // deadline task has left its tree).
  if (!(rt_on_ && t->rt) && !(dl_on_ && t->dl)) {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] {
        groups_->PutPrev(&t->se, cpu);  // every level
      } else {
        c.rq.PutPrev();
      }
    } else {
      c.rq.PutPrev();
    }
  }
  t->state = TaskState::kRunnable;
  c.curr = nullptr;
  ++context_switches_;
  if (dl_on_ && t->dl && !t->dl->on_rq) DlBalance(cpu);  // throttled: balance_dl() pulls
  Schedule(cpu);
}

template <class Rq>
void SchedSim<Rq>::Schedule(int cpu) {
  Cpu& c = cpus_[cpu];
  if (c.curr || c.resuming) return;
  // pick_next_task(): the deadline class, then RT, then fair.
  DlEntity* dl_se = dl_on_ ? dl_.rq(cpu).PickNext() : nullptr;
  RtEntity* rt_se = rt_on_ && !dl_se ? rt_.rq(cpu).PickNext() : nullptr;
  Entity* se = rt_se || dl_se ? nullptr : PickFair(c, cpu);
  if (!se && !rt_se && !dl_se && IdleBalance(cpu)) {
    if (c.curr || c.resuming) return;  // the pulled task started already
    se = PickFair(c, cpu);
  }
  if (!se && !rt_se && !dl_se) {
    if (c.done_event) sim_.Cancel(c.done_event);
    c.done_event = 0;
    GoIdle(cpu, -1);
    return;
  }
  Task* t = tasks_[dl_se ? dl_se->id : rt_se ? rt_se->id : se->id].get();
  c.need_resched = false;
  TouchLoad(t);
  t->state = TaskState::kRunning;
  t->exec_start = Now();
  c.curr = t;
  if (t->wake_pending) {
    t->wake_pending = false;
    Duration lat = Now() - t->wake_time;
    t->wakeup_hist.Record(lat);
  }
  if (obs_) obs_->OnRun(Now(), cpu, t->index);
  if (trace_) TraceSwitch(cpu, t->index);
  StartSegment(cpu);
  if (!c.tick_event) ArmTick(cpu);
  if (rt_se) RtPush(cpu);  // post_schedule_rt()
  if (dl_se) DlPush(cpu);  // set_next_task_dl(): deadline_queue_push_tasks()
}

template <class Rq>
void SchedSim<Rq>::GoIdle(int cpu, Time wake_hint) {
  Cpu& c = cpus_[cpu];
  if (c.idle) return;
  TouchUtil(cpu);
  if constexpr (kMainline) {
    // The idle task is picked: update_idle_rq_clock_pelt().
    PeltSync(cpu);
    PeltRq(cpu);
    c.pelt.clock.EnterIdle(c.pelt.rq);
  }
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

template <class Rq>
void SchedSim<Rq>::BlockCurr(int cpu, Time wake_at) {
  Cpu& c = cpus_[cpu];
  Task* t = c.curr;
  TouchLoad(t);
  if (dl_on_ && t->dl) {
    DlDequeueSleep(cpu, t);
  } else if (rt_on_ && t->rt) {
    RtDequeueCurr(cpu, t);
  } else if constexpr (kMainline) {
    // dequeue_task_fair(DEQUEUE_SLEEP): util_est_dequeue()/util_est_update();
    // with DELAY_DEQUEUE an ineligible task stays queued, delayed, until a
    // pick dequeues it or a wake-up requeues it (Wake()).
    PeltUtilEstDequeue(t, cpu, /*sleep=*/true);
    DequeueCurrFair(c, cpu, t, /*sleep=*/true);  // CFS: dequeue_entity()
  } else {
    c.rq.DequeueCurr();
  }
  c.curr = nullptr;
  t->state = TaskState::kBlocked;
  ++context_switches_;
  if (wake_at >= 0) t->wake_event = sim_.At(wake_at, this, Tag(kEvWake, t->index));
  if (rt_on_ && t->rt) RtPull(cpu, t);
  if (dl_on_ && t->dl) DlBalance(cpu);
  if (NrRunning(cpu) == 0 && !IdleBalance(cpu)) {
    if (c.done_event) sim_.Cancel(c.done_event);
    c.done_event = 0;
    GoIdle(cpu, wake_at);
    return;
  }
  Schedule(cpu);
}

template <class Rq>
void SchedSim<Rq>::FinishBusy(int cpu) {
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
  if (dl_on_ && t->dl) {
    DlDequeueSleep(cpu, t);  // do_exit(): TASK_DEAD dequeues as a sleep
  } else if (rt_on_ && t->rt) {
    RtDequeueCurr(cpu, t);
  } else if constexpr (kMainline) {
    // An exiting task leaves at once (no delayed dequeue).
    PeltUtilEstDequeue(t, cpu, /*sleep=*/false);
    DequeueCurrFair(c, cpu, t, /*sleep=*/false);
  } else {
    c.rq.DequeueCurr();
  }
  c.curr = nullptr;
  t->state = TaskState::kDone;
  t->finish_time = Now();
  ++context_switches_;
  if (t->spec->loops != -1) {
    --finite_left_;
    last_finish_ = Now();
  }
  if (rt_on_ && t->rt) RtPull(cpu, t);
  if (dl_on_ && t->dl) DlBalance(cpu);
  Schedule(cpu);
  MaybeFinishRun();
}

template <class Rq>
void SchedSim<Rq>::MaybeFinishRun() {
  if (w_.duration_ns <= 0 && finite_left_ == 0 && !has_infinite_) {
    finished_early_ = true;
    sim_.Stop();
  }
}

template <class Rq>
bool SchedSim<Rq>::WakeupPreempt(Cpu& c, Task* wakee) {
  if (dl_on_ && (wakee->dl || c.curr->dl)) [[unlikely]] return DlClass<Rq>::WakeupPreempt(c.curr, wakee);
  if (rt_on_ && (wakee->rt || c.curr->rt)) return RtClass<Rq>::WakeupPreempt(c.curr, wakee);
  if (fair_policies_) {
    // An idle curr yields to a non-idle wakee; batch and idle wakees never
    // preempt at wake-up (their preemption is the tick's).
    using workload::SchedPolicy;
    if (c.curr->spec->policy == SchedPolicy::kIdle && wakee->spec->policy != SchedPolicy::kIdle) return true;
    if (wakee->spec->policy != SchedPolicy::kNormal) return false;
  }
  if constexpr (kEevdf) {
    // find_matching_se(): the first common level of wakee and curr.
    if (groups_on_) [[unlikely]] return groups_->WakeupPreempt(&c.curr->se, &wakee->se, wakee->cpu);
  }
  return pick_->WakeupPreempt(c.rq, &wakee->se);
}

template <class Rq>
void SchedSim<Rq>::RtDequeueCurr(int cpu, Task* t) {
  rt_.rq(cpu).Dequeue(t->rt);
}

template <class Rq>
void SchedSim<Rq>::RtPull(int cpu, const Task* prev) {
  rt_.Pull(
      cpu, prev->rt->prio, [this](Task* t, int to) { RtMove(t, to, MigrationKind::kRtPull); },
      [this](int k) { RtPush(k); });
}

template <class Rq>
void SchedSim<Rq>::RtPush(int cpu) {
  rt_.PushTasks(
      cpu, [this](Task* t, int to) { RtMove(t, to, MigrationKind::kRtPush); },
      [this](int k) {
        // resched_curr(): deferred while the CPU's task runs its program.
        if (k == advancing_cpu_) {
          cpus_[k].need_resched = true;
        } else {
          Resched(k);
        }
      });
}

template <class Rq>
void SchedSim<Rq>::RtMove(Task* t, int to, MigrationKind kind) {
  // deactivate_task(), set_task_cpu(), activate_task(), then the target
  // reschedules (push: resched_curr(lowest_rq); pull: the pulling CPU is
  // about to pick). A pull in 6.x is a push by the source (RT_PUSH_IPI).
  int from = t->cpu;
  rt_.rq(from).Dequeue(t->rt);
  CountMigration(t, from, to, kind, kind == MigrationKind::kRtPush ? from : to);
  t->cpu = to;
  rt_.rq(to).Enqueue(t->rt);
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[to].cluster);
  Kick(to, t);
}

// ------------------------------------------------------------ deadline class

template <class Rq>
void SchedSim<Rq>::DlEnqueue(Task* t, int cpu, bool initial) {
  DlEntity* e = t->dl;
  DlRq& rq = dl_.rq(cpu);
  int prev = t->cpu;
  t->cpu = cpu;
  t->state = TaskState::kRunnable;
  if (initial) {
    // sched_setattr() on a running task: ENQUEUE_RESTORE adds its running
    // bandwidth; Fork() set up its first instance.
    rq.AddRunningBw(e->dl_bw);
    rq.Enqueue(e);
    return;
  }
  // migrate_task_rq_dl(): a waking task still non-contending on its old CPU
  // takes its bandwidth off there now.
  if (prev != cpu && e->non_contending) {
    dl_.rq(prev).SubRunningBw(e->dl_bw);
    e->non_contending = false;
    if (e->inactive_event) sim_.Cancel(e->inactive_event);
    e->inactive_event = 0;
  }
  // enqueue_task_dl(ENQUEUE_WAKEUP): dl_check_constrained_dl() throttles a
  // constrained task woken past its deadline until its next period.
  if (!e->throttled && DlConstrainedWakeThrottles(*e, Now()) && DlStartTimer(t)) {
    e->throttled = true;
    if (e->runtime > 0) e->runtime = 0;
  }
  // task_contending(): back in running_bw unless it never left it.
  if (e->non_contending) {
    e->non_contending = false;
    if (e->inactive_event) sim_.Cancel(e->inactive_event);
    e->inactive_event = 0;
  } else {
    rq.AddRunningBw(e->dl_bw);
  }
  if (e->throttled) return;  // its timer replenishes and enqueues it
  UpdateDlEntity(e, Now());   // the CBS wake-up rule
  rq.Enqueue(e);
}

template <class Rq>
void SchedSim<Rq>::DlUpdateCurr(int cpu, Task* t, Duration dt) {
  if constexpr (kMainline) {
    DlEntity* e = t->dl;
    if (!e->on_rq) return;  // throttled already: !on_dl_rq()
    // dl_scaled_delta_exec(): arch_scale_freq_capacity() then
    // arch_scale_cpu_capacity().
    e->runtime -= DlScaledDelta(dt, cpus_[cpu].pelt.freq_cap, cpus_[cpu].power);
    if (e->runtime > 0 || dl_final_) return;
    // dl_runtime_exceeded(): throttle, dequeue, arm the replenishment timer
    // (or replenish at once if the next period has begun: ENQUEUE_REPLENISH),
    // and reschedule unless it is still the leftmost.
    e->throttled = true;
    ++dl_throttles_;
    DlRq& rq = dl_.rq(cpu);
    rq.Dequeue(e);
    if (!DlStartTimer(t)) {
      ReplenishDlEntity(e, Now());
      rq.Enqueue(e);
    }
    if (!rq.IsLeftmost(e)) DlResched(cpu);
  }
}

template <class Rq>
bool SchedSim<Rq>::DlStartTimer(Task* t) {
  Time at = DlNextPeriod(*t->dl);
  if (at < Now()) return false;
  t->dl->timer_event = sim_.At(at, this, Tag(kEvDlTimer, t->index));
  return true;
}

template <class Rq>
void SchedSim<Rq>::DlResched(int cpu) {
  cpus_[cpu].need_resched = true;
  if (dl_resched_pending_[cpu]) return;
  dl_resched_pending_[cpu] = 1;
  sim_.At(Now(), this, Tag(kEvDlResched, cpu));
}

template <class Rq>
void SchedSim<Rq>::DlDequeueSleep(int cpu, Task* t) {
  DlEntity* e = t->dl;
  DlRq& rq = dl_.rq(cpu);
  if (e->on_rq) rq.Dequeue(e);
  // task_non_contending(): the bandwidth stays in running_bw until the
  // 0-lag time (the inactive timer), or leaves now if that has passed.
  Time zero_lag = DlZeroLagTime(*e);
  if (zero_lag < Now()) {
    rq.SubRunningBw(e->dl_bw);
    return;
  }
  e->non_contending = true;
  e->inactive_event = sim_.At(zero_lag, this, Tag(kEvDlInactive, t->index));
}

template <class Rq>
void SchedSim<Rq>::DlBalance(int cpu) {
  dl_.Pull(cpu, [this](Task* t, int to) { DlMove(t, to, MigrationKind::kDlPull); });
  // balance_rt() with prev's priority, -1 (a deadline task), above every RT one.
  if (rt_on_ && dl_.nr_running(cpu) == 0) {
    rt_.Pull(
        cpu, -1, [this](Task* t, int to) { RtMove(t, to, MigrationKind::kRtPull); },
        [this](int k) { RtPush(k); });
  }
}

template <class Rq>
void SchedSim<Rq>::DlPush(int cpu, int max) {
  dl_.PushTasks(
      cpu, [this](Task* t, int to) { DlMove(t, to, MigrationKind::kDlPush); },
      [this](int k) {
        // resched_curr(): deferred while the CPU's task runs its program.
        if (k == advancing_cpu_) {
          cpus_[k].need_resched = true;
        } else {
          Resched(k);
        }
      },
      max);
}

template <class Rq>
void SchedSim<Rq>::DlMove(Task* t, int to, MigrationKind kind) {
  // deactivate_task(), set_task_cpu(), activate_task() (TASK_ON_RQ_MIGRATING
  // moves running_bw along), then the target reschedules (push:
  // resched_curr(later_rq); pull: the pulling CPU is about to pick).
  int from = t->cpu;
  dl_.rq(from).Dequeue(t->dl);
  dl_.rq(from).SubRunningBw(t->dl->dl_bw);
  CountMigration(t, from, to, kind, kind == MigrationKind::kDlPush ? from : to);
  t->cpu = to;
  dl_.rq(to).AddRunningBw(t->dl->dl_bw);
  dl_.rq(to).Enqueue(t->dl);
  if (o_.governor.kind == GovernorKind::kSchedutil) {
    SchedutilUpdate(cpus_[from].cluster);
    if (cpus_[to].cluster != cpus_[from].cluster) SchedutilUpdate(cpus_[to].cluster);
  }
  Kick(to, t);
}

template <class Rq>
void SchedSim<Rq>::DlTimer(Task* t) {
  DlEntity* e = t->dl;
  e->timer_event = 0;
  if (t->state == TaskState::kDone || !e->throttled) return;
  ReplenishDlEntity(e, Now());
  // Asleep: replenished, and enqueued by its wake-up.
  if (t->state == TaskState::kBlocked) return;
  if (t->state == TaskState::kRunning) {
    // Still curr (its reschedule not taken yet): back in the tree.
    dl_.rq(t->cpu).Enqueue(e);
    if (!dl_.rq(t->cpu).IsLeftmost(e)) DlResched(t->cpu);
    return;
  }
  // enqueue_task_dl(ENQUEUE_REPLENISH), then wakeup_preempt_dl() against a
  // deadline curr or resched_curr() of any other, then push_dl_task() once.
  int cpu = t->cpu;
  dl_.rq(cpu).Enqueue(e);
  Kick(cpu, t);
  DlPush(cpu, 1);
}

template <class Rq>
void SchedSim<Rq>::DlInactive(Task* t) {
  DlEntity* e = t->dl;
  e->inactive_event = 0;
  if (!e->non_contending) return;
  e->non_contending = false;
  dl_.rq(t->cpu).SubRunningBw(e->dl_bw);
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[t->cpu].cluster);
}

template <class Rq>
void SchedSim<Rq>::Fork(Task* t) {
  t->start_time = Now();
  t->activation = Now();
  t->cpu = 0;  // the parent (rt-app's main thread) runs on CPU 0
  if (track_load_) t->avg.InitHigh(Units(), decay_);
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
  int cpu;
  if (dl_on_ && t->dl) [[unlikely]] {
    // rt-app's thread makes itself SCHED_DEADLINE as it starts: its first
    // instance begins now (setup_new_dl_entity()), and it is placed by
    // select_task_rq_dl()'s wake-up rule from the parent's CPU.
    SetupNewDlEntity(t->dl, Now());
    cpu = dl_.SelectCpu(t, 0);
  } else {
    cpu = rt_on_ && t->rt ? rt_.SelectCpu(t, 0) : placement_->SelectForkCpu(t, 0);
  }
  CountMigration(t, 0, cpu, MigrationKind::kFork, 0);
  EnqueueOn(t, cpu, /*initial=*/true);
  if (trace_) TraceWakeup(t, /*is_new=*/true, 0, cpu);
  t->wake_pending = true;
  t->wake_time = Now();
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[cpu].cluster);
  Kick(cpu, t);
  if (rt_on_ && t->rt && rt_.WokenShouldPush(cpu, t)) RtPush(cpu);  // task_woken_rt()
  if (dl_on_ && t->dl && dl_.WokenShouldPush(cpu, t)) DlPush(cpu);  // task_woken_dl()
}

template <class Rq>
void SchedSim<Rq>::Wake(Task* t, int waker_cpu) {
  if (t->state != TaskState::kBlocked) return;
  t->wake_event = 0;
  t->blocked_until = -1;
  t->wake_time = Now();
  t->wake_pending = true;
  t->activation = Now();
  int prev = t->cpu;
  if constexpr (kEevdf) {
    if (t->se.delayed) {
      // ttwu_runnable(): the task never left its runqueue (DELAY_DEQUEUE),
      // so no CPU is selected; requeue_delayed_entity() after update_curr().
      UpdateCurr(prev);
      TouchLoad(t);  // aged as asleep
      pelt::UtilEstEnqueue(&cpus_[prev].pelt.rq, t->pelt.avg);
      if (groups_on_) [[unlikely]] {
        groups_->Requeue(&t->se, prev);
      } else {
        cpus_[prev].rq.Requeue(&t->se);
      }
      t->state = TaskState::kRunnable;
      if (trace_) TraceWakeup(t, /*is_new=*/false, waker_cpu, prev);
      if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[prev].cluster);
      Kick(prev, t);
      return;
    }
  }
  // select_task_rq_fair() reads the load average as it was left when the
  // task went to sleep; enqueue_entity_load_avg() decays it over the sleep
  // only once the CPU is chosen.
  int cpu = dl_on_ && t->dl  ? dl_.SelectCpu(t, waker_cpu)
            : rt_on_ && t->rt ? rt_.SelectCpu(t, waker_cpu)
                              : placement_->SelectWakeCpu(t, waker_cpu);
  if constexpr (kMainline) {
    // The task is aged as asleep by the enqueue on `cpu` (PeltEnqueue()),
    // or first on prev as it leaves it (migrate_task_rq_fair():
    // remove_entity_load_avg()).
    if (cpu != prev) PeltDetach(t, /*sync=*/true);
  } else {
    TouchLoad(t);
  }
  MigrationKind kind = MigrationKind::kWake;
  CountMigration(t, prev, cpu, kind, waker_cpu);
  EnqueueOn(t, cpu, /*initial=*/false);
  if (trace_) TraceWakeup(t, /*is_new=*/false, waker_cpu, cpu);
  if (o_.governor.kind == GovernorKind::kSchedutil) SchedutilUpdate(cpus_[cpu].cluster);
  Kick(cpu, t);
  if (rt_on_ && t->rt && rt_.WokenShouldPush(cpu, t)) RtPush(cpu);  // task_woken_rt()
  if (dl_on_ && t->dl && dl_.WokenShouldPush(cpu, t)) DlPush(cpu);  // task_woken_dl()
}

template <class Rq>
void SchedSim<Rq>::Migrate(Task* t, int to, MigrationKind kind) {
  // move_task(): deactivate_task() on the source, activate_task() on the
  // destination, check_preempt_curr(). dequeue_entity() and enqueue_entity()
  // each start with update_curr(); the vruntime is made relative to the
  // source's min_vruntime before the dequeue updates it, and absolute again
  // on the destination before its update_curr().
  int from = t->cpu;
  Cpu& src = cpus_[from];
  bool was_running = src.curr == t;
  TouchLoad(t);
  UpdateCurr(from);
  int64_t rel = 0;
  if constexpr (!kEevdf) rel = t->se.vruntime - src.rq.min_vruntime();
  if constexpr (kMainline) PeltUtilEstDequeue(t, from, /*sleep=*/false);
  if (was_running) {
    if (src.done_event) sim_.Cancel(src.done_event);
    src.done_event = 0;
    // EEVDF: lag saved, deadline kept relative (PLACE_REL_DEADLINE).
    DequeueCurrFair(src, from, t, /*sleep=*/false);
    src.curr = nullptr;
    ++context_switches_;
  } else {
    if constexpr (kEevdf) {
      if (groups_on_) [[unlikely]] {
        groups_->Dequeue(&t->se, from);
      } else {
        src.rq.Dequeue(&t->se);
      }
    } else {
      src.rq.Dequeue(&t->se);
    }
  }
  if constexpr (kMainline) PeltDetach(t, /*sync=*/false);  // detach_entity_cfs_rq(), aged above
  // Tick-time HMP moves happen on the source CPU; balancing pulls on the destination.
  CountMigration(t, from, to, kind, kind == MigrationKind::kForced || kind == MigrationKind::kOffload ? from : to);
  if constexpr (kEevdf) {
    // 6.6+: no renormalization; the destination re-places the task by the
    // lag it left with (enqueue_entity() -> place_entity()).
    UpdateCurr(to);
    PeltEnqueue(t, to, /*initial=*/false);
    t->cpu = to;
    t->state = TaskState::kRunnable;
    if (groups_on_) [[unlikely]] {
      groups_->Enqueue(&t->se, to, /*initial=*/false);
      if (was_running) Schedule(from);
      Kick(to, t);
      return;
    }
    pick_->PlaceEntity(cpus_[to].rq, &t->se, false);
  } else {
    // 3.10 renormalizes before the destination's update_curr(), mainline
    // after it (enqueue_entity(): a task that is not curr).
    if constexpr (kMainline) {
      UpdateCurr(to);
      t->se.vruntime = rel + cpus_[to].rq.min_vruntime();
      PeltEnqueue(t, to, /*initial=*/false);
    } else {
      t->se.vruntime = rel + cpus_[to].rq.min_vruntime();
      UpdateCurr(to);
    }
    t->cpu = to;
    t->state = TaskState::kRunnable;
  }
  cpus_[to].rq.Enqueue(&t->se);
  if (was_running) Schedule(from);
  Kick(to, t);
}

template <class Rq>
void SchedSim<Rq>::ArmTick(int cpu) {
  Time next = (static_cast<Time>(tick_div_.Divide(static_cast<uint64_t>(Now()))) + 1) * tick_ns_;
  cpus_[cpu].tick_event = sim_.At(next, this, Tag(kEvTick, cpu));
}

template <class Rq>
void SchedSim<Rq>::Tick(int cpu) {
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
  // trigger_load_balance(): the rebalance softirq runs only when this CPU's
  // next balance is due; run_rebalance_domains() then runs the placement's
  // pass (HMP: hmp_force_up_migration()) before rebalance_domains().
  bool balance_due = false;
  for (int level = 0; level < balance_levels_; ++level) balance_due = balance_due || Now() >= c.next_balance[level];
  // task_tick_dl(): update_curr_dl() above, no slice (HRTICK_DL is off by
  // default, so a throttle waits for this tick); task_tick_rt(): an RR
  // slice's end; task_tick_fair().
  if (dl_on_ && t->dl) [[unlikely]] {
    if (c.need_resched) Resched(cpu);
  } else if ((rt_on_ && t->rt) ? rt_.rq(cpu).Tick(t->rt) : FairTickPreempt(c, cpu, t)) {
    Resched(cpu);
  }
  if (balance_due) {
    placement_->Tick(cpu);
    RebalanceDomains(cpu, IdleType::kNotIdle);
  } else if constexpr (kMainline) {
    // Only mainline placements ask for the hook at every tick (misfit).
    if (placement_->needs().tick_each) placement_->Tick(cpu);
  }
  NohzKick();
}

template <class Rq>
void SchedSim<Rq>::OnEvent(uint64_t tag) {
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
    case kEvDlTimer:
      DlTimer(tasks_[idx].get());
      break;
    case kEvDlInactive:
      DlInactive(tasks_[idx].get());
      break;
    case kEvDlResched: {
      dl_resched_pending_[idx] = 0;
      if (cpus_[idx].curr && cpus_[idx].need_resched) Resched(static_cast<int>(idx));
      break;
    }
  }
}

// ---------------------------------------------------------------- balancing

template <class Rq>
bool SchedSim<Rq>::LoadBalance(int this_cpu, int level, IdleType idle) {
  // No default member initialisers: the array is left uninitialised and
  // each group used is value-initialised by Group{first, n} below (zeroing
  // all 64 cost more than the balancing itself).
  struct Group {
    int first, n;
    const FixedDivisor* power_div;  // divides by the group's power
    uint64_t load, power;
    int nr, idle_cpus;
    uint64_t avg;
    int capacity;
    bool imbalanced;  // sgs->group_imb
  };
  Group groups[kMaxBalanceGroups];
  int ng = 0;
  int local = 0;
  const ClusterRt& mine = clusters_[cpus_[this_cpu].cluster];
  if (level == 0) {
    for (int cpu = mine.first; cpu < mine.first + mine.n; ++cpu) {
      if (cpu == this_cpu) local = ng;
      groups[ng++] = Group{cpu, 1, &cpus_[cpu].power_div};
    }
  } else {
    for (int c = 0; c < static_cast<int>(clusters_.size()); ++c) {
      if (c == cpus_[this_cpu].cluster) local = ng;
      groups[ng++] = Group{clusters_[c].first, clusters_[c].n, &clusters_[c].power_div};
    }
  }
  uint64_t total_load = 0;
  for (int g = 0; g < ng; ++g) {
    Group& G = groups[g];
    uint64_t max_cpu_load = 0, min_cpu_load = UINT64_MAX;
    int max_nr = 0;
    for (int cpu = G.first; cpu < G.first + G.n; ++cpu) {
      uint64_t l = cpus_[cpu].rq.load();
      G.load += l;
      G.power += cpus_[cpu].power;
      G.nr += NrRunning(cpu);  // rq->nr_running: RT tasks count, their load does not
      max_nr = std::max(max_nr, NrRunning(cpu));
      max_cpu_load = std::max(max_cpu_load, l);
      min_cpu_load = std::min(min_cpu_load, l);
      if (CpuIdle(cpu)) ++G.idle_cpus;
    }
    G.avg = G.power_div->Divide(G.load * 1024);
    // update_sg_lb_stats(): the group is internally imbalanced when its CPUs'
    // loads differ by a task's worth and one CPU has several tasks.
    uint64_t per_task_load = G.nr ? G.load / G.nr : 0;
    G.imbalanced = max_nr > 1 && max_cpu_load - min_cpu_load >= per_task_load;
    G.capacity = std::max<int>(1, static_cast<int>((G.power + 512) / 1024));
    total_load += G.load;
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
  // The groups cover this CPU's cluster (MC) or every CPU (DIE).
  const FixedDivisor& total_power_div = level == 0 ? mine.power_div : all_power_div_;
  uint64_t sds_avg = total_power_div.Divide(total_load * 1024);
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
    uint64_t above_cap = B.power_div->Divide(static_cast<uint64_t>(std::max(0, B.nr - B.capacity)) * kNiceZeroWeight * 1024);
    max_pull = std::min(max_pull, above_cap);
  }
  uint64_t imbalance = std::min(max_pull * B.power, (sds_avg > L.avg ? sds_avg - L.avg : 0) * L.power) / 1024;
  uint64_t per_task = B.nr ? B.load / B.nr : 0;
  if (imbalance < per_task) imbalance = per_task;  // fix_small_imbalance(), reduced

  // find_busiest_queue(): most power-scaled load among the group's CPUs.
  int src = -1;
  uint64_t src_wl = 0;
  for (int cpu = B.first; cpu < B.first + B.n; ++cpu) {
    const Rq& rq = cpus_[cpu].rq;
    if (rq.nr_running() == 0) continue;
    if (rq.nr_running() == 1 && rq.load() > imbalance) continue;
    uint64_t wl = cpus_[cpu].power_div.Divide(rq.load() * 1024);
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
  Rq& srq = cpus_[src].rq;
  // can_migrate_task() and the load checks of detach_tasks() for task t
  // weighing w; true if t was moved and the scan should go on.
  auto try_move = [&](Task* t, uint64_t w) -> bool {
    if constexpr (kEevdf) {
      if (t->se.delayed) return false;  // asleep on the runqueue: not migrated
    }
    if (!Allowed(t, this_cpu)) return false;
    bool hot = Now() - t->exec_start < o_.migration_cost_ns;
    if (hot && failed <= kCacheNiceTries) return false;
    if (static_cast<int64_t>(w / 2) > remaining) return false;
    // Never move a task if that would leave this CPU busier than the source.
    const FixedDivisor& dst_div = cpus_[this_cpu].power_div;
    uint64_t src_after = cpus_[src].power_div.Divide((srq.load() - w) * 1024);
    uint64_t dst_after = dst_div.Divide((cpus_[this_cpu].rq.load() + w) * 1024);
    if (dst_after > src_after + dst_div.Divide(w * 1024)) return false;
    Migrate(t, this_cpu, MigrationKind::kBalance);
    remaining -= w;
    ++moved;
    return true;
  };
  bool scanned = false;
  if constexpr (kEevdf) {
    if (groups_on_) [[unlikely]] {
      // With task groups the root runqueue holds group entities: the
      // candidates are the source's queued tasks (rq->cfs_tasks), weighed
      // by task_h_load() (GroupSched::HWeight()).
      scanned = true;
      lb_tasks_.clear();
      for (const auto& tp : tasks_) {
        if (tp->cpu == src && tp->state == TaskState::kRunnable && !tp->rt && tp->se.on_rq) lb_tasks_.push_back(tp.get());
      }
      for (int i = static_cast<int>(lb_tasks_.size()) - 1; i >= 0 && remaining > 0 && moved < 32; --i) {
        Task* t = lb_tasks_[i];
        if (t->cpu != src || t->state != TaskState::kRunnable) continue;
        if (try_move(t, groups_->HWeight(&t->se, src)) && idle == IdleType::kNewlyIdle) break;
      }
    }
  }
  for (int i = srq.queued() - 1; !scanned && i >= 0 && remaining > 0 && moved < 32; --i) {
    if (i >= srq.queued()) continue;
    Task* t = tasks_[srq.queued_at(i)->id].get();
    if (try_move(t, t->se.weight) && idle == IdleType::kNewlyIdle) break;
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
  if (idle != IdleType::kNewlyIdle && failed > kCacheNiceTries + 2 && running && !running->rt && !running->dl &&
      Allowed(running, this_cpu) &&
      CpuIdle(this_cpu) && srq.nr_running() >= 1) {
    failed = kCacheNiceTries + 1;
    Migrate(running, this_cpu, MigrationKind::kBalance);
    return true;
  }
  cpus_[this_cpu].balance_interval_ms[level] = std::min(4, cpus_[this_cpu].balance_interval_ms[level] * 2);
  return false;
}

template <class Rq>
void SchedSim<Rq>::RebalanceDomains(int cpu, IdleType idle) {
  // rebalance_domains(): per level, when its interval (x busy_factor when the
  // CPU is busy) has passed; DIE only if the placement policy balances
  // between clusters.
  Cpu& c = cpus_[cpu];
  for (int level = 0; level < balance_levels_; ++level) {
    if (Now() < c.next_balance[level]) continue;
    Duration interval = c.balance_interval_ms[level] * sim::kMs;
    if (idle == IdleType::kNotIdle) interval *= o_.busy_factor;
    interval = std::max(interval, tick_ns_);
    c.next_balance[level] = Now() + interval;
    if (LoadBalance(cpu, level, idle)) idle = IdleType::kNotIdle;
  }
}

template <class Rq>
bool SchedSim<Rq>::IdleBalance(int cpu) {
  // idle_balance(): skipped when this CPU's idle periods are shorter than a
  // migration costs; newidle balancing per level, then (LSK, when nothing
  // was pulled) the placement's idle pull (hmp_idle_pull()).
  Cpu& c = cpus_[cpu];
  if (c.avg_idle < o_.migration_cost_ns) return false;
  for (int level = 0; level < balance_levels_; ++level) {
    if (LoadBalance(cpu, level, IdleType::kNewlyIdle)) return true;
  }
  return placement_->IdlePull(cpu);
}

template <class Rq>
void SchedSim<Rq>::NohzKick() {
  // nohz_kick_needed(): a busy CPU with 2+ runnable tasks kicks the idle load
  // balancer at most once per jiffy; it balances on behalf of every idle CPU.
  if (nohz_last_kick_ >= 0 && Now() - nohz_last_kick_ < tick_ns_) return;
  bool overloaded = false, any_idle = false;
  for (const Cpu& c : cpus_) {
    const int nr = NrRunning(static_cast<int>(&c - cpus_.data()));
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

// --------------------------------------------------------------------- DVFS

template <class Rq>
void SchedSim<Rq>::StartGovernors() {
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

template <class Rq>
void SchedSim<Rq>::SetClusterOpp(int cluster, int opp) {
  ClusterRt& cl = clusters_[cluster];
  const workload::Cluster& pc = p_.clusters[cluster];
  cl.opp = opp;
  cl.cap = pc.opps[opp].capacity;
  // cpufreq_callback(): cpufreq_calc_scale() = freq->new / (policy->max >>
  // SCHED_FREQSCALE_SHIFT), in integers as the kernel has it.
  uint64_t max_shifted = std::max<uint64_t>(1, pc.opps.back().khz >> 10);
  cl.freq_scale = static_cast<uint32_t>(pc.opps[opp].khz / max_shifted);
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    cpus_[cpu].cap = cl.cap;
    cpus_[cpu].cap_div = FixedDivisor(cl.cap);
    cpus_[cpu].load_scale = FreqScale(cpu) / 1024.0;
    cpus_[cpu].util_scale = cl.cap / 1024.0;
    // arch_scale_freq_capacity(): cur * SCHED_CAPACITY_SCALE / max (topology.c).
    if constexpr (kMainline) cpus_[cpu].pelt.freq_cap = static_cast<uint32_t>((pc.opps[opp].khz << 10) / pc.opps.back().khz);
  }
}

template <class Rq>
void SchedSim<Rq>::RequestOpp(int cluster, int opp) {
  ClusterRt& cl = clusters_[cluster];
  int want_now = cl.pending_opp >= 0 ? cl.pending_opp : cl.opp;
  if (opp == want_now) return;
  if (cl.dvfs_event) sim_.Cancel(cl.dvfs_event);
  cl.pending_opp = opp;
  cl.last_change = Now();
  cl.dvfs_event = sim_.At(Now() + p_.clusters[cluster].dvfs_transition_ns, this, Tag(kEvDvfs, cluster));
}

template <class Rq>
void SchedSim<Rq>::ApplyOpp(int cluster) {
  ClusterRt& cl = clusters_[cluster];
  cl.dvfs_event = 0;
  if (cl.pending_opp < 0) return;
  // Everything that depends on the speed is accounted at the old one first.
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    UpdateCurr(cpu);
    TouchUtil(cpu);
    TouchLoads(cpu);
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

template <class Rq>
void SchedSim<Rq>::GovernorSample(int cluster) {
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

template <class Rq>
void SchedSim<Rq>::SchedutilUpdate(int cluster) {
  ClusterRt& cl = clusters_[cluster];
  if constexpr (kMainline) {
    // sugov_update_shared(): sugov_should_update_freq() (rate_limit_us since
    // the last frequency decision), then sugov_next_freq_shared(): the
    // largest cpu_util() of the policy's CPUs, get_next_freq():
    // map_util_perf() (+25 %) capped at the capacity, map_util_freq() on
    // f_max, cpufreq_driver_resolve_freq() to the lowest OPP >= that. Each
    // CPU's cfs_rq signal is brought up to now first (the kernel keeps idle
    // CPUs' blocked load decaying through update_blocked_averages()).
    if (Now() - cl.last_change < sugov_rate_limit_ns_[cluster]) return;
    uint32_t util = 0;
    uint32_t dl_floor = 0;  // 6.8+: the largest cpu_bw_dl(), a floor without the +25 %
    for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
      PeltSync(cpu);
      PeltRq(cpu);
      uint32_t cpu_util = PeltCpuUtil(cpu);
      if (dl_on_) [[unlikely]] {
        // effective_cpu_util(): the deadline class's running bandwidth,
        // cpu_bw_dl() = running_bw x 1024 >> BW_SHIFT, is added to the
        // request, capped at the capacity (to 6.7); 6.8's "Rework schedutil
        // governor performance estimation" makes it the floor instead.
        uint32_t bw = static_cast<uint32_t>((dl_.rq(cpu).running_bw() << 10) >> kBwShift);
        if (version_.AtLeast(6, 8)) {
          dl_floor = std::max(dl_floor, std::min(bw, cpus_[cpu].power));
        } else {
          cpu_util = std::min(cpus_[cpu].power, cpu_util + bw);
        }
      }
      util = std::max(util, cpu_util);
      // effective_cpu_util(): a runnable RT task asks for the top (no uclamp).
      if (rt_on_ && rt_.nr_running(cpu)) util = std::max(util, cpus_[cpu].power);
    }
    int cur = cl.pending_opp >= 0 ? cl.pending_opp : cl.opp;
    int target = SchedutilTarget(p_.clusters[cluster], util);
    if (dl_floor > 0) {
      // map_util_freq() of the floor: f_max x bw / capacity.
      const workload::Cluster& pc = p_.clusters[cluster];
      target = std::max(target, LowestOppAtLeast(pc, pc.opps.back().khz * dl_floor / pc.capacity));
    }
    if (target != cur) RequestOpp(cluster, target);
    return;
  }
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

template <class Rq>
model::SchedTaskRef SchedSim<Rq>::TraceRef(int task, int cpu) const {
  if (task < 0) return {0, trace_comm_[tasks_.size() + cpu], model::SchedPrio(0)};
  const Task* t = tasks_[task].get();
  // A deadline task's prio is -1 (MAX_DL_PRIO - 1).
  int prio = t->dl ? kDlPrio : t->rt ? t->rt->prio : model::SchedPrio(t->spec->nice);
  return {model::kSchedTaskPidBase + task, trace_comm_[task], prio};
}

template <class Rq>
void SchedSim<Rq>::TraceInit() {
  for (const auto& t : tasks_) trace_comm_.push_back(t->spec->name.substr(0, model::kSchedCommMax));
  for (size_t cpu = 0; cpu < cpus_.size(); ++cpu) trace_comm_.push_back("swapper/" + std::to_string(cpu));
  trace_running_.assign(cpus_.size(), -1);
  // The state at time 0: every CPU idle in its deepest state, at its cluster's first OPP.
  for (int cpu = 0; cpu < static_cast<int>(cpus_.size()); ++cpu) {
    TraceFrequency(cpu);
    TraceIdle(cpu, cpus_[cpu].idle_state);
  }
}

template <class Rq>
void SchedSim<Rq>::TraceSwitch(int cpu, int next) {
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

template <class Rq>
void SchedSim<Rq>::TraceWakeup(const Task* t, bool is_new, int on_cpu, int target_cpu) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = is_new ? model::SchedTraceEvent::Kind::kWakeupNew : model::SchedTraceEvent::Kind::kWakeup;
  e.cpu = on_cpu;
  e.task = TraceRef(t->index, on_cpu);
  e.target_cpu = target_cpu;
  trace_->On(e);
}

template <class Rq>
void SchedSim<Rq>::TraceMigrate(const Task* t, int from, int to, int on_cpu) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kMigrate;
  e.cpu = on_cpu;
  e.task = TraceRef(t->index, on_cpu);
  e.orig_cpu = from;
  e.dest_cpu = to;
  trace_->On(e);
}

template <class Rq>
void SchedSim<Rq>::TraceFrequency(int cpu) {
  const ClusterRt& cl = clusters_[cpus_[cpu].cluster];
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kCpuFrequency;
  e.cpu = cpu;
  e.khz = static_cast<uint32_t>(p_.clusters[cpus_[cpu].cluster].opps[cl.opp].khz);
  trace_->On(e);
}

template <class Rq>
void SchedSim<Rq>::TraceIdle(int cpu, int state) {
  model::SchedTraceEvent e;
  e.time_ns = Now();
  e.kind = model::SchedTraceEvent::Kind::kCpuIdle;
  e.cpu = cpu;
  e.idle_state = state;
  trace_->On(e);
}

// ------------------------------------------------------------------- result

template <class Rq>
StatusOr<model::Result> SchedSim<Rq>::Run() {
  Time limit = w_.duration_ns > 0 ? w_.duration_ns : o_.max_sim_time_ns;
  sim_.RunUntil(limit);
  if (cancelled_) return Cancelled("sched run cancelled at simulated " + std::to_string(Now()) + " ns");
  Time end = finished_early_ ? Now() : limit;
  dl_final_ = true;
  for (int cpu = 0; cpu < static_cast<int>(cpus_.size()); ++cpu) UpdateCurr(cpu);
  meter_.Flush(end);
  model::Result r;
  FillResult(r, end);
  return r;
}

// Called once, last: moves the histograms out.
template <class Rq>
void SchedSim<Rq>::FillResult(model::Result& r, Time end) {
  r.sim_events = sim_.events_processed();
  r.sim_time_ns = end;
  double ms = 1e6, us = 1e3;
  bool joules = p_.power_unit == "mW";
  r.Set("energy", meter_.power_seconds() / (joules ? 1000.0 : 1.0), joules ? "J" : "units");
  sim::Histogram wakeup_hist;
  for (const auto& t : tasks_) wakeup_hist.Merge(t->wakeup_hist);
  r.Set("wakeup_latency_p50_us", wakeup_hist.Percentile(0.5) / us, "us");
  r.Set("wakeup_latency_p99_us", wakeup_hist.Percentile(0.99) / us, "us");
  r.Set("wakeup_latency_mean_us", wakeup_hist.Mean() / us, "us");
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
  if (rt_on_) {
    for (int k = 0; k < kRtMigrationKinds; ++k) {
      total_mig += rt_migrations_[k];
      r.Set(std::string("migrations_") + MigrationKindName(static_cast<MigrationKind>(kMigrationKinds + k)),
            static_cast<double>(rt_migrations_[k]), "count");
    }
  }
  if (dl_on_) {
    for (int k = 0; k < kDlMigrationKinds; ++k) {
      total_mig += dl_migrations_[k];
      r.Set(std::string("migrations_") +
                MigrationKindName(static_cast<MigrationKind>(kMigrationKinds + kRtMigrationKinds + k)),
            static_cast<double>(dl_migrations_[k]), "count");
    }
    r.Set("dl_throttles", static_cast<double>(dl_throttles_), "count");
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
  r.histograms["wakeup_latency"] = std::move(wakeup_hist);
  r.histograms["response_time"] = std::move(response_hist_);
}

}  // namespace

namespace {

// One run on the core of runqueue type Rq, whose kernel base is `core_base`.
template <class Rq>
StatusOr<model::Result> RunOn(const VersionTraits& core_base, const VersionTraits& base,
                              BasicPlacementPolicy<Rq>* placement, BasicPickPolicy<Rq>* pick,
                              const workload::Platform& platform, const workload::SchedWorkload& workload,
                              const SchedOptions& options, const std::atomic<bool>* cancel, SchedObserver* observer,
                              model::SchedObserver* trace) {
  if (!placement || !pick) return InvalidArgument("sched: a placement and a pick policy are required");
  // Policies are typed by runqueue: these run only on the core of `core_base`.
  if (base.base != core_base.base) {
    return InvalidArgument(std::string("sched: policies written against the ") + core_base.name +
                           " runqueue cannot run on a core of kernel base " + base.name);
  }
  auto check = [&base](const char* kind, const char* name, KernelBase policy_base) {
    if (policy_base == base.base) return OkStatus();
    return InvalidArgument(std::string("sched: ") + kind + " policy '" + name + "' is for kernel base " +
                           KernelBaseName(policy_base) + ", the core is " + base.name);
  };
  KREPLAY_RETURN_IF_ERROR(check("placement", placement->name(), placement->base()));
  KREPLAY_RETURN_IF_ERROR(check("pick", pick->name(), pick->base()));
  if (core_base.base_load != LoadTracking::kNone && placement->needs().load != LoadTracking::kNone &&
      placement->needs().load != core_base.base_load) {
    return InvalidArgument(std::string("sched: placement policy '") + placement->name() +
                           "' asks for load tracking the " + core_base.name + " base does not keep");
  }
  if (options.load_avg_period_ms < 1) return InvalidArgument("params.load_avg_period_ms: must be >= 1");
  auto sim = std::make_unique<SchedSim<Rq>>(core_base, platform, workload, options, placement, pick, cancel,
                                            observer, trace);
  KREPLAY_RETURN_IF_ERROR(sim->Init());
  return sim->Run();
}

}  // namespace

StatusOr<model::Result> RunSched(const VersionTraits& base, SchedPolicies policies, const workload::Platform& platform,
                                 const workload::SchedWorkload& workload, const SchedOptions& options, uint64_t seed,
                                 const std::atomic<bool>* cancel, SchedObserver* observer,
                                 model::SchedObserver* trace) {
  (void)seed;  // every choice is ordered; kept in the signature for future randomised tie-breaks
  return RunOn<CfsRq>(kLsk310Traits, base, policies.placement, policies.pick, platform, workload, options, cancel,
                      observer, trace);
}

StatusOr<model::Result> RunSched(const VersionTraits& base, MainlinePolicies policies,
                                 const workload::Platform& platform, const workload::SchedWorkload& workload,
                                 const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                 SchedObserver* observer, model::SchedObserver* trace) {
  (void)seed;
  return RunOn<EevdfRq>(kMainlineTraits, base, policies.placement, policies.pick, platform, workload, options, cancel,
                        observer, trace);
}

StatusOr<model::Result> RunSched(const VersionTraits& base, MainlineCfsPolicies policies,
                                 const workload::Platform& platform, const workload::SchedWorkload& workload,
                                 const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                 SchedObserver* observer, model::SchedObserver* trace) {
  (void)seed;
  return RunOn<MainlineCfsRq>(kMainlineTraits, base, policies.placement, policies.pick, platform, workload, options,
                              cancel, observer, trace);
}

}  // namespace kreplay::sched
