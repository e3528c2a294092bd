// Internal to the scheduler models: fair-task placement of mainline
// kernel/sched/fair.c on the mainline cores (v5.15 .. v6.5 with CFS,
// MainlineCfsRq; v6.6 .. v6.18 with EEVDF, EevdfRq), for SoCs with or
// without asymmetric CPU capacity. The rules below are the same in all
// these releases at default uclamp and without thermal pressure (6.2's
// util_fits_cpu() reduces to fits_capacity() then; capacity_greater() is
// 5.13's). Reads PELT (pelt.h), which
// the mainline core always keeps.
//
// Mirrors (fair.c, 6.6+):
// - wake: select_task_rq_fair() with WF_TTWU and no EAS: want_affine (the
//   waker's CPU is allowed; wake_wide() is not modelled), wake_affine() in
//   the lowest domain spanning waker and previous CPU with WA_IDLE
//   (wake_affine_idle(): the waker's CPU if it is idle and shares the LLC
//   with prev, prev if that is idle too; prev if idle) then WA_WEIGHT
//   (wake_affine_weight(): capacity-scaled loads with half the
//   imbalance_pct slack), then select_idle_sibling(): target if idle and
//   the task fits it; prev if it shares the LLC, is idle and fits; on
//   asymmetric capacity select_idle_capacity() over all CPUs (from target,
//   wrapping: the first idle CPU where util_fits_cpu(), else the idle CPU
//   of the most capacity); otherwise select_idle_cpu() in the target's LLC
//   (the first idle CPU after target, wrapping). Fitting is fits_capacity():
//   util * 1280 < capacity * 1024, on task_util_est() (max of util_avg and
//   util_est), uclamp at its defaults;
// - fork: select_task_rq_fair() with SD_BALANCE_FORK ->
//   sched_balance_find_dst_cpu() (find_idlest_cpu() before 6.10).
//   Simplified: the idlest allowed CPU, i.e. an idle one first, then the
//   fewest runnable tasks, then the least load, ties to the parent's CPU and
//   then the lowest index; find_idlest_group()'s group classification and
//   spare-capacity rules are not mirrored;
// - misfit: update_misfit_status() at every tick of a busy CPU (the task's
//   util_est does not fit its CPU's capacity), and the move of a misfit
//   task to an idle CPU of greater capacity (capacity_greater(): more than
//   ~5 % more), the first where it fits, else the biggest. Simplified: the
//   kernel moves it through load balancing of a group_misfit_task (an idle
//   bigger CPU kicked by nohz_balancer_kick(), then active balance); here
//   the move is made at the busy CPU's tick, counted as a balance move.
// Not modelled: EAS (find_energy_efficient_cpu()), recent_used_cpu,
// has_idle_core (no SMT on these SoCs), SIS_UTIL's scan limit, uclamp.
#pragma once

#include <cstdint>

#include "workers/models/sched/sched_policy.h"

namespace kreplay::sched {

template <class Rq>
class MainlineFairPlacementT final : public BasicPlacementPolicy<Rq> {
  using Task = TaskT<Rq>;
  using Core = SchedCoreT<Rq>;
  using BasicPlacementPolicy<Rq>::core;

 public:
  MainlineFairPlacementT()
      : BasicPlacementPolicy<Rq>("mainline", KernelBase::kMainline,
                             typename BasicPlacementPolicy<Rq>::Needs{LoadTracking::kNone, /*cross_cluster_balance=*/true, /*tick_migrations=*/true,
                                   /*idle_pull=*/false, /*tick_each=*/true}) {}

  // fits_capacity(): util * 1280 < capacity * 1024.
  static bool FitsCapacity(uint32_t util, uint32_t capacity) {
    return static_cast<uint64_t>(util) * 1280 < static_cast<uint64_t>(capacity) * 1024;
  }
  // capacity_greater(): cap1 * 1024 > cap2 * 1078.
  static bool CapacityGreater(uint32_t cap1, uint32_t cap2) {
    return static_cast<uint64_t>(cap1) * 1024 > static_cast<uint64_t>(cap2) * 1078;
  }

 private:
  void DoAttach() override;
  int DoSelectForkCpu(Task* t, int parent_cpu) override;
  int DoSelectWakeCpu(Task* t, int waker_cpu) override;
  // update_misfit_status() and the misfit move.
  void DoTick(int cpu) override;

  bool Fits(const Task* t, int cpu) const;
  bool SharesCache(int a, int b) const { return core().cpu(a).cluster == core().cpu(b).cluster; }
  int SelectIdleSibling(Task* t, int prev, int target) const;

  bool asym_ = false;  // sched_asym_cpucap_active(): CPU capacities differ
};

using MainlineFairPlacement = MainlineFairPlacementT<EevdfRq>;
using MainlineCfsPlacement = MainlineFairPlacementT<MainlineCfsRq>;

}  // namespace kreplay::sched
