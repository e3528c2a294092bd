// Internal to the scheduler models: the EEVDF pick/preempt policy of mainline
// kernel/sched/fair.c (v6.6 .. v6.18). Mirrors place_entity(),
// pick_next_entity()/set_next_entity() (through pick_eevdf()),
// check_preempt_wakeup_fair() and the tick's update_curr() reschedule; the
// arithmetic and the version rules are EevdfRq's (eevdf_rq.h), which says
// what it simplifies.
//
// Why a second policy base: PickPolicy (sched_policy.h) is written against
// CfsRq, the LSK 3.10 runqueue, and the 3.10 core holds CfsRq by value. A
// mainline core will be a template on its runqueue type (Cpu<EevdfRq>) and
// hold a `const MainlinePickPolicy&`; it will, like the 3.10 core:
//  - charge curr with rq.UpdateCurr(now - seg_start) before any decision
//    (the kernel's update_curr() at the top of every path);
//  - on fork: pick.PlaceEntity(rq, se, /*initial=*/true) then rq.Enqueue(se);
//    on a wake-up: rq.Requeue(se) if se->delayed, else
//    pick.PlaceEntity(rq, se, false) and rq.Enqueue(se); then
//    pick.WakeupPreempt(rq, se) and, if true, rq.PutPrev() + pick.PickNext();
//  - on a tick: UpdateCurr, then pick.TickPreempt(rq); after any other
//    UpdateCurr, rq.NeedResched() (update_curr() reschedules on its own);
//  - on sleep: rq.DequeueCurr(/*sleep=*/true): false means the task stays
//    queued as delayed (its state is "asleep, on the runqueue"); the rq's
//    blocked hook reports when such a task finally leaves.
// Policies declare KernelBase::kMainline so RunSched() can keep them off
// the 3.10 core.
//
// The hooks are defined in eevdf_rq.cc beside the runqueue so that the
// runqueue's work is inlined into them, as CfsPick does.
//
// Measured (Release, -O2, one core of the build machine; nice -3..3 tasks
// always runnable, UpdateCurr(1 ms) + TickPreempt() per step and PutPrev()
// + PickNext() when it fires, i.e. a switch every 3-4 steps): 11 ns per
// step with 2..32 tasks in 6.6 (CfsRq: 4..11 ns), 19 ns with 128; 6.18
// costs 11 ns at 2 tasks, 18 ns at 32 and 46 ns at 128 because
// set_protect_slice() and the lag clamp scan the queue for its min/max
// slice. A sleep + pick + wake-up + preemption cycle with 8 tasks under
// 6.12 (delayed dequeues included): 31 ns.
#pragma once

#include "workers/models/sched/eevdf_rq.h"
#include "workers/models/sched/sched_version.h"

namespace kreplay::sched {

// The four operations of PickPolicy, against the mainline runqueue. Public
// methods are non-virtual; policies override the private Do* hooks.
class MainlinePickPolicy {
 public:
  virtual ~MainlinePickPolicy() = default;
  const char* name() const { return name_; }
  KernelBase base() const { return base_; }

  // place_entity(): sets vruntime, slice and deadline of an entity about to
  // join `rq`; `initial` for a new task. Does not enqueue.
  void PlaceEntity(EevdfRq& rq, EevdfEntity* se, bool initial) const { DoPlaceEntity(rq, se, initial); }
  // pick_next_entity() + set_next_entity(). REQUIRES: no curr. nullptr if
  // nothing runnable is queued.
  EevdfEntity* PickNext(EevdfRq& rq) const { return DoPickNext(rq); }
  // check_preempt_wakeup_fair(): should the queued wakee `se` preempt
  // rq.curr()? May change curr's slice protection, hence the non-const rq.
  bool WakeupPreempt(EevdfRq& rq, EevdfEntity* se) const { return DoWakeupPreempt(rq, se); }
  // Did the tick's update_curr() ask for a reschedule?
  bool TickPreempt(const EevdfRq& rq) const { return DoTickPreempt(rq); }

 protected:
  MainlinePickPolicy(const char* name, KernelBase base) : name_(name), base_(base) {}

 private:
  virtual void DoPlaceEntity(EevdfRq& rq, EevdfEntity* se, bool initial) const = 0;
  virtual EevdfEntity* DoPickNext(EevdfRq& rq) const = 0;
  virtual bool DoWakeupPreempt(EevdfRq& rq, EevdfEntity* se) const = 0;
  virtual bool DoTickPreempt(const EevdfRq& rq) const = 0;

  const char* name_;
  KernelBase base_;
};

class EevdfPick final : public MainlinePickPolicy {
 public:
  EevdfPick() : MainlinePickPolicy("eevdf", KernelBase::kMainline) {}

 private:
  void DoPlaceEntity(EevdfRq& rq, EevdfEntity* se, bool initial) const override;
  EevdfEntity* DoPickNext(EevdfRq& rq) const override;
  bool DoWakeupPreempt(EevdfRq& rq, EevdfEntity* se) const override;
  bool DoTickPreempt(const EevdfRq& rq) const override;
};

}  // namespace kreplay::sched
