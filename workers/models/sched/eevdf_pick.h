// Internal to the scheduler models: the EEVDF pick/preempt policy of mainline
// kernel/sched/fair.c (v6.6 .. v6.18). Mirrors place_entity(),
// pick_next_entity()/set_next_entity() (through pick_eevdf()),
// check_preempt_wakeup_fair() and the tick's update_curr() reschedule; the
// arithmetic and the version rules are EevdfRq's (eevdf_rq.h), which says
// what it simplifies.
//
// How the mainline core (sched_sim.cc, SchedSim<EevdfRq>) calls it:
//  - charge curr with rq.UpdateCurr(now - seg_start) before any decision
//    (the kernel's update_curr() at the top of every path);
//  - on fork: UpdateCurr, pick.PlaceEntity(rq, se, /*initial=*/true) then
//    rq.Enqueue(se); on a wake-up: rq.Requeue(se) if se->delayed (the task
//    never left: ttwu_runnable(), no CPU selection), else UpdateCurr,
//    pick.PlaceEntity(rq, se, false) and rq.Enqueue(se); then
//    pick.WakeupPreempt(rq, se) and, if true, rq.PutPrev() + pick.PickNext();
//  - on a tick: UpdateCurr, then pick.TickPreempt(rq); the reschedule latch
//    another UpdateCurr() sets is acted on at the next tick or wake-up
//    preemption check on that CPU (WakeupPreempt() returns it);
//  - on sleep: rq.DequeueCurr(/*sleep=*/true): false means the task stays
//    queued as delayed (its state is "asleep, on the runqueue"); the rq's
//    blocked hook reports when such a task finally leaves;
//  - on a migration: rq.Dequeue(se) / rq.DequeueCurr(false) (lag saved,
//    PLACE_REL_DEADLINE), then on the destination UpdateCurr,
//    pick.PlaceEntity(rq, se, false) and rq.Enqueue(se); delayed tasks are
//    not migrated.
// Policies declare KernelBase::kMainline so RunSched() can keep them off
// the 3.10 core.
//
// The hooks are defined in eevdf_rq.cc beside the runqueue so that the
// runqueue's work is inlined into them, as CfsPick does.
//
// Cost: sched_bench (sched.eevdf, in docs/models/sched.md) is the measure;
// a per-operation figure written here would go stale with the queue.
#pragma once

#include "workers/models/sched/eevdf_rq.h"
#include "workers/models/sched/sched_policy.h"
#include "workers/models/sched/sched_version.h"

namespace kreplay::sched {

// MainlinePickPolicy (sched_policy.h) is BasicPickPolicy<EevdfRq>: the four
// operations of PickPolicy against the mainline runqueue.
class EevdfPick final : public MainlinePickPolicy {
 public:
  EevdfPick() : BasicPickPolicy("eevdf", KernelBase::kMainline) {}

 private:
  void DoPlaceEntity(EevdfRq& rq, EevdfEntity* se, bool initial) const override;
  EevdfEntity* DoPickNext(EevdfRq& rq) const override;
  bool DoWakeupPreempt(EevdfRq& rq, EevdfEntity* se) const override;
  bool DoTickPreempt(const EevdfRq& rq) const override;
};

}  // namespace kreplay::sched
