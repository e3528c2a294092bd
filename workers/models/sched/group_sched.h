// Internal to the scheduler models: group scheduling (CONFIG_FAIR_GROUP_SCHED)
// on the mainline runqueue (EevdfRq), for the mainline core (sched.eevdf).
// The core owns each CPU's root runqueue; GroupSched owns, per task group
// (other than the root) and CPU, the group's runqueue (the kernel's per-CPU
// tg->cfs_rq) and the group entity that stands for it in its parent's
// runqueue (tg->se, with se->my_q = that runqueue). A task queues on its
// group's runqueue of its CPU. The core calls GroupSched only for a
// workload with task groups; without them nothing here runs.
//
// Mirrors (kernel/sched/fair.c, v6.6..v6.18; 6.12 where DELAY_DEQUEUE is
// concerned):
//  - enqueue_task_fair(): the task is placed and enqueued on its group's
//    runqueue; walking up (for_each_sched_entity), each group entity not on
//    its parent is weighed (update_cfs_group()), placed and enqueued; the
//    walk stops at the first one already queued, which is requeued if it was
//    delayed (requeue_delayed_entity()); the rest of the way up only
//    update_cfs_group() runs. ENQUEUE_INITIAL applies to the task only.
//  - dequeue_entities(): the task leaves its group's runqueue (or stays on
//    it, delayed); walking up, a group entity whose runqueue has no load left
//    leaves its parent with DEQUEUE_SLEEP (so it may itself be delayed, as
//    in 6.12+), and the walk stops at the first runqueue that keeps load
//    ("don't dequeue parent if it has other entities besides us");
//  - pick_task_fair(): pick_next_entity() per level from the root down to a
//    task; a delayed entity chosen on the way is dequeued, and when that
//    leaves a group's runqueue empty its entity is dequeued too and the pick
//    starts again from the root (the kernel's "goto again");
//  - update_curr() at every level of the running task (the delta charged to
//    each entity on the path), entity_tick() per level (update_cfs_group()
//    of each group entity, the preemption latch of every level);
//  - check_preempt_wakeup_fair() between the entities of the wakee and of
//    curr at their first common runqueue (find_matching_se());
//  - update_cfs_group(): weight = calc_group_shares() (task_group.h); not
//    recomputed for an empty group runqueue (6.12+, kept for delayed
//    dequeue); tg->load_avg per update_tg_load_avg()'s 1/64 rule;
//  - reweight_entity() (6.12 form): a queued entity's lag and relative
//    deadline scaled by old/new weight, re-placed at the new weight.
//
// Simplified, and why:
//  - The group runqueue's load is its load.weight alone: calc_group_shares()
//    gets 0 for grq->avg.load_avg and update_tg_load_avg() propagates
//    load.weight. The PELT of group runqueues is not kept (pelt.h tracks
//    tasks and CPUs only). With always-runnable tasks the two agree (the
//    kernel takes max(load.weight, load_avg)); for tasks that sleep, the
//    kernel's decaying load_avg keeps a group's weight on a CPU up for a
//    while after its tasks sleep, the model drops it at once.
//  - A running group entity's new weight (entity_tick()) takes effect when
//    it is put back or dequeued, not at once: the kernel reweights curr in
//    place. The shares are the same; a tick's worth of vruntime accrues at
//    the old weight.
//  - A queued (not running) group entity emptied by a migration leaves at
//    once (EevdfRq::Dequeue() has no delayed form); the kernel may delay it.
//  - Group entities take the base slice; 6.12+ gives them the shortest slice
//    of their runqueue (which is the base slice unless a task set
//    sched_runtime).
//  - The core's PELT, placement and balancing still read the root runqueue:
//    its load is the group entities' weights, as the kernel's root cfs_rq
//    load.weight is, but its nr_running counts entities, not tasks;
//    load balancing uses nr_tasks() and HWeight() (task_h_load() on
//    weights) instead. 6.x's h_nr_runnable for PELT's runnable signal is the
//    root's entity count.
//
// GroupSched calls EevdfRq directly (PlaceEntity, PickNext, WakeupPreempt):
// the mainline pick policy, EevdfPick, is exactly those calls. Cost for a
// workload without groups: one flag test per hook in the core (callgrind on
// sched_bench's eevdf run: +0.6 % instructions; the LSK 3.10 runs unchanged).
//
// Not thread-safe; one instance per run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "services/sim/time.h"
#include "workers/models/sched/eevdf_rq.h"
#include "workers/models/sched/task_group.h"

namespace kreplay::sched {

class GroupSched {
 public:
  // Group entities carry this bit in EevdfEntity::id (tasks' ids are task
  // indices); a group entity also has my_q set.
  static constexpr uint32_t kGroupEntityBit = 0x80000000u;

