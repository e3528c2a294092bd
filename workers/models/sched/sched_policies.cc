// RunSchedSim(): the registered models' policy sets. The only place that maps
// a model's Policy to policy classes: the core (sched_sim.cc) knows none by
// name.
#include "workers/models/sched/cfs_pick.h"
#include "workers/models/sched/cfs_placement.h"
#include "workers/models/sched/eevdf_pick.h"
#include "workers/models/sched/hmp_placement.h"
#include "workers/models/sched/mainline_placement.h"
#include "workers/models/sched/sched_sim.h"

namespace kreplay::sched {

bool IsMainlineCfsVersion(const std::string& kernel_version) {
  return !kernel_version.empty() && kernel_version != "3.10";
}

StatusOr<model::Result> RunSchedSim(const workload::Platform& platform, const workload::SchedWorkload& workload,
                                    const SchedOptions& options, uint64_t seed, const std::atomic<bool>* cancel,
                                    SchedObserver* observer, model::SchedObserver* trace) {
  if (options.policy == Policy::kEevdf) {
    EevdfPick eevdf;
    MainlineFairPlacement mainline;
    return RunSched(kMainlineTraits, MainlinePolicies{&mainline, &eevdf}, platform, workload, options, seed, cancel,
                    observer, trace);
  }
  if (options.policy == Policy::kCfs && IsMainlineCfsVersion(options.kernel_version)) {
    MainlineCfsPick pick;
    MainlineCfsPlacement mainline;
    return RunSched(kMainlineTraits, MainlineCfsPolicies{&mainline, &pick}, platform, workload, options, seed, cancel,
                    observer, trace);
  }
  if (options.policy != Policy::kEevdf && !options.kernel_version.empty() && options.kernel_version != "3.10") {
    return InvalidArgument("params.kernel_version '" + options.kernel_version + "': " +
                           (options.policy == Policy::kHmp ? "sched.hmp runs LSK \"3.10\" only"
                                                           : "give \"3.10\" (LSK) or a mainline release 5.15 .. 6.5"));
  }
  CfsPick pick;
  CfsPlacement cfs;
  HmpPlacement hmp;
  SchedPolicies policies{&cfs, &pick};
  switch (options.policy) {
    case Policy::kCfs: break;
    case Policy::kHmp: policies.placement = &hmp; break;
    case Policy::kEevdf: break;  // above
  }
  return RunSched(kLsk310Traits, policies, platform, workload, options, seed, cancel, observer, trace);
}

}  // namespace kreplay::sched
