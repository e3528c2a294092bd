// The scheduler family's registration: its table entry (generated synthetic
// workloads, the platform as the run's system, the sched trace codec) and
// its models.
#pragma once

#include "services/core/status.h"
#include "services/family/family.h"

namespace kreplay::sched {

// Family "sched": models sched.cfs and sched.hmp (sched_models.h).
Status RegisterSchedFamily(family::Catalog& catalog);
// The table entry alone (tests that register fake models of the family).
family::FamilyInfo SchedFamilyInfo();

}  // namespace kreplay::sched
