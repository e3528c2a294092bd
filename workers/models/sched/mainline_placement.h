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
//   sched_balance_find_dst_cpu() (find_idlest_cpu() before 6.10): from the
//   PKG domain (groups: clusters; absent on one cluster) down to MC (groups:
//   CPUs), sched_balance_find_dst_group(): update_sg_wakeup_stats() and
//   group_classify() (has spare < fully busy < misfit < overloaded, on the
//   CPUs' PELT util, runnable and load against the domain's imbalance_pct),
//   update_pick_idlest(), then the local group kept unless the idlest is of
//   a lower type, or of the same type with more idle CPUs (has spare), more
//   capacity (misfit), or a load lower by the imbalance (busy);
//   sched_balance_find_dst_group_cpu(): an idle CPU in the shallowest idle
//   state, ties to the most recently idled, else the least loaded. The new
//   task's util is 0 when it is placed (post_init_entity_util_avg() runs
//   after), so it fits every CPU. Simplified: RT tasks queued behind a
//   running one do not count in nr_running (a running RT task does);
//   capacity_of() is the CPU's capacity (no RT/IRQ pressure);
//   sched_idle_cpu() (a CPU running only SCHED_IDLE tasks) is not checked;
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
#include <vector>

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

  // A sched_group of the fork walk: CPUs first .. first + n - 1.
  struct Span {
    int first = 0;
    int n = 0;
  };
  // enum group_type, in its order (the ones the slow path meets).
  enum class GroupType { kHasSpare, kFullyBusy, kMisfitTask, kOverloaded };
  struct GroupStats {  // struct sg_lb_stats, the fields the slow path reads
    GroupType type = GroupType::kHasSpare;
    uint64_t load = 0, avg_load = 0, util = 0;
    int nr_running = 0, idle_cpus = 0;
    uint32_t max_capacity = 0;
    bool misfit = false;
  };
  GroupStats WakeupStats(const Task* t, int first, int n, int imbalance_pct) const;
  // The index in `groups` of the group to move to, or -1 to stay local.
  int FindIdlestGroup(const Task* t, const std::vector<Span>& groups, int this_cpu, int imbalance_pct) const;
  int FindIdlestGroupCpu(const Task* t, const Span& group, int this_cpu) const;

  bool Fits(const Task* t, int cpu) const;
  bool SharesCache(int a, int b) const { return core().cpu(a).cluster == core().cpu(b).cluster; }
  int SelectIdleSibling(Task* t, int prev, int target) const;

  bool asym_ = false;  // sched_asym_cpucap_active(): CPU capacities differ
};

using MainlineFairPlacement = MainlineFairPlacementT<EevdfRq>;
using MainlineCfsPlacement = MainlineFairPlacementT<MainlineCfsRq>;

}  // namespace kreplay::sched
