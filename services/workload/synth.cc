#include "services/workload/synth.h"

#include <functional>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/core/digest.h"
#include "services/core/strings.h"
#include "services/sim/rng.h"

namespace kreplay::workload {
namespace {

// Upper bounds that keep a mistyped spec ("run: 1ns" over an hour) from
// expanding into gigabytes of phases; checked on expected phase counts.
constexpr double kMaxExpectedPhasesPerTask = 2e6;
constexpr double kMaxExpectedPhasesTotal = 2e7;
constexpr int kMaxCount = 10'000;
// A single drawn duration is capped at one day: heavy-tailed draws (a
// log-normal with a large sigma) must not overflow int64 ns.
constexpr int64_t kMaxDrawUs = int64_t{86'400} * 1'000'000;

Status Err(int line, const std::string& path, const std::string& msg) {
  return InvalidArgument(std::to_string(line) + ": " + path + ": " + msg);
}
int LineOf(const YAML::Node& n) { return n.Mark().line + 1; }

// Checks that `node` is a map whose keys are all in `allowed`.
Status CheckKeys(const YAML::Node& node, const std::string& path, const std::set<std::string>& allowed) {
  if (!node.IsMap()) return Err(LineOf(node), path, "expected a mapping");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!allowed.count(key)) {
      return Err(LineOf(it->first), path + "." + key,
                 "unknown key (allowed: " + Join(std::vector<std::string>(allowed.begin(), allowed.end()), ", ") + ")");
    }
  }
  return OkStatus();
}

StatusOr<int64_t> DurationField(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return Err(LineOf(n), path, "expected a duration such as 10ms");
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return Err(LineOf(n), path, d.status().message());
  return *d;
}

StatusOr<int64_t> IntField(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi) {
  std::optional<int64_t> v;
  if (n.IsScalar()) v = ParseInt(n.Scalar());
  if (!v) return Err(LineOf(n), path, "expected an integer");
  if (*v < lo || *v > hi) {
    return Err(LineOf(n), path, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                                    std::to_string(*v));
  }
  return *v;
}

StatusOr<DurationDist> ParseDist(const YAML::Node& n, const std::string& path) {
  DurationDist d;
  if (n.IsScalar()) {
    KREPLAY_ASSIGN_OR_RETURN(d.a, DurationField(n, path));
    return d;
  }
  if (!n.IsMap()) return Err(LineOf(n), path, "expected a duration or {dist: ...}");
  if (!n["dist"]) return Err(LineOf(n), path + ".dist", "missing (fixed, uniform, exponential, lognormal)");
  const std::string kind = n["dist"].Scalar();
  auto need = [&](const char* key) -> StatusOr<int64_t> {
    if (!n[key]) return Err(LineOf(n), path + "." + key, "missing");
    return DurationField(n[key], path + "." + key);
  };
  if (kind == "fixed") {
    KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, {"dist", "value"}));
    KREPLAY_ASSIGN_OR_RETURN(d.a, need("value"));
  } else if (kind == "uniform") {
    KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, {"dist", "min", "max"}));
    d.kind = DurationDist::Kind::kUniform;
    KREPLAY_ASSIGN_OR_RETURN(d.a, need("min"));
    KREPLAY_ASSIGN_OR_RETURN(d.b, need("max"));
    if (d.b < d.a) return Err(LineOf(n["max"]), path + ".max", "must be >= min");
  } else if (kind == "exponential") {
    KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, {"dist", "mean"}));
    d.kind = DurationDist::Kind::kExponential;
    KREPLAY_ASSIGN_OR_RETURN(d.a, need("mean"));
    if (d.a <= 0) return Err(LineOf(n["mean"]), path + ".mean", "must be > 0");
  } else if (kind == "lognormal") {
    KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, {"dist", "mean", "sigma"}));
    d.kind = DurationDist::Kind::kLogNormal;
    KREPLAY_ASSIGN_OR_RETURN(d.a, need("mean"));
    if (d.a <= 0) return Err(LineOf(n["mean"]), path + ".mean", "must be > 0");
    if (!n["sigma"]) return Err(LineOf(n), path + ".sigma", "missing");
    std::optional<double> s;
    if (n["sigma"].IsScalar()) s = ParseDouble(n["sigma"].Scalar());
    if (!s || !(*s >= 0 && *s <= 10)) {
      return Err(LineOf(n["sigma"]), path + ".sigma", "expected a number in 0..10");
    }
    d.b = static_cast<int64_t>(std::floor(*s * 1000 + 0.5));
  } else {
    return Err(LineOf(n["dist"]), path + ".dist",
               "unknown distribution '" + kind + "' (allowed: fixed, uniform, exponential, lognormal)");
  }
  return d;
}

