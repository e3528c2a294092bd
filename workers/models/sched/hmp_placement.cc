#include "workers/models/sched/hmp_placement.h"

#include <cstdint>

namespace kreplay::sched {
namespace {

// The kernel's 0 ("never migrated"): far enough in the past that every
// settling check passes and every tie-break prefers it.
constexpr sim::Time kNever = INT64_MIN / 2;

}  // namespace

HmpPlacement::HmpPlacement()
    : CfsPlacement("hmp", Needs{LoadTracking::kLsk310RunnableAvg, /*cross_cluster_balance=*/false,
                                /*tick_migrations=*/true, /*idle_pull=*/true}) {}

void HmpPlacement::DoAttach() {
  last_up_mig_.assign(core().ntasks(), kNever);
  last_down_mig_.assign(core().ntasks(), kNever);
  rq_last_up_.assign(core().ncpus(), kNever);
  rq_last_down_.assign(core().ncpus(), kNever);
}

bool HmpPlacement::Settled(sim::Time last, uint32_t threshold) const {
  return ((core().Now() - last) >> 10) >= static_cast<int64_t>(threshold);
}

void HmpPlacement::NextUpDelay(Task* t, int cpu) {
  sim::Time now = core().Now();
  last_up_mig_[t->index] = now;
  last_down_mig_[t->index] = kNever;
  rq_last_up_[cpu] = now;
  rq_last_down_[cpu] = kNever;
}

void HmpPlacement::NextDownDelay(Task* t, int cpu) {
  sim::Time now = core().Now();
  last_down_mig_[t->index] = now;
  last_up_mig_[t->index] = kNever;
  rq_last_down_[cpu] = now;
  rq_last_up_[cpu] = kNever;
}

int HmpPlacement::DoSelectForkCpu(Task* t, int parent_cpu) {
  // hmp_task_should_forkboost(): user tasks start in the next faster domain
  // of the parent's CPU (its own if it is the fastest).
  const SchedCore& c = core();
  int cluster = c.IsFastest(parent_cpu) ? c.cpu(parent_cpu).cluster : c.cpu(parent_cpu).cluster + 1;
  int cpu = MinLoadCpu(cluster, t, nullptr);
  if (cpu >= 0) {
    NextUpDelay(t, cpu);
    return cpu;
  }
  return CfsPlacement::DoSelectForkCpu(t, parent_cpu);
}

int HmpPlacement::DoSelectWakeCpu(Task* t, int waker_cpu) {
  const SchedCore& c = core();
  int prev = t->cpu;
  int new_cpu = CfsWakeCpu(t, waker_cpu);
  // select_task_rq_fair() HMP tail: up to an idle faster CPU, or down to the
  // least-loaded slower one; otherwise stay in the previous HMP domain.
  int up = -1;
  if (UpMigration(t, prev, &up)) {
    NextUpDelay(t, up);
    return up;
  }
  if (DownMigration(t, prev)) {
    int down = MinLoadCpu(c.cpu(prev).cluster - 1, t, nullptr);
    if (down >= 0 && down != prev) {
      NextDownDelay(t, down);
      return down;
    }
  }
  if (c.cpu(new_cpu).cluster != c.cpu(prev).cluster && c.Allowed(t, prev)) return prev;
  return new_cpu;
}

inline bool HmpPlacement::UpMigration(Task* t, int cpu, int* target) {
  // hmp_up_migration(): heavy enough, not filtered, settled since the last
  // up-migration, and an idle CPU exists in the faster domain.
  const SchedCore& c = core();
  if (c.IsFastest(cpu)) return false;
  if (PrioFiltered(t)) return false;
  if (t->avg.LoadRatio() < c.options().hmp_up_threshold) return false;
  if (!Settled(last_up_mig_[t->index], c.options().hmp_next_up_threshold)) return false;
  int load = 0;
  int k = MinLoadCpu(c.cpu(cpu).cluster + 1, t, &load);
  if (k < 0 || load != 0) return false;
  *target = k;
  return true;
}

inline bool HmpPlacement::DownMigration(Task* t, int cpu) {
  // hmp_down_migration(): filtered tasks always go down; otherwise below the
  // down threshold once settled.
  const SchedCore& c = core();
  if (c.IsSlowest(cpu)) return false;
  bool allowed_below = false;
  const ClusterRt& below = c.cluster(c.cpu(cpu).cluster - 1);
  for (int k = below.first; k < below.first + below.n; ++k) allowed_below = allowed_below || c.Allowed(t, k);
  if (!allowed_below) return false;
  if (PrioFiltered(t)) return true;
  if (!Settled(last_down_mig_[t->index], c.options().hmp_next_down_threshold)) return false;
  return t->avg.LoadRatio() < c.options().hmp_down_threshold;
}

int HmpPlacement::MinLoadCpu(int cluster, const Task* t, int* load_out) const {
  const SchedCore& c = core();
  if (cluster < 0 || cluster >= c.nclusters()) return -1;
  const ClusterRt& cl = c.cluster(cluster);
  int best = -1, best_load = INT32_MAX;
  sim::Time best_stamp = INT64_MAX;
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    if (t && !c.Allowed(t, cpu)) continue;
    // "Consider a runqueue completely busy if there is any load on it."
    int load = c.cpu(cpu).rq.nr_running() > 0 ? 1023 : 0;
    sim::Time stamp = rq_last_up_[cpu] != kNever ? rq_last_up_[cpu] : rq_last_down_[cpu];
    if (load < best_load || (load == best_load && stamp < best_stamp)) {
      best = cpu;
      best_load = load;
      best_stamp = stamp;
    }
  }
  if (load_out) *load_out = best_load;
  return best;
}

