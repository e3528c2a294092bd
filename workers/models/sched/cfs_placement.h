// Internal to the scheduler models: CFS task placement of Linaro LSK 3.10 on
// an asymmetric SoC, where CPUs differ only through cpu_power (no task fit).
//
// Mirrors kernel/sched/fair.c (LSK 3.10):
// - wake: select_task_rq_fair() with SD_BALANCE_WAKE: wake_affine() in the
//   lowest domain spanning waker and previous CPU (MC or DIE imbalance_pct,
//   power-scaled rq->load.weight), then select_idle_sibling() in the target's
//   cluster (the LLC);
// - fork: find_idlest_group() at DIE (power-scaled group load against the
//   local group's within imbalance_pct), then at MC, then find_idlest_cpu().
// Simplified: loads are instantaneous weight sums (rq->load.weight) rather
// than 3.10's runnable_load_avg / cpu_load[] (see sched_sim.h); affine wakes
// do not look at wake_wide() or the sync hint.
#pragma once

#include "workers/models/sched/sched_policy.h"

namespace kreplay::sched {

class CfsPlacement : public PlacementPolicy {
 public:
  CfsPlacement() : CfsPlacement("cfs", Needs{}) {}

 protected:
  CfsPlacement(const char* name, const Needs& needs) : PlacementPolicy(name, KernelBase::kLsk310, needs) {}

  // The CFS decisions, for policies that fall back to them.
  int DoSelectForkCpu(Task* t, int parent_cpu) override;
  int DoSelectWakeCpu(Task* t, int waker_cpu) override;

 private:
  bool WakeAffine(Task* t, int this_cpu, int prev_cpu, int imbalance_pct) const;
  int FindIdlestCpuIn(Task* t, int first, int n, int this_cpu) const;
};

}  // namespace kreplay::sched