double MeanNs(const DurationDist& d) {
  switch (d.kind) {
    case DurationDist::Kind::kFixed: return static_cast<double>(d.a);
    case DurationDist::Kind::kUniform: return (static_cast<double>(d.a) + static_cast<double>(d.b)) / 2;
    case DurationDist::Kind::kExponential:
    case DurationDist::Kind::kLogNormal: return static_cast<double>(d.a);
  }
  return 0;
}

StatusOr<SynthGroup> ParseGroup(const YAML::Node& n, const std::string& path, int64_t duration_ns) {
  if (!n.IsMap()) return Err(LineOf(n), path, "expected a mapping");
  if (!n["kind"]) return Err(LineOf(n), path + ".kind", "missing (periodic, interactive, batch)");
  SynthGroup g;
  g.kind = n["kind"].Scalar();
  std::set<std::string> allowed = {"kind", "name", "count", "nice", "run", "start", "start_jitter", "cpus"};
  std::vector<std::string> required = {"run"};
  if (g.kind == "interactive") {
    allowed.insert("sleep");
    required.push_back("sleep");
  } else if (g.kind == "periodic") {
    allowed.insert("period");
    required.push_back("period");
  } else if (g.kind == "batch") {
    allowed.insert("work");
    required.push_back("work");
  } else {
    return Err(LineOf(n["kind"]), path + ".kind",
               "unknown kind '" + g.kind + "' (allowed: periodic, interactive, batch)");
  }
  KREPLAY_RETURN_IF_ERROR(CheckKeys(n, path, allowed));
  for (const auto& key : required) {
    if (!n[key]) return Err(LineOf(n), path + "." + key, "missing (required for kind " + g.kind + ")");
  }
  g.name = g.kind;
  if (n["name"]) {
    g.name = n["name"].Scalar();
    bool ok = !g.name.empty();
    for (char c : g.name) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-');
    }
    if (!ok) return Err(LineOf(n["name"]), path + ".name", "must match [A-Za-z0-9._-]+");
  }
  if (n["count"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t c, IntField(n["count"], path + ".count", 1, kMaxCount));
    g.count = static_cast<int>(c);
  }
  if (n["nice"]) {
    KREPLAY_ASSIGN_OR_RETURN(int64_t v, IntField(n["nice"], path + ".nice", -20, 19));
    g.nice = static_cast<int>(v);
  }
  KREPLAY_ASSIGN_OR_RETURN(g.run, ParseDist(n["run"], path + ".run"));
  if (MeanNs(g.run) < 1000) return Err(LineOf(n["run"]), path + ".run", "mean must be at least 1us");
  if (n["sleep"]) {
    KREPLAY_ASSIGN_OR_RETURN(g.sleep, ParseDist(n["sleep"], path + ".sleep"));
  }
  if (n["period"]) {
    KREPLAY_ASSIGN_OR_RETURN(g.period_ns, DurationField(n["period"], path + ".period"));
    if (g.period_ns < 1000) return Err(LineOf(n["period"]), path + ".period", "must be at least 1us");
  }
  if (n["work"]) {
    KREPLAY_ASSIGN_OR_RETURN(g.total_work_ns, DurationField(n["work"], path + ".work"));
    if (g.total_work_ns < 1000) return Err(LineOf(n["work"]), path + ".work", "must be at least 1us");
  }
  if (n["start"]) {
    KREPLAY_ASSIGN_OR_RETURN(g.start_ns, DurationField(n["start"], path + ".start"));
  }
  if (n["start_jitter"]) {
    KREPLAY_ASSIGN_OR_RETURN(g.start_jitter_ns, DurationField(n["start_jitter"], path + ".start_jitter"));
  }
  if (g.start_ns >= duration_ns || g.start_jitter_ns >= duration_ns - g.start_ns) {
    return Err(LineOf(n[n["start"] ? "start" : "start_jitter"]), path + (n["start"] ? ".start" : ".start_jitter"),
               "start + start_jitter must be before the workload's duration");
  }
  if (n["cpus"]) {
    const YAML::Node& cpus = n["cpus"];
    if (!cpus.IsSequence()) return Err(LineOf(cpus), path + ".cpus", "expected a list of CPU numbers");
    for (size_t i = 0; i < cpus.size(); ++i) {
      KREPLAY_ASSIGN_OR_RETURN(int64_t cpu, IntField(cpus[i], path + ".cpus[" + std::to_string(i) + "]", 0, 63));
      g.cpu_mask |= uint64_t{1} << cpu;
    }
  }
  return g;
}