Task* HmpPlacement::HeaviestTask(int cpu, int target_cpu) const {
  const SchedCore& c = core();
  const Cpu& rq = c.cpu(cpu);
  Task* max = rq.curr;
  if (!max || c.IsFastest(cpu)) return max;
  uint32_t max_ratio = max->avg.LoadRatio();
  const ClusterRt& faster = c.cluster(rq.cluster + 1);
  if (target_cpu >= 0 && (target_cpu < faster.first || target_cpu >= faster.first + faster.n)) return nullptr;
  SchedEntity* first[kMaxTasks];
  int n = rq.rq.FirstQueued(kMaxTasks, first);
  for (int i = 0; i < n; ++i) {
    Task* t = c.task(static_cast<int>(first[i]->id));
    uint32_t r = t->avg.LoadRatio();
    if (r <= max_ratio) continue;
    bool allowed = false;
    if (target_cpu >= 0) {
      allowed = c.Allowed(t, target_cpu);
    } else {
      for (int k = faster.first; k < faster.first + faster.n && !allowed; ++k) allowed = c.Allowed(t, k);
    }
    if (allowed) {
      max = t;
      max_ratio = r;
    }
  }
  return max;
}

Task* HmpPlacement::LightestTask(int cpu) const {
  const SchedCore& c = core();
  const Cpu& rq = c.cpu(cpu);
  Task* min = rq.curr;
  if (!min || c.IsSlowest(cpu)) return min;
  uint32_t min_ratio = min->avg.LoadRatio();
  const ClusterRt& slower = c.cluster(rq.cluster - 1);
  SchedEntity* first[kMaxTasks];
  int n = rq.rq.FirstQueued(kMaxTasks, first);
  for (int i = 0; i < n; ++i) {
    Task* t = c.task(static_cast<int>(first[i]->id));
    uint32_t r = t->avg.LoadRatio();
    if (r >= min_ratio) continue;
    bool allowed = false;
    for (int k = slower.first; k < slower.first + slower.n && !allowed; ++k) allowed = c.Allowed(t, k);
    if (allowed) {
      min = t;
      min_ratio = r;
    }
  }
  return min;
}

