// Internal to the scheduler models: the two policy seams of the core.
//
// A PlacementPolicy decides where tasks run: wake and fork placement
// (select_task_rq_fair() and what replaces it), tick-time migrations, pulls
// by a newly idle CPU, and what the core must provide for it (load tracking,
// cross-cluster load balancing). CFS and HMP implement it today
// (cfs_placement.h, hmp_placement.h); EAS and IKS will.
//
// A PickPolicy decides what runs on a CPU: pick_next_entity(),
// check_preempt_wakeup(), check_preempt_tick() and place_entity(). CFS
// implements it (cfs_pick.h), EEVDF (eevdf_pick.h) on the mainline runqueue.
//
// Both are templates on the fair runqueue type, as the core is
// (sched_core.h): PlacementPolicy/PickPolicy are the LSK 3.10 (CfsRq)
// instances, MainlinePlacementPolicy/MainlinePickPolicy the mainline EEVDF
// (EevdfRq) ones and MainlineCfs* the mainline CFS (MainlineCfsRq) ones, so
// a policy cannot be handed a runqueue it was not written for.
//
// Both follow the project's pattern: the base class's public methods are
// non-virtual and do the bookkeeping (and skip hooks a policy declared it does
// not have, so a run pays a flag test for them, not a call); policies override
// the private Do* hooks. Each policy declares its kernel base; RunSched()
// refuses a policy whose base is not the core's.
#pragma once

#include "workers/models/sched/sched_core.h"
#include "workers/models/sched/sched_version.h"

namespace kreplay::sched {

template <class Rq>
class BasicPlacementPolicy {
 public:
  using Task = TaskT<Rq>;
  using Core = SchedCoreT<Rq>;
  // What a policy needs from the core and which optional hooks it has; read
  // once per run.
  struct Needs {
    LoadTracking load = LoadTracking::kNone;
    // Load balancing at the DIE level (groups = clusters) exists; the wake
    // affine domain may then span clusters too.
    bool cross_cluster_balance = true;
    bool tick_migrations = false;  // has DoTick()
    bool idle_pull = false;        // has DoIdlePull()
    // DoTick() at every tick of a busy CPU rather than when its balance is
    // due (mainline misfit: nohz_balancer_kick() checks it at each tick).
    bool tick_each = false;
  };

  virtual ~BasicPlacementPolicy() = default;
  const char* name() const { return name_; }
  KernelBase base() const { return base_; }
  const Needs& needs() const { return needs_; }

  // Binds the policy to a run's core once its CPUs and tasks exist.
  void Attach(Core* core) {
    core_ = core;
    DoAttach();
  }
  // select_task_rq() for SD_BALANCE_FORK: a new task forked on `parent_cpu`.
  int SelectForkCpu(Task* t, int parent_cpu) { return DoSelectForkCpu(t, parent_cpu); }
  // select_task_rq() for SD_BALANCE_WAKE: `t` (still on its previous CPU
  // t->cpu) woken from `waker_cpu`. The result is a CPU `t` may run on.
  int SelectWakeCpu(Task* t, int waker_cpu) { return DoSelectWakeCpu(t, waker_cpu); }
  // The rebalance softirq of a busy CPU (run_rebalance_domains()): at its
  // tick when its next balance is due (every tick with Needs::tick_each),
  // after tick preemption, before load balancing.
  void Tick(int cpu) {
    if (needs_.tick_migrations) DoTick(cpu);
  }
  // A CPU found nothing to run and newidle balancing (behind idle_balance()'s
  // avg_idle gate) pulled nothing: pull a task. True if a task was moved to
  // `cpu`.
  bool IdlePull(int cpu) { return needs_.idle_pull && DoIdlePull(cpu); }

 protected:
  BasicPlacementPolicy(const char* name, KernelBase base, const Needs& needs)
      : name_(name), base_(base), needs_(needs) {}
  Core& core() const { return *core_; }

 private:
  virtual void DoAttach() {}
  virtual int DoSelectForkCpu(Task* t, int parent_cpu) = 0;
  virtual int DoSelectWakeCpu(Task* t, int waker_cpu) = 0;
  virtual void DoTick(int /*cpu*/) {}
  virtual bool DoIdlePull(int /*cpu*/) { return false; }

  const char* name_;
  KernelBase base_;
  Needs needs_;
  Core* core_ = nullptr;
};

template <class Rq>
class BasicPickPolicy {
 public:
  using Entity = typename FairRqTypes<Rq>::Entity;
  using DecideRq = typename FairRqTypes<Rq>::DecideRq;
  using Wakee = typename FairRqTypes<Rq>::Wakee;

  virtual ~BasicPickPolicy() = default;
  const char* name() const { return name_; }
  KernelBase base() const { return base_; }

  // place_entity(): sets the vruntime of an entity about to join `rq`;
  // `initial` for a new task, else a wake-up. Does not enqueue.
  // On the mainline base also the slice and the virtual deadline.
  void PlaceEntity(DecideRq rq, Entity* se, bool initial) const { DoPlaceEntity(rq, se, initial); }
  // pick_next_entity() + set_next_entity(): the entity to run becomes
  // rq.curr(). REQUIRES: no curr. nullptr if nothing runnable is queued.
  Entity* PickNext(Rq& rq) const { return DoPickNext(rq); }
  // check_preempt_wakeup() (check_preempt_wakeup_fair() on mainline):
  // should the queued wakee `se` preempt rq.curr()?
  bool WakeupPreempt(DecideRq rq, Wakee se) const { return DoWakeupPreempt(rq, se); }
  // check_preempt_tick() (mainline: did the tick's update_curr() ask for a
  // reschedule?): should rq.curr() be preempted at this tick?
  bool TickPreempt(const Rq& rq) const { return DoTickPreempt(rq); }

 protected:
  BasicPickPolicy(const char* name, KernelBase base) : name_(name), base_(base) {}

 private:
  virtual void DoPlaceEntity(DecideRq rq, Entity* se, bool initial) const = 0;
  virtual Entity* DoPickNext(Rq& rq) const = 0;
  virtual bool DoWakeupPreempt(DecideRq rq, Wakee se) const = 0;
  virtual bool DoTickPreempt(const Rq& rq) const = 0;

  const char* name_;
  KernelBase base_;
};

using PlacementPolicy = BasicPlacementPolicy<CfsRq>;
using PickPolicy = BasicPickPolicy<CfsRq>;
using MainlinePlacementPolicy = BasicPlacementPolicy<EevdfRq>;
using MainlinePickPolicy = BasicPickPolicy<EevdfRq>;
using MainlineCfsPlacementPolicy = BasicPlacementPolicy<MainlineCfsRq>;
using MainlineCfsPickPolicy = BasicPickPolicy<MainlineCfsRq>;

}  // namespace kreplay::sched
