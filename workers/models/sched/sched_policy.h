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
// implements it (cfs_pick.h); EEVDF will.
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

class PlacementPolicy {
 public:
  // What a policy needs from the core and which optional hooks it has; read
  // once per run.
  struct Needs {
    LoadTracking load = LoadTracking::kNone;
    // Load balancing at the DIE level (groups = clusters) exists; the wake
    // affine domain may then span clusters too.
    bool cross_cluster_balance = true;
    bool tick_migrations = false;  // has DoTick()
    bool idle_pull = false;        // has DoIdlePull()
  };

  virtual ~PlacementPolicy() = default;
  const char* name() const { return name_; }
  KernelBase base() const { return base_; }
  const Needs& needs() const { return needs_; }

  // Binds the policy to a run's core once its CPUs and tasks exist.
  void Attach(SchedCore* core) {
    core_ = core;
    DoAttach();
  }
  // select_task_rq() for SD_BALANCE_FORK: a new task forked on `parent_cpu`.
  int SelectForkCpu(Task* t, int parent_cpu) { return DoSelectForkCpu(t, parent_cpu); }
  // select_task_rq() for SD_BALANCE_WAKE: `t` (still on its previous CPU
  // t->cpu) woken from `waker_cpu`. The result is a CPU `t` may run on.
  int SelectWakeCpu(Task* t, int waker_cpu) { return DoSelectWakeCpu(t, waker_cpu); }
  // The rebalance softirq of a busy CPU (run_rebalance_domains()): at its
  // tick when its next balance is due, after tick preemption, before load
  // balancing.
  void Tick(int cpu) {
    if (needs_.tick_migrations) DoTick(cpu);
  }
  // A CPU found nothing to run and newidle balancing (behind idle_balance()'s
  // avg_idle gate) pulled nothing: pull a task. True if a task was moved to
  // `cpu`.
  bool IdlePull(int cpu) { return needs_.idle_pull && DoIdlePull(cpu); }

 protected:
  PlacementPolicy(const char* name, KernelBase base, const Needs& needs) : name_(name), base_(base), needs_(needs) {}
  SchedCore& core() const { return *core_; }

 private:
  virtual void DoAttach() {}
  virtual int DoSelectForkCpu(Task* t, int parent_cpu) = 0;
  virtual int DoSelectWakeCpu(Task* t, int waker_cpu) = 0;
  virtual void DoTick(int /*cpu*/) {}
  virtual bool DoIdlePull(int /*cpu*/) { return false; }

  const char* name_;
  KernelBase base_;
  Needs needs_;
  SchedCore* core_ = nullptr;
};

class PickPolicy {
 public:
  virtual ~PickPolicy() = default;
  const char* name() const { return name_; }
  KernelBase base() const { return base_; }

  // place_entity(): sets the vruntime of an entity about to join `rq`;
  // `initial` for a new task, else a wake-up. Does not enqueue.
  void PlaceEntity(const CfsRq& rq, SchedEntity* se, bool initial) const { DoPlaceEntity(rq, se, initial); }
  // pick_next_entity() + set_next_entity(): the entity to run becomes
  // rq.curr(). REQUIRES: no curr. nullptr if nothing is queued.
  SchedEntity* PickNext(CfsRq& rq) const { return DoPickNext(rq); }
  // check_preempt_wakeup(): should waking `se` preempt rq.curr()?
  bool WakeupPreempt(const CfsRq& rq, const SchedEntity* se) const { return DoWakeupPreempt(rq, se); }
  // check_preempt_tick(): should rq.curr() be preempted at this tick?
  bool TickPreempt(const CfsRq& rq) const { return DoTickPreempt(rq); }

 protected:
  PickPolicy(const char* name, KernelBase base) : name_(name), base_(base) {}

 private:
  virtual void DoPlaceEntity(const CfsRq& rq, SchedEntity* se, bool initial) const = 0;
  virtual SchedEntity* DoPickNext(CfsRq& rq) const = 0;
  virtual bool DoWakeupPreempt(const CfsRq& rq, const SchedEntity* se) const = 0;
  virtual bool DoTickPreempt(const CfsRq& rq) const = 0;

  const char* name_;
  KernelBase base_;
};

}  // namespace kreplay::sched
