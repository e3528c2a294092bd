// Internal to the scheduler models: the CFS pick/preempt policy of Linaro
// LSK 3.10. Mirrors pick_next_entity()/set_next_entity(),
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

class CfsPick final : public PickPolicy {
 public:
  CfsPick() : PickPolicy("cfs", KernelBase::kLsk310) {}

 private:
  void DoPlaceEntity(const CfsRq& rq, SchedEntity* se, bool initial) const override;
  SchedEntity* DoPickNext(CfsRq& rq) const override;
  bool DoWakeupPreempt(const CfsRq& rq, const SchedEntity* se) const override;
  bool DoTickPreempt(const CfsRq& rq) const override;
};

}  // namespace kreplay::sched
