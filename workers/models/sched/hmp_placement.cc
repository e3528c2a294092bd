#include "workers/models/sched/hmp_placement.h"

#include <cstdint>

namespace kreplay::sched {

HmpPlacement::HmpPlacement()
    : CfsPlacement("hmp", Needs{LoadTracking::kLsk310RunnableAvg, /*cross_cluster_balance=*/false,
                                /*tick_migrations=*/true, /*idle_pull=*/true}) {}

void HmpPlacement::DoAttach() {
  last_up_mig_.assign(core().ntasks(), INT64_MIN / 2);
  last_down_mig_.assign(core().ntasks(), INT64_MIN / 2);
}

int HmpPlacement::DoSelectForkCpu(Task* t, int parent_cpu) {
  // hmp_task_should_forkboost(): user tasks start on the fastest cluster.
  int cpu = MinLoadCpu(core().nclusters() - 1, t, false);
  if (cpu >= 0) {
    last_up_mig_[t->index] = core().Now();
    return cpu;
  }
  return CfsPlacement::DoSelectForkCpu(t, parent_cpu);
}

int HmpPlacement::DoSelectWakeCpu(Task* t, int waker_cpu) {
  const SchedCore& c = core();
  int prev = t->cpu;
  int new_cpu = CfsWakeCpu(t, waker_cpu);
  // select_task_rq_fair() HMP tail: up to an idle big CPU, or down to the
  // least-loaded LITTLE one; otherwise stay in the previous HMP domain.
  if (UpMigration(t, prev)) {
    int up = MinLoadCpu(c.cpu(prev).cluster + 1, t, /*idle_only=*/true);
    if (up >= 0) {
      last_up_mig_[t->index] = c.Now();
      return up;
    }
  }
  if (DownMigration(t, prev)) {
    int down = MinLoadCpu(c.cpu(prev).cluster - 1, t, false);
    if (down >= 0) {
      last_down_mig_[t->index] = c.Now();
      return down;
    }
  }
  if (c.cpu(new_cpu).cluster != c.cpu(prev).cluster && c.Allowed(t, prev)) return prev;
  return new_cpu;
}

inline bool HmpPlacement::UpMigration(Task* t, int cpu) {
  // hmp_up_migration(): heavy enough, not filtered, settled since the last
  // up-migration, and an idle CPU exists in the faster domain.
  const SchedCore& c = core();
  if (c.IsFastest(cpu)) return false;
  if (PrioFiltered(t)) return false;
  if (t->avg.LoadRatio() < c.options().hmp_up_threshold) return false;
  if (c.Now() - last_up_mig_[t->index] < c.options().hmp_min_migration_interval_ns) return false;
  return MinLoadCpu(c.cpu(cpu).cluster + 1, t, true) >= 0;
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
  if (c.Now() - last_down_mig_[t->index] < c.options().hmp_min_migration_interval_ns) return false;
  return t->avg.LoadRatio() < c.options().hmp_down_threshold;
}

int HmpPlacement::MinLoadCpu(int cluster, const Task* t, bool idle_only) const {
  const SchedCore& c = core();
  if (cluster < 0 || cluster >= c.nclusters()) return -1;
  const ClusterRt& cl = c.cluster(cluster);
  int best = -1, best_load = INT32_MAX;
  for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
    if (t && !c.Allowed(t, cpu)) continue;
    // An idle CPU has load 0, which nothing beats, and the first one wins
    // ties: the scan can stop there.
    if (c.CpuIdle(cpu)) return cpu;
    if (idle_only) continue;
    int load = 1 + c.cpu(cpu).rq.nr_running();
    if (load < best_load) {
      best = cpu;
      best_load = load;
    }
  }
  return best;
}

void HmpPlacement::DoTick(int cpu) {
  // hmp_force_up_migration() for this CPU: the heaviest runnable task goes
  // up if it qualifies; on a big CPU, hmp_offload_down() for the running one.
  SchedCore& core = this->core();
  const Cpu& c = core.cpu(cpu);
  if (!core.IsFastest(cpu)) {
    core.TouchLoads(cpu);
    Task* heaviest = nullptr;
    uint32_t best = 0;
    auto consider = [&](Task* t) {
      uint32_t r = t->avg.LoadRatio();
      if (!heaviest || r > best) {
        heaviest = t;
        best = r;
      }
    };
    if (c.curr) consider(c.curr);
    for (int i = 0; i < c.rq.queued(); ++i) consider(core.task(c.rq.queued_at(i)->id));
    if (heaviest && UpMigration(heaviest, cpu)) {
      int to = MinLoadCpu(c.cluster + 1, heaviest, true);
      last_up_mig_[heaviest->index] = core.Now();
      core.Migrate(heaviest, to, MigrationKind::kForced);
    }
    return;
  }
  Task* t = c.curr;
  if (!t || core.IsSlowest(cpu)) return;
  // Offload only if this domain has no idle CPU, the task is not alone, it is
  // starving (runs < 75 % of its runnable time) and a slower CPU idles.
  if (MinLoadCpu(c.cluster, nullptr, true) >= 0) return;
  if (c.rq.nr_running() < 2) return;
  uint32_t running_share = static_cast<uint32_t>(t->avg.usage_sum * 1024.0 / (t->avg.runnable_sum + 1.0));
  if (running_share > 768) return;
  int to = MinLoadCpu(c.cluster - 1, t, true);
  if (to < 0) return;
  last_down_mig_[t->index] = core.Now();
  core.Migrate(t, to, MigrationKind::kOffload);
}

bool HmpPlacement::DoIdlePull(int cpu) {
  // hmp_idle_pull(): an idle big CPU takes the heaviest eligible task from the
  // slower domain.
  SchedCore& core = this->core();
  if (!core.IsFastest(cpu) || core.IsSlowest(cpu)) return false;
  Task* best = nullptr;
  uint32_t best_ratio = 0;
  const ClusterRt& below = core.cluster(core.cpu(cpu).cluster - 1);
  for (int k = below.first; k < below.first + below.n; ++k) {
    auto consider = [&](Task* t) {
      if (!core.Allowed(t, cpu) || PrioFiltered(t)) return;
      if (core.Now() - last_up_mig_[t->index] < core.options().hmp_min_migration_interval_ns) return;
      core.TouchLoad(t);
      uint32_t r = t->avg.LoadRatio();
      if (r > core.options().hmp_up_threshold && r > best_ratio) {
        best = t;
        best_ratio = r;
      }
    };
    const Cpu& from = core.cpu(k);
    if (from.curr) consider(from.curr);
    for (int i = 0; i < from.rq.queued(); ++i) consider(core.task(from.rq.queued_at(i)->id));
  }
  if (!best) return false;
  last_up_mig_[best->index] = core.Now();
  core.Migrate(best, cpu, MigrationKind::kIdlePull);
  return true;
}

}  // namespace kreplay::sched
