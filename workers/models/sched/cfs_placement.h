// Internal to the scheduler models: CFS task placement of Linaro LSK 3.10 on
// an asymmetric SoC, where CPUs differ only through cpu_power (no task fit).
//
// Mirrors kernel/sched/fair.c (LSK 3.10):
// - wake: select_task_rq_fair() with SD_BALANCE_WAKE: wake_affine() in the
//   lowest domain spanning waker and previous CPU (MC or DIE imbalance_pct,
//   power-scaled rq->load.weight), then select_idle_sibling() in the target's
//   cluster (the LLC);
// - fork: the SD_BALANCE_FORK walk of select_task_rq_fair():
//   find_idlest_group() (power-scaled group load; the local group is kept
//   while within 100 + (imbalance_pct - 100) / 2 of the idlest) and
//   find_idlest_cpu() at DIE, then at MC of the CPU reached.
// Simplified: loads are instantaneous weight sums (rq->load.weight) rather
// than 3.10's runnable_load_avg / cpu_load[] (see sched_sim.h); affine wakes
// do not look at wake_wide() or the sync hint.
#pragma once

#include <cstdint>

#include "workers/models/sched/sched_policy.h"

namespace kreplay::sched {

class CfsPlacement : public PlacementPolicy {
 public:
  CfsPlacement() : CfsPlacement("cfs", Needs{}) {}

 protected:
  CfsPlacement(const char* name, const Needs& needs) : PlacementPolicy(name, KernelBase::kLsk310, needs) {}

  // The CFS decisions, for policies that fall back to them.
  int DoSelectForkCpu(Task* t, int parent_cpu) override;
  int DoSelectWakeCpu(Task* t, int waker_cpu) override { return CfsWakeCpu(t, waker_cpu); }
  // select_task_rq_fair() for SD_BALANCE_WAKE. In the header, with its
  // helpers, so that a policy running it first on every wake-up (HMP)
  // inlines it rather than calling into this file.
  int CfsWakeCpu(Task* t, int waker_cpu) const;

 private:
  bool WakeAffine(const Task* t, int this_cpu, int prev_cpu, int imbalance_pct) const;
  // find_idlest_group() at `level` (1 = DIE, 0 = MC) for this_cpu: the
  // group's first CPU and size, or -1 to stay in the local group.
  int FindIdlestGroup(const Task* t, int this_cpu, int level, int* first, int* n) const;
  // find_idlest_cpu(): least rq load among the allowed CPUs, ties to
  // this_cpu, then the lowest index; -1 if none is allowed.
  int FindIdlestCpuIn(Task* t, int first, int n, int this_cpu) const;
};

namespace cfs_internal {

// select_idle_sibling(): the target if idle, else the first idle CPU of the
// target's LLC (cluster), scanning from the target onwards.
inline int SelectIdleSibling(const SchedCore& c, const Task* t, int target) {
  if (c.CpuIdle(target) && c.Allowed(t, target)) return target;
  const ClusterRt& cl = c.cluster(c.cpu(target).cluster);
  int end = cl.first + cl.n;
  for (int k = 1; k < cl.n; ++k) {
    int cpu = target + k;  // cl.first + (target - cl.first + k) % cl.n
    if (cpu >= end) cpu -= cl.n;
    if (c.CpuIdle(cpu) && c.Allowed(t, cpu)) return cpu;
  }
  return target;
}

}  // namespace cfs_internal

inline bool CfsPlacement::WakeAffine(const Task* t, int this_cpu, int prev_cpu, int imbalance_pct) const {
  // wake_affine(): pull to the waker's CPU if that leaves this CPU no more
  // loaded (power-scaled) than the previous CPU with half the imbalance slack.
  const Cpu& this_c = core().cpu(this_cpu);
  const Cpu& prev_c = core().cpu(prev_cpu);
  uint64_t this_load = this_c.rq.load();
  uint64_t prev_load = prev_c.rq.load();
  uint64_t this_eff = 100ull * prev_c.power * (this_load + t->se.weight);
  uint64_t prev_eff = (100ull + (imbalance_pct - 100) / 2) * this_c.power * prev_load;
  return this_eff <= prev_eff;
}

inline int CfsPlacement::CfsWakeCpu(Task* t, int waker_cpu) const {
  const SchedCore& c = core();
  int prev = t->cpu;
  int cpu = waker_cpu;
  bool same_cluster = c.cpu(cpu).cluster == c.cpu(prev).cluster;
  // The affine domain is the lowest one spanning both CPUs: MC if they share
  // a cluster, else DIE (which a policy without cross-cluster balancing, such
  // as HMP, builds without load balancing).
  int target = prev;
  if (cpu != prev && c.Allowed(t, cpu) && (same_cluster || needs().cross_cluster_balance)) {
    int pct = same_cluster ? c.options().mc_imbalance_pct : c.options().imbalance_pct;
    if (WakeAffine(t, cpu, prev, pct)) target = cpu;
  }
  int new_cpu = cfs_internal::SelectIdleSibling(c, t, target);
  if (!c.Allowed(t, new_cpu)) {
    new_cpu = -1;
    for (int k = 0; k < c.ncpus() && new_cpu < 0; ++k) {
      if (c.Allowed(t, k)) new_cpu = k;
    }
  }
  return new_cpu;
}

}  // namespace kreplay::sched
