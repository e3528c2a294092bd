// Internal to the scheduler models: the CFS pick/preempt policy of Linaro
// LSK 3.10 (CfsPick) and of mainline 5.15 .. 6.5 (MainlineCfsPick, the same
// functions on a runqueue with MainlineCfsRules()). Mirrors pick_next_entity()/set_next_entity(),
// check_preempt_wakeup() (through wakeup_preempt_entity()),
// check_preempt_tick() and place_entity() in kernel/sched/fair.c; the
// arithmetic is CfsRq's (cfs_rq.h), which says what it simplifies (no NEXT/
// LAST buddies, no group scheduling).
//
// The hooks are defined in cfs_rq.cc beside the runqueue so that the compiler
// inlines the runqueue's work into them: the pick path is the core's hottest,
// and the policy then costs one indirect call over the direct one.
#pragma once

#include "workers/models/sched/sched_policy.h"

namespace kreplay::sched {

template <class Rq>
class CfsPickT final : public BasicPickPolicy<Rq> {
 public:
  CfsPickT() : BasicPickPolicy<Rq>("cfs", FairRqTypes<Rq>::kBase) {}

 private:
  void DoPlaceEntity(const Rq& rq, SchedEntity* se, bool initial) const override;
  SchedEntity* DoPickNext(Rq& rq) const override;
  bool DoWakeupPreempt(const Rq& rq, const SchedEntity* se) const override;
  bool DoTickPreempt(const Rq& rq) const override;
};

using CfsPick = CfsPickT<CfsRq>;
using MainlineCfsPick = CfsPickT<MainlineCfsRq>;

}  // namespace kreplay::sched
