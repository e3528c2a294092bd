#include "controller/planner/planner.h"

#include <map>
#include <utility>

#include "controller/spec/run_key.h"
#include "services/codec/convert.h"
#include "services/core/parallel.h"

namespace kreplay::planner {
namespace {

// Names `inst` (digest, cost) through its workload kind, building it when
// naming, transport or the caller needs it.
Status NameInstance(const spec::StudySpec& spec, size_t index, WorkloadInstance& inst, const PlanOptions& options) {
  const spec::WorkloadEntry& we = spec.workloads[inst.workload];
  const family::WorkloadKind& kind = *we.kind_info;
  const bool encode = inst.travels_as_trace && options.on_built;
  std::optional<std::string> name = kind.name ? kind.name(we.parsed, inst.seed) : std::nullopt;
  if (name) {
    inst.digest = *name;
    inst.cost = kind.cost_from_inputs(we.parsed);
    if (!encode && !options.keep_built) return OkStatus();
  }
  KREPLAY_RETURN_IF_ERROR(StudyPlanner::Build(spec, inst));
  if (!name) {
    inst.digest = kind.digest(inst.built);
    inst.cost = kind.cost(inst.built);
  }
  if (encode) KREPLAY_RETURN_IF_ERROR(options.on_built(index, inst, inst.built));
  if (!options.keep_built) inst.built = {};
  return OkStatus();
}

}  // namespace

Status StudyPlanner::Build(const spec::StudySpec& spec, WorkloadInstance& inst) {
  if (!inst.built.empty()) return OkStatus();
  KREPLAY_ASSIGN_OR_RETURN(inst.built, spec::BuildWorkload(spec, inst.workload, inst.seed));
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
    inst.source = we.name + (we.per_seed() ? " seed " + std::to_string(k.second) : " (" + we.parsed.path + ")");
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
    // Work grows with the CPUs a platform simulates.
    pr.cost = pe.implicit ? inst.cost : inst.cost * static_cast<double>(pe.cpus);
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
  sys->set_config(pe.config);
  if (!inst.travels_as_trace) {
    wi.set_synthetic_yaml(we.parsed.generator_yaml);
    wi.set_generator_kind(we.kind);
  }
  wi.set_seed(r.seed);
  wi.set_workload_digest(inst.digest);
  wi.set_estimated_cost(pr.cost);
  return wi;
}

}  // namespace kreplay::planner