int HmpPlacement::OffloadDown(int cpu, const Task* t) const {
  const SchedCore& c = core();
  if (c.IsSlowest(cpu)) return -1;
  // Is there an idle CPU in the current domain?
  int load = 0;
  if (MinLoadCpu(c.cpu(cpu).cluster, nullptr, &load) >= 0 && load == 0) return -1;
  // Is the task alone on the CPU?
  if (c.cpu(cpu).rq.nr_running() < 2) return -1;
  // Is it starving (running < 75 % of its runnable time)?
  uint32_t starvation = static_cast<uint32_t>(t->avg.usage_sum * 1024.0 / (t->avg.runnable_sum + 1.0));
  if (starvation > 768) return -1;
  // Does the slower domain have an idle CPU it may use?
  int dest = MinLoadCpu(c.cpu(cpu).cluster - 1, t, &load);
  return dest >= 0 && load == 0 ? dest : -1;
}

bool HmpPlacement::AnyIdle(int cluster) const {
  const SchedCore& c = core();
  if (cluster < 0 || cluster >= c.nclusters()) return false;
  const ClusterRt& cl = c.cluster(cluster);
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    if (c.cpu(cpu).rq.nr_running() == 0) return true;
  }
  return false;
}

void HmpPlacement::DoTick(int /*cpu*/) {
  // hmp_force_up_migration(): every CPU in order, whichever CPU's softirq
  // runs the pass. The ratios are se->avg.load_avg_ratio as last updated: a
  // running task's at its CPU's last tick (or later switch), a waiting
  // task's when it was queued; the pass updates none.
  // hmp_up_migration() needs an idle faster CPU and hmp_offload_down() an
  // idle slower one (and none idle in its own domain): where there is none
  // the task searches are skipped, which changes no outcome.
  SchedCore& core = this->core();
  for (int cpu = 0; cpu < core.ncpus(); ++cpu) {
    const Cpu& rq = core.cpu(cpu);
    if (!rq.curr || rq.curr->rt) continue;  // rq->cfs.curr: none while an RT task runs
    if (AnyIdle(rq.cluster + 1)) {
      Task* heaviest = HeaviestTask(cpu, -1);
      int target = -1;
      if (heaviest && UpMigration(heaviest, cpu, &target)) {
        // The target is woken to run hmp_idle_pull() (wake_for_idle_pull)
        // and the pass ends.
        PullTo(target, MigrationKind::kForced);
        return;
      }
    }
    if (core.IsSlowest(cpu) || rq.rq.nr_running() < 2 || AnyIdle(rq.cluster) || !AnyIdle(rq.cluster - 1)) continue;
    Task* lightest = LightestTask(cpu);
    int dest = OffloadDown(cpu, lightest);
    if (dest >= 0) {
      NextDownDelay(lightest, dest);
      core.Migrate(lightest, dest, MigrationKind::kOffload);
    }
  }
}

bool HmpPlacement::PullTo(int this_cpu, MigrationKind kind) {
  // hmp_idle_pull(): the heaviest eligible task of the slower domain that
  // may run here; no settling-time or priority check.
  SchedCore& core = this->core();
  if (core.IsSlowest(this_cpu)) return false;
  Task* best = nullptr;
  uint32_t best_ratio = 0;
  const ClusterRt& below = core.cluster(core.cpu(this_cpu).cluster - 1);
  for (int k = below.first; k < below.first + below.n; ++k) {
    if (!core.cpu(k).curr || core.cpu(k).curr->rt) continue;  // rq->cfs.curr
    Task* t = HeaviestTask(k, this_cpu);
    if (!t) continue;
    uint32_t r = t->avg.LoadRatio();
    if (r >= core.options().hmp_up_threshold && r > best_ratio && core.Allowed(t, this_cpu)) {
      best = t;
      best_ratio = r;
    }
  }
  if (!best) return false;
  NextUpDelay(best, this_cpu);
  core.Migrate(best, this_cpu, kind);
  return true;
}

bool HmpPlacement::DoIdlePull(int cpu) { return PullTo(cpu, MigrationKind::kIdlePull); }

}  // namespace kreplay::sched
