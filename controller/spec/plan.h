// Study plans: what a study would cost before it runs (`kreplay plan`), and
// the size check that makes `plan` and `run` ask for --yes on huge studies.
//
// Everything here is an ESTIMATE from the loaded spec alone: no workload is
// generated, no trace is read again, no model runs. Each workload's kind
// estimates its size and the study family the work of a run
// (family::FamilyInfo::run_work), in the unit the model's throughput was
// measured in (ModelInfo::work_unit, e.g. scheduler engine events, bcache
// requests, block accesses), turned into core-seconds with the model's
// measured rate (ModelInfo::work_per_core_s).
//
// Thread-safety: pure functions over immutable values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/spec/spec.h"
#include "services/core/status.h"

namespace kreplay::spec {

// A study with more runs than this needs an explicit confirmation (--yes).
inline constexpr uint64_t kPlanConfirmRuns = 10000;
// ... and so does one whose estimated model work exceeds one core-hour.
inline constexpr double kPlanConfirmCoreSeconds = 3600;

struct PlanOptions {
  // Runs of a model with a batch function that share model, platform,
  // workload and seed travel together, this many to a work item at most.
  // Mirrors server::ControllerOptions::max_batch_runs (the CLI passes it).
  uint32_t max_batch_runs = 8;
};

// One workload entry, per instance (one instance per seed for the generated
// kinds, a single one for files). Counts marked "expected" are means of the
// generator's distributions, not draws.
// Its size fields (tasks, phases, requests, trace_bytes, ...) are what the
// workload's kind estimated (family::WorkloadEstimate).
struct WorkloadPlan : family::WorkloadEstimate {
  std::string name;
  std::string kind;        // its spec key: "synthetic", "rtapp", "blocktrace", ...
  bool per_seed = false;   // a new instance per seed
  bool travels_as_trace = false;  // transport trace (non-generated kinds always)
  uint64_t instances = 0;  // distinct workloads the study needs: seeds or 1
};

// One expanded variant: its model's work per run, summed over the study.
struct VariantPlan {
  std::string name;             // expanded name, "hmp[governor=schedutil]"
  std::string model;
  std::string work_unit;        // "events", "requests" or "block accesses"
  double rate_per_core_s = 0;   // measured throughput of the model, work_unit per core-second
  bool rate_measured = false;   // false: a family default stands in (no measurement for this model)
  bool batched = false;         // the model has a batch function
  uint64_t runs = 0;
  double work = 0;              // summed over its runs
  double core_seconds = 0;      // work / rate
  double longest_run_core_seconds = 0;
  // Block accesses of a block trace are counted as one per request (request
  // sizes are not known without reading the trace again): a lower bound.
  bool work_is_lower_bound = false;
};

struct StudyPlan {
  std::string study;
  std::string family;
  std::vector<std::string> platforms;  // blockcache: the one kNoPlatform entry
  std::vector<uint64_t> seeds;
  std::vector<WorkloadPlan> workloads;
  std::vector<VariantPlan> variants;
  uint64_t runs = 0;
  // Work items the controller would publish: one per run, except that runs
  // of a batching model sharing (model, platform, workload, seed) go up to
  // max_batch_runs to an item.
  uint64_t work_items = 0;
  uint64_t batched_runs = 0;     // runs that share an item with another run
  double core_seconds = 0;       // summed over variants
  double longest_run_core_seconds = 0;
  double trace_bytes = 0;        // chunk payload of every instance that travels as a trace, once each
};

// The plan of `spec`, loaded against `catalog` (the family's estimates; which
// models batch). Never fails: LoadStudySpec has validated everything.
StudyPlan PlanStudy(const StudySpec& spec, const family::Catalog& catalog, const PlanOptions& options = {});

// Estimated wall time of the model work on `workers` x `threads` cores:
// core-seconds / cores, but never less than the longest single run (a run is
// single-threaded). Ignores transport, generation and startup.
// REQUIRES: workers >= 1, threads >= 1.
double EstimateWallSeconds(const StudyPlan& plan, int workers, int threads);

// OK when the plan is small (<= kPlanConfirmRuns runs and <= kPlanConfirmCoreSeconds
// of estimated work) or `yes`; otherwise FailedPrecondition saying what the
// study would cost and to pass --yes.
Status CheckPlanSize(const StudyPlan& plan, bool yes);
Status CheckPlanSize(const StudySpec& spec, const family::Catalog& catalog, bool yes);

// "850 ms", "42 s", "3.5 min", "2.1 h", "4.0 days": for estimates.
std::string HumanSeconds(double seconds);

}  // namespace kreplay::spec
