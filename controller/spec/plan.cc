#include "controller/spec/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <variant>

namespace kreplay::spec {
namespace {

// A model's measured throughput (ModelInfo::work_per_core_s) or, when it
// has none, its family's default, flagged as a guess.
struct ModelRate {
  std::string unit;
  double per_core_s = 0;
  bool measured = false;
};

ModelRate RateOf(const model::ModelInfo* info, const family::FamilyInfo& fam) {
  if (info && info->work_per_core_s > 0) return {info->work_unit, info->work_per_core_s, true};
  return {fam.default_work_unit, fam.default_work_per_core_s, false};
}

WorkloadPlan PlanWorkload(const StudySpec& spec, const WorkloadEntry& w) {
  WorkloadPlan p;
  static_cast<family::WorkloadEstimate&>(p) = w.kind_info->estimate(w.parsed);
  p.name = w.name;
  p.kind = w.kind;
  p.per_seed = w.per_seed();
  p.travels_as_trace = w.transport == WorkloadEntry::Transport::kTrace;
  p.instances = p.per_seed ? spec.seeds.size() : 1;
  return p;
}

}  // namespace

StudyPlan PlanStudy(const StudySpec& spec, const family::Catalog& catalog, const PlanOptions& options) {
  const model::Registry& registry = catalog.models();
  const family::FamilyInfo& fam = *catalog.Find(spec.family);
  StudyPlan plan;
  plan.study = spec.name;
  plan.family = spec.family;
  for (const auto& p : spec.platforms) plan.platforms.push_back(p.name);
  plan.seeds = spec.seeds;
  for (const WorkloadEntry& w : spec.workloads) {
    plan.workloads.push_back(PlanWorkload(spec, w));
    const auto& wp = plan.workloads.back();
    if (wp.travels_as_trace) plan.trace_bytes += wp.trace_bytes * static_cast<double>(wp.instances);
  }
  const uint64_t per_variant =
      static_cast<uint64_t>(spec.platforms.size()) * spec.workloads.size() * spec.seeds.size();
  // Runs of batching models that may share a work item, keyed as the
  // controller's batch key is (model, platform, workload, seed): the seed is
  // part of it even for workloads that are the same for every seed.
  std::map<std::tuple<std::string, size_t, size_t, uint64_t>, uint64_t> batch_groups;
  for (const auto& v : spec.variants) {
    const model::ModelInfo* info = registry.Find(v.model);
    const ModelRate rate = RateOf(info, fam);
    VariantPlan vp;
    vp.name = v.name;
    vp.model = v.model;
    vp.work_unit = rate.unit;
    vp.rate_per_core_s = rate.per_core_s;
    vp.rate_measured = rate.measured;
    vp.batched = info && info->run_batch;
    vp.runs = per_variant;
    for (size_t p = 0; p < spec.platforms.size(); ++p) {
      for (size_t w = 0; w < spec.workloads.size(); ++w) {
        const WorkloadEntry& we = spec.workloads[w];
        family::RunWorkInput in;
        in.model = info;
        in.params = &v.params;
        in.system_cpus = spec.platforms[p].cpus;
        in.kind = we.kind_info;
        in.workload = &we.parsed;
        in.estimate = &plan.workloads[w];
        const family::RunWork run = fam.run_work(in);
        const double work = run.work;
        vp.work += work * static_cast<double>(spec.seeds.size());
        vp.longest_run_core_seconds = std::max(vp.longest_run_core_seconds, work / rate.per_core_s);
        vp.work_is_lower_bound |= run.lower_bound;
        if (vp.batched)
          for (uint64_t seed : spec.seeds) ++batch_groups[{v.model, p, w, seed}];
      }
    }
    vp.core_seconds = vp.work / rate.per_core_s;
    plan.runs += vp.runs;
    plan.core_seconds += vp.core_seconds;
    plan.longest_run_core_seconds = std::max(plan.longest_run_core_seconds, vp.longest_run_core_seconds);
    if (!vp.batched) plan.work_items += vp.runs;
    plan.variants.push_back(std::move(vp));
  }
  const uint64_t cap = std::max<uint32_t>(options.max_batch_runs, 1);
  for (const auto& group : batch_groups) {
    const uint64_t n = group.second;
    plan.work_items += (n + cap - 1) / cap;
    if (cap > 1) plan.batched_runs += n / cap * cap + (n % cap > 1 ? n % cap : 0);
  }
  return plan;
}

double EstimateWallSeconds(const StudyPlan& plan, int workers, int threads) {
  const double cores = static_cast<double>(std::max(1, workers)) * std::max(1, threads);
  return std::max(plan.core_seconds / cores, plan.longest_run_core_seconds);
}

std::string HumanSeconds(double s) {
  char buf[64];
  if (s < 1)
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1e3);
  else if (s < 120)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 2 * 3600)
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else if (s < 2 * 86400)
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  else
    std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  return buf;
}

Status CheckPlanSize(const StudyPlan& plan, bool yes) {
  const bool many = plan.runs > kPlanConfirmRuns;
  const bool heavy = plan.core_seconds > kPlanConfirmCoreSeconds;
  if (yes || (!many && !heavy)) return OkStatus();
  return FailedPrecondition("study '" + plan.study + "' is large: " + std::to_string(plan.runs) + " runs" +
                            (many ? " (more than " + std::to_string(kPlanConfirmRuns) + ")" : std::string()) +
                            ", about " + HumanSeconds(plan.core_seconds) + " of model work on one core (estimate" +
                            (heavy ? ", more than " + HumanSeconds(kPlanConfirmCoreSeconds) + ")" : std::string(")")) +
                            ". Pass --yes to go ahead (`kreplay plan --yes` shows the whole plan).");
}

Status CheckPlanSize(const StudySpec& spec, const family::Catalog& catalog, bool yes) {
  return CheckPlanSize(PlanStudy(spec, catalog), yes);
}

}  // namespace kreplay::spec