  // REQUIRES: tree.size() > 1; roots[cpu] is CPU cpu's root runqueue, which
  // outlives this object and is not moved. Sets every runqueue's blocked
  // hook (the roots' included) to keep nr_tasks().
  GroupSched(GroupTree tree, std::vector<EevdfRq*> roots, const EevdfTraits& traits);
  GroupSched(const GroupSched&) = delete;
  GroupSched& operator=(const GroupSched&) = delete;

  // The runqueue task `se` queues on at `cpu`: its group's.
  EevdfRq& TaskRq(const EevdfEntity* se, int cpu) { return Rq(tree_.group_of_task(se->id), cpu); }

  // update_curr() at every level of the running task `se` on `cpu`.
  void UpdateCurr(EevdfEntity* se, int cpu, sim::Duration delta_exec);
  // enqueue_task_fair(): place `se` on its group's runqueue of `cpu` and
  // enqueue up the hierarchy. REQUIRES: !se->on_rq, update_curr() done.
  void Enqueue(EevdfEntity* se, int cpu, bool initial);
  // ttwu_runnable() of a delayed task: requeue_delayed_entity().
  void Requeue(EevdfEntity* se, int cpu);
  // dequeue of queued (not running, not delayed) task `se`: migration.
  void Dequeue(EevdfEntity* se, int cpu);
  // dequeue of the running task; every level above is left without curr.
  // False if the task stays queued, delayed (DELAY_DEQUEUE).
  bool DequeueCurr(EevdfEntity* se, int cpu, bool sleep);
  // put_prev_task_fair(): the running task and every group entity above it
  // go back into their runqueues.
  void PutPrev(EevdfEntity* se, int cpu);
  // pick_task_fair() + set_next_entity() per level: the task to run on
  // `cpu`, or nullptr. REQUIRES: nothing running on `cpu`'s fair class.
  EevdfEntity* Pick(int cpu);
  // task_tick_fair() after update_curr(): entity_tick() per level; true if
  // any level asks for a reschedule.
  bool TickPreempt(EevdfEntity* curr, int cpu);
  // check_preempt_wakeup_fair() with find_matching_se(). `wakee` is queued.
  bool WakeupPreempt(EevdfEntity* curr, EevdfEntity* wakee, int cpu);

  // Fair tasks on `cpu`'s runqueues, delayed ones included (rq->cfs
  // h_nr_queued).
  int nr_tasks(int cpu) const { return nr_tasks_[cpu]; }
  // The task's weight as seen from the root (task_h_load() on weights):
  // its weight times, per level, the group entity's weight over its
  // runqueue's load.
  uint64_t HWeight(const EevdfEntity* se, int cpu) const;
  // Group `group`'s entity on `cpu` (tests, traces). REQUIRES: group >= 1.
  const EevdfEntity& GroupEntity(int group, int cpu) const { return L(group, cpu).se; }
  const GroupTree& tree() const { return tree_; }

 private:
  struct Level {
    explicit Level(const EevdfTraits& t) : q(t) {}
    EevdfEntity se;
    EevdfRq q;
    uint64_t contrib = 0;    // cfs_rq->tg_load_avg_contrib
    bool reweight = false;   // a weight change waits for se to stop running
  };
  struct HookCtx {
    GroupSched* self;
    int cpu;
  };
  static void OnBlocked(void* ctx, EevdfEntity* se);

  int ncpus() const { return static_cast<int>(roots_.size()); }
  int Parent(int g) const { return tree_.node(g).parent; }
  Level& L(int g, int cpu) { return *levels_[static_cast<size_t>(g - 1) * roots_.size() + cpu]; }
  const Level& L(int g, int cpu) const { return *levels_[static_cast<size_t>(g - 1) * roots_.size() + cpu]; }
  EevdfRq& Rq(int g, int cpu) { return g == 0 ? *roots_[cpu] : L(g, cpu).q; }
  int GroupOfEntity(const EevdfEntity* se) const { return static_cast<int>((se->id & ~kGroupEntityBit) / roots_.size()) + 1; }

  // update_tg_load_avg() of group g's runqueue on cpu.
  void UpdateTgLoad(int g, int cpu);
  // update_cfs_group() of group g's entity on cpu (deferred while it runs).
  void UpdateCfsGroup(int g, int cpu);
  // reweight_entity() of a group entity that is not running.
  void Reweight(int g, int cpu, uint32_t weight);
  // Going up from group g (whose runqueue just lost an entity): dequeue
  // empty groups' entities while `removing`, then put back (running) or
  // reweight (queued) the rest. `running`: the path is curr at every level.
  void WalkUpAfterDequeue(int g, int cpu, bool removing, bool running);

  GroupTree tree_;
  std::vector<EevdfRq*> roots_;
  std::vector<std::unique_ptr<Level>> levels_;  // (group - 1) * ncpus + cpu
  std::vector<TgLoad> tg_;                      // per group
  std::vector<int> nr_tasks_;
  std::vector<HookCtx> hook_ctx_;
  std::vector<int> path_;  // Pick()'s scratch: the groups descended through
};

}  // namespace kreplay::sched
