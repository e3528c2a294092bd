#include "workers/models/sched/validate/model_run.h"

#include <yaml-cpp/yaml.h>

#include <sys/utsname.h>

#include <cstdio>

#include "kreplay/v1/study.pb.h"
#include "services/workload/sched_workload.h"
#include "workers/executor/executor.h"
#include "workers/models/sched/mainline_version.h"
#include "workers/models/sched/validate/scenarios.h"

namespace kreplay::sched::validate {
namespace {

constexpr char kFallbackModel[] = "sched.cfs";
constexpr char kEevdfModel[] = "sched.eevdf";


family::SpecEntry Scalar(const std::string& key, const std::string& value) {
  return {YAML::Node(key), YAML::Node(value)};
}

// sched.eevdf's kernel_version for a host kernel `release` (>= 6.6): its
// MAJOR.MINOR, clamped into the releases the model mirrors (6.6..6.18);
// `*note` says so when it had to clamp.
std::string MainlineReleaseFor(const std::string& release, std::string* note) {
  constexpr int kNewestMajor = 6, kNewestMinor = 18;
  auto v = KernelVersion(release);
  if (!v || v->first < 6 || (v->first == 6 && v->second < 6)) return "6.6";
  if (v->first > kNewestMajor || (v->first == kNewestMajor && v->second > kNewestMinor)) {
    std::string newest = std::to_string(kNewestMajor) + "." + std::to_string(kNewestMinor);
    if (note) {
      *note = "kernel " + release + " is newer than the newest release sched.eevdf mirrors: modelling it as " +
              newest + " (kernel_version)";
    }
    return newest;
  }
  return std::to_string(v->first) + "." + std::to_string(v->second);
}

// The kernel_version `model` gets for host kernel `release` when the caller
// gave none: sched.eevdf the host's release (MainlineReleaseFor()),
// sched.cfs the host's release when it is a mainline CFS release (5.15 ..
// 6.5), else "" (the model's default).
std::string HostKernelVersionFor(const std::string& model, const std::string& release) {
  if (model == kEevdfModel) return MainlineReleaseFor(release, nullptr);
  auto v = KernelVersion(release);
  if (!v) return "";
  std::string mm = std::to_string(v->first) + "." + std::to_string(v->second);
  return ParseMainlineCfsVersion(mm).ok() ? mm : "";
}

}  // namespace

std::optional<std::pair<int, int>> KernelVersion(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return std::nullopt;
  return std::make_pair(major, minor);
}

StatusOr<ModelChoice> ChooseModel(const std::string& release, const model::Registry& models,
                                  const std::string& override_name) {
  if (!override_name.empty()) {
    const model::ModelInfo* m = models.Find(override_name);
    if (!m || m->family != "sched") {
      std::string known;
      for (const auto* i : models.List())
        if (i->family == "sched") known += (known.empty() ? "" : ", ") + i->name;
      return NotFound("--model " + override_name + ": no such scheduler model (registered: " + known + ")");
    }
    return ModelChoice{override_name, ""};
  }
  auto v = KernelVersion(release);
  const bool eevdf = v && (v->first > 6 || (v->first == 6 && v->second >= 6));
  const std::string want = eevdf ? kEevdfModel : kFallbackModel;
  if (models.Find(want)) {
    std::string note;
    if (eevdf) MainlineReleaseFor(release, &note);
    return ModelChoice{want, note};
  }
  return ModelChoice{kFallbackModel, "kernel " + release + " schedules with EEVDF, but model " + want +
                                         " is not in this build: comparing against " + kFallbackModel +
                                         " instead (use --model to choose)"};
}

std::string HostPlatformYaml(int cpus, uint64_t khz) {
  std::string y;
  y += "# The host as a scheduler-model platform, written by kreplay validate sched.\n";
  y += "name: host\n";
  y += "description: \"the validating host: " + std::to_string(cpus) + " online CPU(s) at " + std::to_string(khz) +
       " kHz\"\n";
  y += "power_unit: relative\n";
  y += "source: \"kreplay validate sched: /proc/cpuinfo (frequency); capacity 1024, one OPP, no DVFS\"\n";
  y += "clusters:\n";
  y += "  - name: host\n";
  y += "    core: host\n";
  y += "    cpus: " + std::to_string(cpus) + "\n";
  y += "    capacity: 1024\n";
  y += "    cpu_efficiency: 1024\n";
  y += "    big: true\n";
  y += "    dvfs_transition_ns: 0\n";
  y += "    opps:\n";
  y += "      - {khz: " + std::to_string(khz) + ", capacity: 1024, cpu_power: 1, cluster_power: 0}\n";
  y += "    idle_states:\n";
  // A VM's idle (HLT) costs a few us to leave; a shallow state stands for it.
  y += "      - {name: idle, cpu_power: 0, cluster_power: 0, exit_latency_ns: 1000, min_residency_ns: 1000}\n";
  return y;
}

StatusOr<model::Result> RunModel(const family::Catalog& catalog, const ModelRunInput& in) {
  const model::ModelInfo* info = catalog.models().Find(in.model);
  if (!info) return NotFound("model " + in.model + " is not registered");
  const family::FamilyInfo* fam = catalog.Find(info->family);
  if (!fam || !fam->resolve_system) return Internal("model " + in.model + ": family without systems");
  auto [kind_family, kind] = catalog.FindKind("rtapp");
  if (!kind || kind_family != fam) return Internal("the sched family has no rtapp workload kind");

  // The workload: the family's own rtapp kind, as a study's `rtapp: FILE`.
  family::CollectedErrors errors;
  family::KindInput ki;
  ki.entry = Scalar("rtapp", in.workload_json_path);
  ki.field = "validate.workload";
  ki.errors = &errors;
  auto parsed = kind->parse(ki);
  if (!parsed) return InvalidArgument(in.workload_json_path + ": " + errors.text());
  KREPLAY_ASSIGN_OR_RETURN(model::AnyValue built, kind->build(*parsed, in.seed));
  if (in.nice_off_by_one) {
    const auto* w = built.As<workload::SchedWorkload>();
    if (!w) return Internal("rtapp kind built something other than a SchedWorkload");
    workload::SchedWorkload faulty = *w;
    InjectNiceOffByOne(faulty);
    built = model::AnyValue::Make(std::move(faulty), 0);
  }

  // The system: the family's platform resolver, as a study's `platforms:` file entry.
  auto system = fam->resolve_system(Scalar("platform", in.platform_yaml_path), "validate.platform", "", errors);
  if (!system) return InvalidArgument(in.platform_yaml_path + ": " + errors.text());

  // Only the parameters this model declares (another model may not have `governor`).
  std::map<std::string, model::ParamValue> given;
  for (const auto& [k, v] : in.params)
    for (const auto& spec : info->params)
      if (spec.name == k) given[k] = v;
  // A mainline model mirrors the host's release (validate runs on the host).
  for (const auto& spec : info->params) {
    if (spec.name != "kernel_version" || given.count("kernel_version")) continue;
    struct utsname u {};
    if (uname(&u) != 0) continue;
    std::string kv = HostKernelVersionFor(info->name, u.release);
    if (!kv.empty()) given["kernel_version"] = kv;
  }
  KREPLAY_ASSIGN_OR_RETURN(model::ParamSet params, model::ResolveParams(info->params, given, "params"));

  v1::WorkItem item;
  item.set_run_key("validate");
  item.set_model(info->name);
  item.set_model_version(info->version);
  item.set_seed(in.seed);
  auto* sys = item.mutable_system();
  sys->set_family(fam->name);
  sys->set_name(system->name);
  sys->set_config(system->config);
  executor::RunRequest req;
  req.item = &item;
  req.params = {params};
  req.workload = built;
  auto results = executor::ExecuteRun(catalog, req);
  if (results.size() != 1) return Internal("executor returned " + std::to_string(results.size()) + " results");
  return std::move(results[0]);
}

}  // namespace kreplay::sched::validate
