#include "controller/planner/planner.h"

#include <map>
#include <utility>

#include "controller/spec/run_key.h"
#include "services/codec/convert.h"
#include "services/core/parallel.h"
#include "services/workload/block_workload.h"
#include "services/workload/synth.h"

namespace kreplay::planner {
namespace {

using Kind = spec::WorkloadEntry::Kind;

// Scheduler work: records to simulate plus simulated time (ms) per task.
double SchedCost(double records, int64_t duration_ns, size_t tasks) {
  return records + static_cast<double>(duration_ns) / 1e6 * static_cast<double>(tasks + 1);
}

// Whether naming the instance needs its content: generated scheduler
// workloads are named by their generator inputs, everything else by content.
bool DigestNeedsContent(const spec::WorkloadEntry& we) { return we.kind != Kind::kSynthetic; }

// Names `inst` (digest, cost), building it when naming, transport or the
// caller needs it.
Status NameInstance(const spec::StudySpec& spec, size_t index, WorkloadInstance& inst, const PlanOptions& options) {
  const spec::WorkloadEntry& we = spec.workloads[inst.workload];
  const bool encode = inst.travels_as_trace && options.on_built;
  if (we.kind == Kind::kSynthetic) {
    inst.digest = workload::SyntheticWorkloadDigest(we.synth, inst.seed);
    inst.cost = SchedCost(workload::SyntheticExpectedPhases(we.synth), we.synth.duration_ns,
                          static_cast<size_t>(workload::SyntheticTaskCount(we.synth)));
  }
  if (!DigestNeedsContent(we) && !encode && !options.keep_built) return OkStatus();
  KREPLAY_RETURN_IF_ERROR(StudyPlanner::Build(spec, inst));
  const model::AnyValue built = inst.built;
  if (const auto* block = built.As<workload::BlockWorkload>()) {
    inst.digest = workload::BlockWorkloadDigest(*block);
    inst.cost = static_cast<double>(block->requests.size());  // block models' work is per request
  } else if (we.kind == Kind::kRtApp) {
    const auto* sched = built.As<workload::SchedWorkload>();
    inst.digest = workload::SchedWorkloadDigest(*sched);
    uint64_t records = 0;
    for (const auto& t : sched->tasks) records += t.phases.size();
    inst.cost = SchedCost(static_cast<double>(records), sched->duration_ns, sched->tasks.size());
  }
  if (encode) KREPLAY_RETURN_IF_ERROR(options.on_built(index, inst, built));
  if (!options.keep_built) inst.built = {};
  return OkStatus();
}

}  // namespace

Status StudyPlanner::Build(const spec::StudySpec& spec, WorkloadInstance& inst) {
  if (!inst.built.empty()) return OkStatus();
  const spec::WorkloadEntry& we = spec.workloads[inst.workload];
  if (we.is_block()) {
    // Held whole: a request is 32 bytes.
    KREPLAY_ASSIGN_OR_RETURN(auto w, spec::BuildBlockWorkload(spec, inst.workload, inst.seed));
    inst.built = model::AnyValue::Make(std::move(w), 0);
  } else {
    KREPLAY_ASSIGN_OR_RETURN(auto w, spec::BuildWorkload(spec, inst.workload, inst.seed));
    inst.built = model::AnyValue::Make(std::move(w), 0);
  }
  return OkStatus();
}

StatusOr<Plan> StudyPlanner::PlanRuns(const spec::StudySpec& spec, const PlanOptions& options) {
  Plan plan;
  std::vector<spec::RunSpec> runs = spec::ExpandRuns(spec);
  if (options.filter) std::erase_if(runs, [&](const spec::RunSpec& r) { return !options.filter(r); });

  // One instance per (workload, seed); files are the same for every seed.
  std::map<std::pair<size_t, uint64_t>, size_t> index;
  auto key_of = [&](const spec::RunSpec& r) {
    return std::make_pair(r.workload, spec.workloads[r.workload].per_seed() ? r.seed : uint64_t{0});
  };
  for (const auto& r : runs) index.emplace(key_of(r), 0);
  for (auto& [k, i] : index) {
    i = plan.instances.size();
    const spec::WorkloadEntry& we = spec.workloads[k.first];
    WorkloadInstance inst;
    inst.workload = k.first;
    inst.seed = k.second;
    inst.travels_as_trace = we.transport == spec::WorkloadEntry::Transport::kTrace;
    const std::string& path = we.kind == Kind::kRtApp ? we.rtapp_path : we.trace_path;
    inst.source = we.name + (we.per_seed() ? " seed " + std::to_string(k.second) : " (" + path + ")");
    plan.instances.push_back(std::move(inst));
  }
  std::vector<Status> errors(plan.instances.size());
  ParallelFor(plan.instances.size(), options.threads,
              [&](size_t i) { errors[i] = NameInstance(spec, i, plan.instances[i], options); });
  for (const Status& e : errors) KREPLAY_RETURN_IF_ERROR(e);

  std::map<std::string, std::string> key_owner;
  plan.runs.reserve(runs.size());
  for (auto& r : runs) {
    PlannedRun pr;
    pr.instance = index.at(key_of(r));
    const WorkloadInstance& inst = plan.instances[pr.instance];
    const spec::PlatformEntry& pe = spec.platforms[r.platform];
    pr.run_key = spec::ComputeRunKey(r.model, r.model_version, r.params.Canonical(), pe.digest, inst.digest, r.seed);
    pr.label = spec.variants[r.variant].name + "/" + pe.name + "/" + spec.workloads[r.workload].name + "/seed " +
               std::to_string(r.seed);
    if (auto [it, ok] = key_owner.emplace(pr.run_key, pr.label); !ok)
      return InvalidArgument(spec.path + ": runs '" + it->second + "' and '" + pr.label +
                             "' are identical (same model, parameters, platform, workload and seed): "
                             "make the variants differ or remove one");
    // Scheduler work grows with the CPUs simulated.
    const bool sched = !spec.workloads[r.workload].is_block();
    pr.cost = sched ? inst.cost * static_cast<double>(pe.platform.total_cpus()) : inst.cost;
    pr.run = std::move(r);
    plan.runs.push_back(std::move(pr));
  }
  return plan;
}

v1::WorkItem StudyPlanner::MakeWorkItem(const spec::StudySpec& spec, const Plan& plan, const PlannedRun& pr) {
  const spec::RunSpec& r = pr.run;
  const WorkloadInstance& inst = plan.instances[pr.instance];
  const spec::PlatformEntry& pe = spec.platforms[r.platform];
  const spec::WorkloadEntry& we = spec.workloads[r.workload];
  v1::WorkItem wi;
  wi.set_run_key(pr.run_key);
  wi.set_model(r.model);
  wi.set_model_version(r.model_version);
  codec::ParamsToProto(r.params, wi.mutable_params());
  auto* sys = wi.mutable_system();
  sys->set_family(spec.family);
  sys->set_name(pe.name);
  sys->set_digest(pe.digest);
  if (!we.is_block()) sys->set_config(codec::PlatformBytes(pe.platform));
  if (!inst.travels_as_trace) wi.set_synthetic_yaml(we.synth_yaml);
  wi.set_seed(r.seed);
  wi.set_workload_digest(inst.digest);
  wi.set_estimated_cost(pr.cost);
  return wi;
}

}  // namespace kreplay::planner
