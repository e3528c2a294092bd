// Internal to the scheduler models: Linaro big.LITTLE MP task placement
// ("global task scheduling", CONFIG_SCHED_HMP in Linaro LSK 3.10), on top of
// CFS placement within a cluster. Driven by each task's load_avg_ratio
// (load_avg.h), which it asks the core to keep.
//
// Mirrors kernel/sched/fair.c (Linaro LSK 3.10):
// - fork: hmp_task_should_forkboost() / hmp_select_faster_cpu(): new tasks
//   start on the least-loaded CPU of the next faster cluster;
// - wake: the HMP tail of select_task_rq_fair(): hmp_up_migration() to an
//   idle faster CPU, hmp_down_migration() to the least-loaded slower one,
//   otherwise stay in the previous HMP domain. The load_avg_ratio read is the
//   one left when the task went to sleep (the core decays it afterwards);
// - rebalance softirq (run_rebalance_domains(), when a busy CPU's balance is
//   due at its tick): hmp_force_up_migration() walks every CPU in order. For
//   each CPU with a running task it takes hmp_get_heaviest_task() (curr and
//   at most hmp_max_tasks queued tasks, in pick order); the first that passes
//   hmp_up_migration() ends the walk and the target CPU pulls as
//   hmp_idle_pull() does (wake_for_idle_pull). Otherwise the lightest of curr
//   and hmp_max_tasks queued tasks (hmp_get_lightest_task()) is offloaded
//   if hmp_offload_down() finds an idle slower CPU;
// - newidle: hmp_idle_pull(), after idle_balance()'s newidle balancing found
//   nothing and behind its avg_idle gate: the heaviest task with
//   load_avg_ratio >= hmp_up_threshold among the slower CPUs' curr-plus-5,
//   with no settling-time or priority check;
// - hmp_next_up_delay() / hmp_next_down_delay(): a migration stamps the task
//   and the destination runqueue with the time for its direction and clears
//   the other direction's stamp;
// - hmp_domain_min_load(): a CPU's load is 0 with nothing runnable, else
//   1023; ties go to the CPU least recently targeted by an HMP migration,
//   then the lowest index;
// - no load balancing between clusters (the DIE domain has none);
// - CONFIG_SCHED_HMP_PRIO_FILTER when hmp_prio_filter is set.
// Every ratio read is the one left by the task's last load update (its
// wake-up, switch in or out, or its CPU's tick while it runs), as the kernel
// reads se->avg.load_avg_ratio; the passes update none.
// Simplified: a runqueue counts as loaded when it has a runnable task (the
// kernel sums the tasks' load_avg_ratio, zero only for tasks with no recent
// runnable time); the moves themselves take no time (the stopper and the
// IPI that wakes the pulling CPU are not modelled; the destination still
// pays its idle exit latency); the rebalance softirq of NOHZ idle balancing
// does not run the pass.
#pragma once

#include <vector>

#include "workers/models/sched/cfs_placement.h"

namespace kreplay::sched {

class HmpPlacement final : public CfsPlacement {
 public:
  HmpPlacement();
  // hmp_max_tasks: how many queued tasks the heaviest/lightest searches look
  // at besides the running one.
  static constexpr int kMaxTasks = 5;

 private:
  void DoAttach() override;
  int DoSelectForkCpu(Task* t, int parent_cpu) override;
  int DoSelectWakeCpu(Task* t, int waker_cpu) override;
  // hmp_force_up_migration(), whichever CPU's softirq runs it.
  void DoTick(int cpu) override;
  bool DoIdlePull(int cpu) override;

  bool PrioFiltered(const Task* t) const {
    return core().options().hmp_prio_filter && t->spec->nice >= core().options().hmp_up_prio_nice;
  }
  // hmp_up_migration(): on success `*target` is the idle faster CPU.
  bool UpMigration(Task* t, int cpu, int* target);
  bool DownMigration(Task* t, int cpu);
  // hmp_domain_min_load(): the CPU of `cluster` that `t` (if any) may use
  // with the least load (0 or 1023), -1 if none; `*load` gets the load.
  int MinLoadCpu(int cluster, const Task* t, int* load) const;
  // hmp_get_heaviest_task(curr, target_cpu): nullptr without curr, or when
  // target_cpu >= 0 is not in the faster cluster.
  Task* HeaviestTask(int cpu, int target_cpu) const;
  // hmp_get_lightest_task(curr, 1); nullptr without curr.
  Task* LightestTask(int cpu) const;
  // hmp_offload_down(): the idle slower CPU for `t`, or -1.
  int OffloadDown(int cpu, const Task* t) const;
  // Some CPU of `cluster` (if it exists) has nothing runnable.
  bool AnyIdle(int cluster) const;
  // hmp_idle_pull(this_cpu): moves the chosen task (counted under `kind`).
  bool PullTo(int this_cpu, MigrationKind kind);
  // ((now - last) >> 10) >= threshold.
  bool Settled(sim::Time last, uint32_t threshold) const;
  void NextUpDelay(Task* t, int cpu);
  void NextDownDelay(Task* t, int cpu);

  // Per task: when it last went up / down (se->avg.hmp_last_*_migration);
  // kNever for the kernel's 0.
  std::vector<sim::Time> last_up_mig_;
  std::vector<sim::Time> last_down_mig_;
  // Per CPU: the same stamps of the runqueue (rq->avg.hmp_last_*_migration).
  std::vector<sim::Time> rq_last_up_;
  std::vector<sim::Time> rq_last_down_;
};

}  // namespace kreplay::sched
