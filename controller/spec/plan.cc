#include "controller/spec/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <variant>

namespace kreplay::spec {
namespace {

// ---- measured rates ---------------------------------------------------------
// Throughput of one model on one core of the shared 2-core development
// machine (session-2 measurements, Release build):
// - sched.cfs / sched.hmp: ~13 M engine events/s (workers/models/sched/sched_bench,
//   64 mixed tasks on juno-r0).
// - bcache: ~3.3 M trace requests/s (bcache_bench medians 3.0-4.3 M/s,
//   workers/models/blockcache/bcache/README.md); bcache.stack ~1.2 M/s (BM_Stack there).
// - block.lru / block.fifo: ~15 M block accesses/s (fixed/README.md: LRU 14-25 M/s,
//   FIFO 22-25 M/s; the low end, for large caches).
// - block.mrc: ~8 M block accesses/s exact (fixed/README.md: 6.5-8.4 M/s over
//   100 sizes); SHARDS sampling is far faster, so this over-estimates it.
// Models not listed take their family's default and are flagged as guesses.
struct ModelRate {
  const char* model;
  const char* unit;  // kEvents, kRequests or kBlockAccesses
  double per_core_s;
  bool measured;
};
constexpr const char* kEvents = "events";
constexpr const char* kRequests = "requests";
constexpr const char* kBlockAccesses = "block accesses";
constexpr ModelRate kRates[] = {
    {"sched.cfs", kEvents, 13e6, true},
    {"sched.hmp", kEvents, 13e6, true},
    {"bcache", kRequests, 3.3e6, true},
    {"bcache.stack", kRequests, 1.2e6, true},
    {"block.lru", kBlockAccesses, 15e6, true},
    {"block.fifo", kBlockAccesses, 15e6, true},
    {"block.mrc", kBlockAccesses, 8e6, true},
};
constexpr ModelRate kSchedDefault = {"", kEvents, 13e6, false};
constexpr ModelRate kBlockDefault = {"", kRequests, 1.2e6, false};  // the slowest measured block model

ModelRate RateOf(const std::string& model, const std::string& family) {
  for (const auto& r : kRates)
    if (model == r.model) return r;
  return family == kFamilyBlockCache ? kBlockDefault : kSchedDefault;
}

// ---- scheduler events ---------------------------------------------------------
// Engine events of a scheduler run, fitted on `kreplay run --local` results
// (sim_events) of synthetic workloads on juno-r0 and tc2 (examples/hello,
// examples/biglittle-cfs-vs-hmp, and 20 s batch-only, periodic-only and
// overloaded interactive workloads): from 10 % below to 35 % above the
// measured sim_events, CFS and HMP alike, mostly above (HMP runs fewer):
// - each executed phase costs ~1.8 events (its start and its end or wake-up);
// - a busy CPU adds ~2 x hz events per second (scheduler tick, balancing,
//   governor samples); idle CPUs add almost none (NOHZ);
// - work runs slower than at the calibration CPU's top OPP on LITTLE cores
//   and lower OPPs: busy time ~1.5 x the workload's nominal run time, at most
//   every CPU for the whole duration. When demand exceeds that, only the
//   share that fits runs before the duration ends.
constexpr double kEventsPerPhase = 1.8;
constexpr double kBusyEventsPerTick = 2.0;
constexpr double kBusySlowdown = 1.5;
constexpr int64_t kDefaultHz = 100;  // the sched models' "hz" default

// ---- trace transport ----------------------------------------------------------
// Chunk payload per record (services/codec: zigzag-delta varint columns).
// Sched phase records (task, op, a, b) take ~6 bytes; block requests ~10-11
// (BlockTraceSize tests: 10.0 for a sequential stream, ~11 for a Zipf mix).
constexpr double kSchedTraceBytesPerRecord = 6;
constexpr double kBlockTraceBytesPerRequest = 11;

const char* KindName(WorkloadEntry::Kind k) {
  switch (k) {
    case WorkloadEntry::Kind::kSynthetic: return "synthetic";
    case WorkloadEntry::Kind::kRtApp: return "rtapp";
    case WorkloadEntry::Kind::kBlockTrace: return "blocktrace";
    case WorkloadEntry::Kind::kBlockSynthetic: return "block_synthetic";
  }
  return "?";
}

// Nominal time of one pass over a task's program: run phases at calibration
// speed plus sleeps, or, with an absolute timer, at least the timer period
// (the run happens inside it). Waits and signals take no time of their own.
double LoopNs(const workload::SchedTaskSpec& t) {
  double busy = 0, timer = 0;
  for (const auto& p : t.phases) {
    if (p.op == workload::PhaseOp::kTimer)
      timer += static_cast<double>(p.a);
    else if (p.op == workload::PhaseOp::kRun || p.op == workload::PhaseOp::kRuntime ||
             p.op == workload::PhaseOp::kSleep)
      busy += static_cast<double>(p.a);
  }
  return std::max(busy, timer);
}

// rt-app workloads list each task's program once with a loop count: unroll
// it by the count, or by the duration over one loop for "until the end"
// (-1); a run also stops at the workload's duration. With no duration the
// run lasts until the last task ends.
void PlanRtApp(const workload::SchedWorkload& w, WorkloadPlan& p) {
  const double duration = static_cast<double>(w.duration_ns);
  double end_ns = duration;
  for (const auto& t : w.tasks) {
    p.trace_records += t.phases.size();
    const double loop = LoopNs(t);
    const double fit = duration > 0 && loop > 0 ? std::max(1.0, (duration - static_cast<double>(t.delay_ns)) / loop) : 1;
    const double loops = t.loops > 0 ? (duration > 0 && loop > 0 ? std::min<double>(t.loops, fit) : t.loops) : fit;
    p.phases += loops * static_cast<double>(t.phases.size());
    for (const auto& ph : t.phases)
      if (ph.op == workload::PhaseOp::kRun || ph.op == workload::PhaseOp::kRuntime)
        p.cpu_work_ns += loops * static_cast<double>(ph.a);
    if (duration == 0) end_ns = std::max(end_ns, static_cast<double>(t.delay_ns) + loops * loop);
  }
  p.tasks = w.tasks.size();
  p.duration_ns = static_cast<int64_t>(end_ns);
}

double MeanNs(const workload::DurationDist& d) {
  using K = workload::DurationDist::Kind;
  return d.kind == K::kUniform ? (static_cast<double>(d.a) + static_cast<double>(d.b)) / 2 : static_cast<double>(d.a);
}

// Expected run work of a synthetic spec, as its generator draws it: interactive
// tasks run run/(run+sleep) of their span, periodic ones `run` per period,
// batch ones their total work.
double SyntheticWorkNs(const workload::SynthSpec& s) {
  double total = 0;
  for (const auto& g : s.groups) {
    const double span = std::max(0.0, static_cast<double>(s.duration_ns - g.start_ns));
    const double run = MeanNs(g.run);
    double per_task = 0;
    if (g.kind == "interactive")
      per_task = run + MeanNs(g.sleep) > 0 ? span * run / (run + MeanNs(g.sleep)) : 0;
    else if (g.kind == "periodic")
      per_task = g.period_ns > 0 ? span / static_cast<double>(g.period_ns) * std::min(run, static_cast<double>(g.period_ns)) : 0;
    else
      per_task = static_cast<double>(g.total_work_ns);
    total += per_task * g.count;
  }
  return total;
}

void PlanBlockSynthetic(const blocktrace::BlockSynthSpec& s, WorkloadPlan& p) {
  double n = s.requests ? static_cast<double>(s.requests) : 0;
  if (s.duration_ns) {
    double by_time = static_cast<double>(s.duration_ns) / 1e9 * s.rate;
    n = s.requests ? std::min(n, by_time) : by_time;
  }
  p.requests = n;
  double weight = 0, bytes = 0;
  std::map<uint32_t, bool> volumes;
  for (const auto& c : s.components) {
    weight += c.weight;
    bytes += c.weight * c.size;
    p.footprint_bytes += c.footprint;
    volumes[c.volume] = true;
  }
  p.mean_request_bytes = weight > 0 ? bytes / weight : 0;
  p.volumes = volumes.size();
}

// Expected block accesses per request of `w` for a cache of `block_size`
// bytes: each component's requests are size-aligned from its region start,
// so they touch about ceil(size / block_size) blocks (at least one).
double AccessesPerRequest(const WorkloadEntry& w, int64_t block_size) {
  if (w.kind != WorkloadEntry::Kind::kBlockSynthetic || block_size <= 0) return 1;
  double weight = 0, acc = 0;
  for (const auto& c : w.block_synth.components) {
    weight += c.weight;
    acc += c.weight * std::max(1.0, std::ceil(static_cast<double>(c.size) / static_cast<double>(block_size)));
  }
  return weight > 0 ? acc / weight : 1;
}

WorkloadPlan PlanWorkload(const StudySpec& spec, const WorkloadEntry& w) {
  WorkloadPlan p;
  p.name = w.name;
  p.kind = KindName(w.kind);
  p.per_seed = w.per_seed();
  p.travels_as_trace = w.transport == WorkloadEntry::Transport::kTrace;
  p.instances = p.per_seed ? spec.seeds.size() : 1;
  switch (w.kind) {
    case WorkloadEntry::Kind::kSynthetic:
      p.tasks = static_cast<uint64_t>(workload::SyntheticTaskCount(w.synth));
      p.phases = workload::SyntheticExpectedPhases(w.synth);
      p.trace_records = static_cast<uint64_t>(std::llround(p.phases));  // generated tasks run once
      p.duration_ns = w.synth.duration_ns;
      p.cpu_work_ns = SyntheticWorkNs(w.synth);
      p.trace_bytes = p.phases * kSchedTraceBytesPerRecord;
      break;
    case WorkloadEntry::Kind::kRtApp:
      PlanRtApp(w.rtapp, p);
      p.trace_bytes = static_cast<double>(p.trace_records) * kSchedTraceBytesPerRecord;
      break;
    case WorkloadEntry::Kind::kBlockTrace:
      p.requests = static_cast<double>(w.trace_info.requests);
      p.volumes = w.trace_info.volumes;
      p.trace_bytes = p.requests * kBlockTraceBytesPerRequest;
      break;
    case WorkloadEntry::Kind::kBlockSynthetic:
      PlanBlockSynthetic(w.block_synth, p);
      p.trace_bytes = p.requests * kBlockTraceBytesPerRequest;
      break;
  }
  return p;
}

// Work of one run of variant `v` on (platform, workload), in the model's unit.
double RunWork(const ModelRate& rate, const Variant& v, const PlatformEntry& pe, const WorkloadEntry& we,
               const WorkloadPlan& wp) {
  if (rate.unit == kEvents) {
    auto hz_param = v.params.values().find("hz");
    const int64_t hz = hz_param != v.params.values().end() && std::holds_alternative<int64_t>(hz_param->second)
                           ? std::get<int64_t>(hz_param->second)
                           : kDefaultHz;
    const double demand_s = wp.cpu_work_ns / 1e9 * kBusySlowdown;
    const double capacity_s = static_cast<double>(wp.duration_ns) / 1e9 * pe.platform.total_cpus();
    const double load = capacity_s > 0 ? demand_s / capacity_s : 0;
    const double executed = load > 1 ? wp.phases / load : wp.phases;
    const double busy_s = capacity_s > 0 ? std::min(demand_s, capacity_s) : demand_s;
    return kEventsPerPhase * executed + kBusyEventsPerTick * static_cast<double>(hz) * busy_s;
  }
  if (rate.unit == kBlockAccesses) {
    auto bs = v.params.values().find("block_size");
    int64_t block_size = bs != v.params.values().end() && std::holds_alternative<int64_t>(bs->second)
                             ? std::get<int64_t>(bs->second)
                             : 0;
    return wp.requests * AccessesPerRequest(we, block_size);
  }
  return wp.requests;
}

}  // namespace

StudyPlan PlanStudy(const StudySpec& spec, const model::Registry& registry, const PlanOptions& options) {
  StudyPlan plan;
  plan.study = spec.name;
  plan.family = spec.family;
  for (const auto& p : spec.platforms) plan.platforms.push_back(p.name);
  plan.seeds = spec.seeds;
  for (const auto& w : spec.workloads) {
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
    const ModelRate rate = RateOf(v.model, spec.family);
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
        const auto& we = spec.workloads[w];
        double work = RunWork(rate, v, spec.platforms[p], we, plan.workloads[w]);
        vp.work += work * static_cast<double>(spec.seeds.size());
        vp.longest_run_core_seconds = std::max(vp.longest_run_core_seconds, work / rate.per_core_s);
        if (rate.unit == kBlockAccesses && we.kind == WorkloadEntry::Kind::kBlockTrace) vp.work_is_lower_bound = true;
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

Status CheckPlanSize(const StudySpec& spec, const model::Registry& registry, bool yes) {
  return CheckPlanSize(PlanStudy(spec, registry), yes);
}

}  // namespace kreplay::spec