// Expected phases per task, to reject specs that would expand absurdly.
double ExpectedPhases(const SynthGroup& g, int64_t duration_ns) {
  double span = static_cast<double>(duration_ns - g.start_ns);
  if (g.kind == "interactive") {
    double cycle = MeanNs(g.run) + MeanNs(g.sleep);
    return 2 * span / cycle;
  }
  if (g.kind == "periodic") return 2 * span / static_cast<double>(g.period_ns);
  return static_cast<double>(g.total_work_ns) / MeanNs(g.run);
}

// FNV-1a: a task's random stream is keyed by its name, so adding, removing
// or reordering other tasks leaves its draws unchanged.
uint64_t NameHash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

int64_t RoundUs(double ns) {
  double us = std::floor(ns / 1000.0 + 0.5);
  if (!(us >= 0)) return 0;
  if (us > static_cast<double>(kMaxDrawUs)) return kMaxDrawUs * 1000;
  return static_cast<int64_t>(us) * 1000;
}

// One draw, rounded to whole microseconds.
int64_t Draw(const DurationDist& d, sim::Rng& rng) {
  switch (d.kind) {
    case DurationDist::Kind::kFixed:
      return RoundUs(static_cast<double>(d.a));
    case DurationDist::Kind::kUniform:
      return RoundUs(static_cast<double>(rng.Range(d.a, d.b)));
    case DurationDist::Kind::kExponential:
      return RoundUs(rng.Exponential(static_cast<double>(d.a)));
    case DurationDist::Kind::kLogNormal: {
      // Parameterised by the mean of the log-normal itself:
      // E[X] = exp(mu + sigma^2 / 2), so mu = ln(mean) - sigma^2 / 2.
      double sigma = static_cast<double>(d.b) / 1000.0;
      double mu = sim::DetLog(static_cast<double>(d.a)) - sigma * sigma / 2;
      return RoundUs(rng.LogNormal(mu, sigma));
    }
  }
  return 0;
}

}  // namespace


StatusOr<SynthSpec> ParseSynthSpec(const YAML::Node& node, const std::string& field) {
  if (!node.IsDefined() || node.IsNull()) return InvalidArgument("1: " + field + ": missing");
  KREPLAY_RETURN_IF_ERROR(CheckKeys(node, field, {"duration", "groups"}));
  SynthSpec spec;
  if (!node["duration"]) return Err(LineOf(node), field + ".duration", "missing");
  KREPLAY_ASSIGN_OR_RETURN(spec.duration_ns, DurationField(node["duration"], field + ".duration"));
  if (spec.duration_ns <= 0) return Err(LineOf(node["duration"]), field + ".duration", "must be > 0");
  const YAML::Node groups = node["groups"];
  if (!groups) return Err(LineOf(node), field + ".groups", "missing");
  if (!groups.IsSequence() || groups.size() == 0) {
    return Err(LineOf(groups), field + ".groups", "expected a non-empty list of groups");
  }
  double total = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string path = field + ".groups[" + std::to_string(i) + "]";
    KREPLAY_ASSIGN_OR_RETURN(SynthGroup g, ParseGroup(groups[i], path, spec.duration_ns));
    double per_task = ExpectedPhases(g, spec.duration_ns);
    if (per_task > kMaxExpectedPhasesPerTask) {
      return Err(LineOf(groups[i]), path,
                 "would expand to about " + std::to_string(static_cast<int64_t>(per_task)) +
                     " phases per task (limit 2000000): lengthen run/sleep/period or shorten duration");
    }
    total += per_task * g.count;
    spec.groups.push_back(std::move(g));
  }
  if (total > kMaxExpectedPhasesTotal) {
    return Err(LineOf(groups), field + ".groups",
               "would expand to about " + std::to_string(static_cast<int64_t>(total)) +
                   " phases in total (limit 20000000)");
  }
  return spec;
}

