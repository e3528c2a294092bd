// Seeded synthetic scheduler workloads: periodic tasks, interactive bursts,
// CPU-bound batch jobs and mixtures. Same spec + seed gives the identical
// workload on every machine (only sim::Rng and its own distributions).
//
// YAML form (the value of a study's `synthetic:` key):
//
//   synthetic:
//     duration: 10s             # required, > 0
//     groups:                   # required, non-empty
//       - kind: interactive     # loops {run, sleep} until duration
//         count: 4              # default 1 (1..10000)
//         nice: 0               # default 0 (-20..19)
//         run: {dist: lognormal, mean: 2ms, sigma: 0.5}
//         sleep: {dist: exponential, mean: 20ms}
//       - kind: periodic        # {run, timer(period)} until duration
//         count: 2
//         period: 16ms
//         run: 3ms              # a bare duration is a fixed distribution
//       - kind: batch           # `work` of run in `run`-sized chunks, then exits
//         count: 2
//         nice: 5
//         work: 2s
//         run: 10ms
//         start: 100ms          # optional, all kinds; default 0
//   Also optional on every group: name (task prefix, default the kind),
//   start_jitter (each task starts at start + U[0, start_jitter]),
//   cpus: [0, 1] (affinity). Distributions: a duration (fixed);
//   {dist: fixed, value}, {dist: uniform, min, max}, {dist: exponential, mean},
//   {dist: lognormal, mean, sigma} (mean of the log-normal itself; sigma of
//   the underlying normal, 0..10). Only the keys of a group's kind are
//   accepted (sleep: interactive, period: periodic, work: batch).
//
// Generation: every task is expanded into an explicit phase list (loops = 1)
// so it is a self-contained, replayable trace; every duration is rounded to
// whole microseconds (so WriteRtApp round-trips), runs are at least 1 us and
// a single draw is capped at one day. Task i of a group is named
// "<name>-<k>", k counting on across groups that share a name. Each task
// draws from its own stream, forked from the seed by a hash of its name, with
// separate sub-streams for start offset, run and sleep: adding or removing
// other tasks, or changing the sleep distribution, leaves its run draws as
// they were. Interactive tasks draw pairs until their nominal (calibration
// speed) time reaches the duration; periodic tasks get ceil((duration -
// start) / period) activations; batch tasks ignore the duration.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/core/units.h"
#include "services/workload/sched_workload.h"

namespace YAML {
class Node;
}

namespace kreplay::workload {

// A distribution of durations, in ns.
struct DurationDist {
  enum class Kind { kFixed, kUniform, kExponential, kLogNormal };
  Kind kind = Kind::kFixed;
  int64_t a = 0;  // fixed value / uniform min / mean
  int64_t b = 0;  // uniform max / log-normal: stddev of the underlying normal x 1000 (milli-units)
};

struct SynthGroup {
  std::string kind;        // "periodic" | "interactive" | "batch"
  std::string name;        // task name prefix; defaults to kind
  int count = 1;
  int nice = 0;
  DurationDist run;        // work per activation (kRun, calibration-CPU ns)
  DurationDist sleep;      // interactive: think time between bursts
  int64_t period_ns = 0;   // periodic: timer period
  int64_t total_work_ns = 0; // batch: total work, split into `run` chunks
  int64_t start_ns = 0;    // earliest start; each task gets a seeded offset in [start, start+jitter]
  int64_t start_jitter_ns = 0;
  uint64_t cpu_mask = 0;
};

struct SynthSpec {
  int64_t duration_ns = 0;  // workload length; interactive/periodic tasks loop until then
  std::vector<SynthGroup> groups;
};

// Parses the `synthetic:` node of a study spec. Durations accept "10ms",
// "250us", "2s", "500ns" or integers in ns. Errors are InvalidArgument with
// the message "<line>: <field>.path: <what>" (1-based YAML line), so a caller
// prefixes "file:" to get "spec.yaml:12: workloads[0].synthetic.groups[1].run.mean: ...".
// Enum errors list the allowed values; unknown keys are errors; specs that
// would expand to more than ~2e6 phases per task (2e7 in all) are rejected.
StatusOr<SynthSpec> ParseSynthSpec(const YAML::Node& node, const std::string& field);

// Expands the spec into explicit per-task phase lists (each activation's
// durations drawn from `seed`). REQUIRES: `spec` as ParseSynthSpec validates
// it (a hand-built spec with near-zero means can expand enormously).
SchedWorkload GenerateSynthetic(const SynthSpec& spec, uint64_t seed);

// The same tasks, one at a time and in order, without holding the whole
// workload: `fn` may read or move from the task it is given (a consumer that
// only reads, such as a digest, lets one phase buffer serve every task).
void GenerateSyntheticTasks(const SynthSpec& spec, uint64_t seed, const std::function<void(SchedTaskSpec&)>& fn);
int SyntheticTaskCount(const SynthSpec& spec);
// Expected number of phases in all (what ParseSynthSpec bounds), for cost estimates.
double SyntheticExpectedPhases(const SynthSpec& spec);

// Bump whenever GenerateSynthetic's output may change for some spec and
// seed: it is part of every synthetic workload's digest (and so of run keys),
// as a model's version is part of its results' keys.
inline constexpr int kSynthGeneratorVersion = 1;

// The digest of GenerateSynthetic(spec, seed), computed from its inputs:
// hex SHA-256 over the generator version, every field of the parsed spec in a
// fixed order, and the seed. Specs that parse to the same fields ("2ms" and
// "2000us") share it. Cheap, so controllers and workers need not expand a
// workload to name it.
std::string SyntheticWorkloadDigest(const SynthSpec& spec, uint64_t seed);

using ::kreplay::ParseDuration;  // services/core/units.h

}  // namespace kreplay::workload
