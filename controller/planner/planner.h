// The one path from a study spec to its runs, shared by the controller
// (SubmitStudy), `kreplay run --local` and `kreplay rerun`: workloads are
// named (content digests) and run keys computed only here, so every caller
// agrees on them by construction.
//
// A study's workloads come in instances, one per (workload, seed) for the
// generated kinds and one per file for the others (the same for every seed).
// The planner names each instance once, in parallel, through its workload
// kind (family::WorkloadKind), building it only when its name needs its
// content (kinds without a `name` from inputs), when it travels as trace
// chunks (the caller encodes it through `on_built`), or when the caller asks
// for every workload (`keep_built`, the local run).
//
// Thread-safety: StudyPlanner's functions are static and pure over their
// inputs; PlanRuns may be called concurrently. `on_built` is called from
// several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "controller/spec/spec.h"
#include "kreplay/v1/study.pb.h"
#include "services/core/status.h"
#include "services/model/any_ref.h"

namespace kreplay::planner {

// One materialisable workload of the study.
struct WorkloadInstance {
  size_t workload = 0;      // index into StudySpec::workloads
  uint64_t seed = 0;        // the generator's seed; 0 for kinds that are the same for every seed
  std::string digest;       // content digest: the run keys' input
  double cost = 0;          // estimated work of one run over it (relative; before platform scaling)
  bool travels_as_trace = false;  // published as trace chunks, not as its generator spec
  model::AnyValue built;          // set when built and kept (keep_built), else empty
  std::string source;       // for trace manifests: "name (path)" or "name seed N"
};

struct PlannedRun {
  spec::RunSpec run;
  size_t instance = 0;      // index into Plan::instances
  std::string run_key;
  std::string label;        // "variant/platform/workload/seed N", for messages
  double cost = 0;          // estimated, for longest-first ordering
};

struct Plan {
  std::vector<WorkloadInstance> instances;  // ordered by (workload, seed)
  std::vector<PlannedRun> runs;             // canonical order (spec::ExpandRuns)
};

struct PlanOptions {
  // Keep every instance's workload built (local run). Otherwise an instance
  // is built only when naming or transport needs it, and dropped after.
  bool keep_built = false;
  // Only runs for which this returns true are planned (null: all).
  std::function<bool(const spec::RunSpec&)> filter;
  // Called once per instance that travels as a trace, with its index in
  // Plan::instances and its workload built, before the workload is dropped;
  // an error fails the plan. From several threads at once.
  std::function<Status(size_t, const WorkloadInstance&, const model::AnyValue&)> on_built;
  int threads = 0;          // for naming instances; <= 0: one per hardware thread
};

class StudyPlanner {
 public:
  // Every run of `spec` (or those `options.filter` keeps), with its workload
  // instance, run key and estimated cost. Errors: a workload that cannot be
  // built (its file changed since load: FailedPrecondition), two runs with
  // the same key (InvalidArgument naming both), or what `on_built` returns.
  static StatusOr<Plan> PlanRuns(const spec::StudySpec& spec, const PlanOptions& options = {});

  // Builds `instance`'s workload if it is not built yet.
  static Status Build(const spec::StudySpec& spec, WorkloadInstance& instance);

  // The work item of `run`: everything a worker needs except the study id,
  // the controller epoch and, for trace transport, the manifest (the caller
  // sets those). Deterministic.
  static v1::WorkItem MakeWorkItem(const spec::StudySpec& spec, const Plan& plan, const PlannedRun& run);
};

}  // namespace kreplay::planner