void GenerateSyntheticTasks(const SynthSpec& spec, uint64_t seed, const std::function<void(SchedTaskSpec&)>& fn) {
  const sim::Rng root(seed);
  SchedTaskSpec t;  // reused: a consumer that keeps nothing reuses its phase buffer too
  std::map<std::string, int> next_index;  // per name prefix, so names stay unique across groups
  for (const auto& g : spec.groups) {
    const std::string prefix = g.name.empty() ? g.kind : g.name;
    for (int i = 0; i < g.count; ++i) {
      t.phases.clear();
      t.periodic = false;
      t.name = prefix + "-" + std::to_string(next_index[prefix]++);
      t.kind = g.kind;
      t.nice = g.nice;
      t.cpu_mask = g.cpu_mask;
      t.loops = 1;
      // Separate streams for the start offset, the run and the sleep draws:
      // changing one distribution leaves the other draws of the task as they were.
      const sim::Rng task_rng = root.Fork(NameHash(t.name));
      sim::Rng start_rng = task_rng.Fork(0);
      sim::Rng run_rng = task_rng.Fork(1);
      sim::Rng sleep_rng = task_rng.Fork(2);
      int64_t offset = g.start_jitter_ns > 0 ? start_rng.Range(0, g.start_jitter_ns) : 0;
      t.delay_ns = RoundUs(static_cast<double>(g.start_ns + offset));
      // Room for the expected count plus slack: growing a large vector by
      // doubling touches (and page-faults) about three times its memory.
      const double expected = ExpectedPhases(g, spec.duration_ns);
      t.phases.reserve(static_cast<size_t>(std::min(expected * 1.05 + 16, 4e6)));

      if (g.kind == "interactive") {
        // Nominal time at calibration speed: runs only stretch on slower
        // CPUs, so the list covers at least the whole duration.
        int64_t now = t.delay_ns;
        while (now < spec.duration_ns) {
          int64_t run = std::max<int64_t>(Draw(g.run, run_rng), 1000);
          int64_t sleep = Draw(g.sleep, sleep_rng);
          t.phases.push_back({PhaseOp::kRun, run, 0});
          t.phases.push_back({PhaseOp::kSleep, sleep, 0});
          now += run + sleep;
        }
      } else if (g.kind == "periodic") {
        t.periodic = true;
        int64_t period = std::max<int64_t>(RoundUs(static_cast<double>(g.period_ns)), 1000);
        // The first expiry is one period after the task starts (rt-app arms
        // the timer on its first use).
        int64_t span = spec.duration_ns - t.delay_ns;
        int64_t activations = span <= 0 ? 0 : (span + period - 1) / period;
        for (int64_t k = 0; k < activations; ++k) {
          t.phases.push_back({PhaseOp::kRun, std::max<int64_t>(Draw(g.run, run_rng), 1000), 0});
          t.phases.push_back({PhaseOp::kTimer, period, 0});
        }
      } else {  // batch
        int64_t remaining = std::max<int64_t>(RoundUs(static_cast<double>(g.total_work_ns)), 1000);
        while (remaining > 0) {
          int64_t run = std::min(std::max<int64_t>(Draw(g.run, run_rng), 1000), remaining);
          t.phases.push_back({PhaseOp::kRun, run, 0});
          remaining -= run;
        }
      }
      fn(t);
    }
  }
}

SchedWorkload GenerateSynthetic(const SynthSpec& spec, uint64_t seed) {
  SchedWorkload w;
  w.duration_ns = spec.duration_ns;
  GenerateSyntheticTasks(spec, seed, [&](SchedTaskSpec& t) { w.tasks.push_back(std::move(t)); });
  return w;
}

std::string SyntheticWorkloadDigest(const SynthSpec& spec, uint64_t seed) {
  Sha256 h;
  h.UpdateField("kreplay.synthetic_sched.v1");
  h.UpdateU64(kSynthGeneratorVersion);
  h.UpdateU64(seed);
  h.UpdateU64(static_cast<uint64_t>(spec.duration_ns));
  h.UpdateU64(spec.groups.size());
  auto dist = [&](const DurationDist& d) {
    h.UpdateU64(static_cast<uint64_t>(d.kind));
    h.UpdateU64(static_cast<uint64_t>(d.a));
    h.UpdateU64(static_cast<uint64_t>(d.b));
  };
  for (const auto& g : spec.groups) {
    h.UpdateField(g.kind);
    h.UpdateField(g.name);
    h.UpdateU64(static_cast<uint64_t>(static_cast<int64_t>(g.count)));
    h.UpdateU64(static_cast<uint64_t>(static_cast<int64_t>(g.nice)));
    dist(g.run);
    dist(g.sleep);
    h.UpdateU64(static_cast<uint64_t>(g.period_ns));
    h.UpdateU64(static_cast<uint64_t>(g.total_work_ns));
    h.UpdateU64(static_cast<uint64_t>(g.start_ns));
    h.UpdateU64(static_cast<uint64_t>(g.start_jitter_ns));
    h.UpdateU64(g.cpu_mask);
  }
  return h.HexDigest();
}

double SyntheticExpectedPhases(const SynthSpec& spec) {
  double total = 0;
  for (const auto& g : spec.groups) total += ExpectedPhases(g, spec.duration_ns) * g.count;
  return total;
}

int SyntheticTaskCount(const SynthSpec& spec) {
  int n = 0;
  for (const auto& g : spec.groups) n += g.count;
  return n;
}

}  // namespace kreplay::workload
