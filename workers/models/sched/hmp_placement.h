// Internal to the scheduler models: Linaro big.LITTLE MP task placement
// ("global task scheduling", CONFIG_SCHED_HMP in Linaro LSK 3.10), on top of
// CFS placement within a cluster. Driven by each task's load_avg_ratio
// (load_avg.h), which it asks the core to keep.
//
// Mirrors kernel/sched/fair.c (Linaro LSK 3.10):
// - fork: hmp_task_should_forkboost(): new tasks start on the least-loaded
//   CPU of the fastest cluster;
// - wake: the HMP tail of select_task_rq_fair(): hmp_up_migration() to an
//   idle faster CPU, hmp_down_migration() to the least-loaded slower one,
//   otherwise stay in the previous HMP domain;
// - tick: hmp_force_up_migration() of the CPU's heaviest task, and
//   hmp_offload_down() of a starving task from an oversubscribed big CPU;
// - newidle: hmp_idle_pull() by an idle big CPU;
// - no load balancing between clusters (the DIE domain has none);
// - CONFIG_SCHED_HMP_PRIO_FILTER when hmp_prio_filter is set.
// Simplified: hmp_domain_min_load() uses runnable counts (0 = idle) rather
// than rq runnable averages; it only has to find idle or least-loaded CPUs.
// The forced up-migration and offload look at the ticking CPU's own tasks
// (the LSK function, run from the rebalance softirq, is believed to walk
// every online CPU; not checked against the source here).
#pragma once

#include <vector>

#include "workers/models/sched/cfs_placement.h"

namespace kreplay::sched {

class HmpPlacement final : public CfsPlacement {
 public:
  HmpPlacement();

 private:
  void DoAttach() override;
  int DoSelectForkCpu(Task* t, int parent_cpu) override;
  int DoSelectWakeCpu(Task* t, int waker_cpu) override;
  void DoTick(int cpu) override;
  bool DoIdlePull(int cpu) override;

  bool PrioFiltered(const Task* t) const {
    return core().options().hmp_prio_filter && t->spec->nice >= core().options().hmp_up_prio_nice;
  }
  // hmp_up_migration() and hmp_down_migration(); inline (in
  // hmp_placement.cc) into the wake path and the tick that run them.
  bool UpMigration(Task* t, int cpu);
  bool DownMigration(Task* t, int cpu);
  // hmp_domain_min_load(): the least-loaded CPU of `cluster` that `t` (if
  // any) may use; with `idle_only` only an idle one; -1 if none.
  int MinLoadCpu(int cluster, const Task* t, bool idle_only) const;

  // Per task: when it last went up / down (hmp_next_up/down_delay).
  std::vector<sim::Time> last_up_mig_;
  std::vector<sim::Time> last_down_mig_;
};

}  // namespace kreplay::sched
