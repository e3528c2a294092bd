#include "workers/models/sched/family.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <cmath>
#include <variant>

#include "services/codec/convert.h"
#include "services/codec/ftrace_text.h"
#include "services/codec/sched_trace.h"
#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/family/named_or_file.h"
#include "workers/models/sched/platforms/platforms.h"
#include "services/workload/platform.h"
#include "services/workload/rtapp.h"
#include "services/workload/sched_workload.h"
#include "services/workload/synth.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/validate/validate_cmd.h"

namespace kreplay::sched {
namespace {

uint64_t WorkloadBytes(const workload::SchedWorkload& w) {
  uint64_t n = sizeof(w);
  for (const auto& t : w.tasks) n += sizeof(t) + t.name.size() + t.phases.size() * sizeof(workload::Phase);
  return n;
}

// Scheduler work: records to simulate plus simulated time (ms) per task.
double SchedCost(double records, int64_t duration_ns, size_t tasks) {
  return records + static_cast<double>(duration_ns) / 1e6 * static_cast<double>(tasks + 1);
}

// ---- plan estimates (kreplay plan) --------------------------------------------
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
// Chunk payload per phase record (task, op, a, b: zigzag-delta varint columns).
constexpr double kTraceBytesPerRecord = 6;

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
family::WorkloadEstimate EstimateRtApp(const workload::SchedWorkload& w) {
  family::WorkloadEstimate p;
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
  p.trace_bytes = static_cast<double>(p.trace_records) * kTraceBytesPerRecord;
  return p;
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

family::WorkloadEstimate EstimateSynthetic(const workload::SynthSpec& s) {
  family::WorkloadEstimate p;
  p.tasks = static_cast<uint64_t>(workload::SyntheticTaskCount(s));
  p.phases = workload::SyntheticExpectedPhases(s);
  p.trace_records = static_cast<uint64_t>(std::llround(p.phases));  // generated tasks run once
  p.duration_ns = s.duration_ns;
  p.cpu_work_ns = SyntheticWorkNs(s);
  p.trace_bytes = p.phases * kTraceBytesPerRecord;
  return p;
}

// Engine events of one run (see the fit above).
family::RunWork SchedRunWork(const family::RunWorkInput& in) {
  const auto& values = in.params->values();
  auto hz_param = values.find("hz");
  const int64_t hz = hz_param != values.end() && std::holds_alternative<int64_t>(hz_param->second)
                         ? std::get<int64_t>(hz_param->second)
                         : kDefaultHz;
  const family::WorkloadEstimate& wp = *in.estimate;
  const double demand_s = wp.cpu_work_ns / 1e9 * kBusySlowdown;
  const double capacity_s = static_cast<double>(wp.duration_ns) / 1e9 * in.system_cpus;
  const double load = capacity_s > 0 ? demand_s / capacity_s : 0;
  const double executed = load > 1 ? wp.phases / load : wp.phases;
  const double busy_s = capacity_s > 0 ? std::min(demand_s, capacity_s) : demand_s;
  return {kEventsPerPhase * executed + kBusyEventsPerTick * static_cast<double>(hz) * busy_s, false};
}

// `synthetic:`: workload::ParseSynthSpec, regenerated per seed.
family::WorkloadKind SyntheticKind() {
  family::WorkloadKind k;
  k.key = "synthetic";
  k.noun = "a synthetic workload";
  k.generated = true;
  k.parse = [](const family::KindInput& in) {
    return family::ParseGeneratorEntry(in, "synthetic", workload::ParseSynthSpec);
  };
  // Named by its generator inputs and version (synth.h): never expanded to name it.
  k.name = [](const family::ParsedWorkload& p, uint64_t seed) -> std::optional<std::string> {
    return workload::SyntheticWorkloadDigest(*p.spec.As<workload::SynthSpec>(), seed);
  };
  k.build = [](const family::ParsedWorkload& p, uint64_t seed) -> StatusOr<model::AnyValue> {
    workload::SchedWorkload w = workload::GenerateSynthetic(*p.spec.As<workload::SynthSpec>(), seed);
    const uint64_t bytes = WorkloadBytes(w);
    return model::AnyValue::Make(std::move(w), bytes);
  };
  k.digest = [](const model::AnyValue& w) { return workload::SchedWorkloadDigest(*w.As<workload::SchedWorkload>()); };
  k.cost_from_inputs = [](const family::ParsedWorkload& p) {
    const auto& s = *p.spec.As<workload::SynthSpec>();
    return SchedCost(workload::SyntheticExpectedPhases(s), s.duration_ns,
                     static_cast<size_t>(workload::SyntheticTaskCount(s)));
  };
  k.estimate = [](const family::ParsedWorkload& p) { return EstimateSynthetic(*p.spec.As<workload::SynthSpec>()); };
  return k;
}

// `rtapp:`: an rt-app JSON file (workload::ParseRtApp), parsed once at load.
family::WorkloadKind RtAppKind() {
  family::WorkloadKind k;
  k.key = "rtapp";
  k.noun = "an rt-app workload";
  k.parse = [](const family::KindInput& in) -> std::optional<family::ParsedWorkload> {
    const std::string field = in.field + ".rtapp";
    auto path = family::SpecString(in.entry, field, *in.errors);
    if (!path) return std::nullopt;
    family::ParsedWorkload p;
    p.path = family::ResolveSpecPath(in.base_dir, *path);
    auto text = ReadFile(p.path);
    if (!text.ok()) {
      in.errors->Error(in.entry.value, field, text.status().message());
      return std::nullopt;
    }
    auto w = workload::ParseRtApp(*text, p.path);
    if (!w.ok()) {
      in.errors->Nested(in.entry.value, field, w.status().message(), false);
      return std::nullopt;
    }
    const uint64_t bytes = WorkloadBytes(*w);
    p.spec = model::AnyValue::Make(std::move(w).value(), bytes);
    return p;
  };
  // The parsed file is the workload: building shares it.
  k.build = [](const family::ParsedWorkload& p, uint64_t) -> StatusOr<model::AnyValue> { return p.spec; };
  k.digest = [](const model::AnyValue& w) { return workload::SchedWorkloadDigest(*w.As<workload::SchedWorkload>()); };
  k.cost = [](const model::AnyValue& built) {
    const auto& w = *built.As<workload::SchedWorkload>();
    uint64_t records = 0;
    for (const auto& t : w.tasks) records += t.phases.size();
    return SchedCost(static_cast<double>(records), w.duration_ns, w.tasks.size());
  };
  k.estimate = [](const family::ParsedWorkload& p) { return EstimateRtApp(*p.spec.As<workload::SchedWorkload>()); };
  return k;
}

// A `platforms:` entry: a shipped platform name, or a platform YAML file
// (an entry with a '/' or a .yaml/.yml suffix) relative to the spec.
std::optional<family::SystemEntry> ResolvePlatform(const family::SpecEntry& entry, const std::string& field,
                                                   const std::string& base_dir, family::SpecErrors& errors) {
  auto p = family::ResolveNamedOrFile<workload::Platform>(
      entry, field, base_dir, errors, "platform",
      [](const std::string& yaml, const std::string& path) { return platforms::ParsePlatformYaml(yaml, path); },
      [](const std::string& name) { return platforms::LoadBuiltinPlatform(name); },
      [] { return platforms::BuiltinPlatformNames(); });
  if (!p) return std::nullopt;
  const workload::Platform& platform = p->value;
  const std::string name = platform.name;
  std::string canonical = platforms::CanonicalPlatformText(platform);
  std::string config = codec::PlatformBytes(platform);
  const int cpus = static_cast<int>(platform.total_cpus());
  return family::ToSystemEntry(std::move(*p), name, std::move(canonical), std::move(config), cpus);
}

// The simulated schedule as tracefs text (codec::FtraceTextWriter).
class FtraceWriter final : public family::RunTraceWriter {
 public:
  FtraceWriter(std::ostream& out, int cpus, const std::string& title) : w_(out, cpus, title) {}
  model::AnyMutRef observer() override { return model::AnyMutRef::Of<model::SchedObserver>(&w_); }
  uint64_t lines() const override { return w_.lines(); }

 private:
  codec::FtraceTextWriter w_;
};

// `kreplay platforms [NAME]`: the shipped SoC platforms, or one as YAML.
StatusOr<std::string> ShowPlatforms(const std::string& name) {
  if (!name.empty()) return platforms::BuiltinPlatformYaml(name);
  std::string out;
  for (const auto& n : platforms::BuiltinPlatformNames()) {
    KREPLAY_ASSIGN_OR_RETURN(workload::Platform p, platforms::LoadBuiltinPlatform(n));
    std::string clusters;
    for (const auto& c : p.clusters)
      clusters += (clusters.empty() ? "" : " + ") + std::to_string(c.cpus) + "x " + c.core;
    char line[256];
    std::snprintf(line, sizeof line, "%-10s %-34s power in %s\n", n.c_str(), clusters.c_str(), p.power_unit.c_str());
    out += line;
  }
  return out;
}

StatusOr<model::AnyValue> DecodePlatform(std::string_view config) {
  v1::Platform pp;
  if (!pp.ParseFromArray(config.data(), static_cast<int>(config.size())))
    return InvalidArgument("platform config does not parse");
  return model::AnyValue::Make(codec::PlatformFromProto(pp), sizeof(workload::Platform));
}

v1::TraceManifest Encode(const model::AnyValue& w, size_t max_chunk_bytes, const family::ChunkSink& sink,
                         const std::string& source) {
  const auto* sw = w.As<workload::SchedWorkload>();
  KREPLAY_CHECK(sw != nullptr, "sched trace codec given another family's workload");
  return codec::EncodeSchedWorkload(*sw, max_chunk_bytes, sink, source);
}

}  // namespace

family::FamilyInfo SchedFamilyInfo() {
  family::FamilyInfo f;
  f.name = "sched";
  f.description = "CPU scheduling on big.LITTLE SoCs: task placement, DVFS and energy";
  f.workload_noun = "a scheduler workload";
  f.kinds = {SyntheticKind(), RtAppKind()};
  f.has_systems = true;
  f.resolve_system = ResolvePlatform;
  f.workload_format = "rt-app JSON";
  f.write_workload = [](const model::AnyValue& built) -> StatusOr<std::string> {
    return workload::WriteRtApp(*built.As<workload::SchedWorkload>());
  };
  f.listings = {{"platforms", "List the shipped SoC platforms, or show one", "Platform to print as YAML", ShowPlatforms}};
  // `kreplay validate sched`: the models against this host's kernel (validate/).
  f.add_commands = [](CLI::App& app) -> std::function<std::optional<int>()> {
    std::shared_ptr<validate::ValidateCli> v = validate::AddValidateCommand(app, RegisterSchedFamily);
    return [v]() -> std::optional<int> {
      if (!validate::ValidateSelected(*v)) return std::nullopt;
      return validate::RunValidateCommand(*v);
    };
  };
  f.ftrace_writer = [](std::ostream& out, int cpus, const std::string& title) -> std::unique_ptr<family::RunTraceWriter> {
    return std::make_unique<FtraceWriter>(out, cpus, title);
  };
  f.default_work_unit = "events";
  f.default_work_per_core_s = 13e6;
  f.run_work = SchedRunWork;
  f.decode_system = DecodePlatform;
  f.trace_family = "sched";
  f.encode_trace = Encode;
  f.assemble_trace = [](const v1::TraceManifest& m) -> std::unique_ptr<family::TraceAssembler> {
    return std::make_unique<family::TypedAssembler<codec::SchedTraceAssembler, workload::SchedWorkload>>(
        m, WorkloadBytes);
  };
  return f;
}

Status RegisterSchedFamily(family::Catalog& catalog) {
  KREPLAY_RETURN_IF_ERROR(catalog.RegisterFamily(SchedFamilyInfo()));
  return RegisterSchedModels(catalog.models());
}

}  // namespace kreplay::sched
