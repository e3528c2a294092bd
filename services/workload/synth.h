// Seeded synthetic scheduler workloads: periodic tasks, interactive bursts,
// CPU-bound batch jobs and mixtures. Same spec + seed gives the identical
// workload on every machine (only sim::Rng and its own distributions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/core/status.h"
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
// "250us", "2s", "500ns" or integers in ns. Errors name `field` and the line.
StatusOr<SynthSpec> ParseSynthSpec(const YAML::Node& node, const std::string& field);

// Expands the spec into explicit per-task phase lists (each activation's
// durations drawn from `seed`).
SchedWorkload GenerateSynthetic(const SynthSpec& spec, uint64_t seed);

// "10ms" -> 10'000'000. Accepts ns, us, ms, s, min; a bare integer is ns.
StatusOr<int64_t> ParseDuration(const std::string& text);

}  // namespace kreplay::workload
