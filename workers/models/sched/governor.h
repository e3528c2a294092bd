// Internal to the scheduler models: per-cluster DVFS governors as pure
// decision functions; the simulator owns sampling, rate limits and the
// transition latency (the platform's dvfs_transition_ns).
//
// Each governor's input signal:
// - performance / powersave: none (top / bottom OPP, as the 3.10 governors).
// - ondemand (drivers/cpufreq/cpufreq_ondemand.c, 3.10 od_check_cpu()): the
//   busiest CPU's busy % over the last `sampling_rate`; above up_threshold
//   jump to the top OPP; below up_threshold - down_differential drop to the
//   lowest OPP >= load * cur / (up_threshold - down_differential).
// - interactive (Android drivers/cpufreq/cpufreq_interactive.c): busy % over
//   `timer_rate`; target = cur * load / target_load (choose_freq()), jump to
//   hispeed (top OPP here) at go_hispeed_load; no ramp-down before
//   min_sample_time at the current speed.
// - schedutil-like (kernel/sched/cpufreq_schedutil.c): the busiest CPU's
//   frequency- and capacity-invariant utilisation; f = 1.25 * f_max * util /
//   capacity, then the lowest OPP >= f; evaluated at ticks and wake-ups with
//   separate up/down rate limits (the Android variant's up/down_rate_limit_us).
#pragma once

#include <cstdint>
#include <string>

#include "services/sim/time.h"
#include "services/workload/platform.h"

namespace kreplay::sched {

enum class GovernorKind { kPerformance, kPowersave, kOndemand, kInteractive, kSchedutil };
const char* GovernorName(GovernorKind k);
// Returns false for an unknown name.
bool ParseGovernor(const std::string& name, GovernorKind* out);

struct GovernorParams {
  GovernorKind kind = GovernorKind::kOndemand;
  sim::Duration sampling_ns = 20 * sim::kMs;  // ondemand sampling_rate / interactive timer_rate
  int up_threshold = 80;                      // ondemand, %
  int down_differential = 10;                 // ondemand, %
  int go_hispeed_load = 99;                   // interactive, %
  int target_load = 90;                       // interactive, %
  sim::Duration min_sample_time = 80 * sim::kMs;  // interactive
  sim::Duration up_rate_limit_ns = 500 * sim::kUs;     // schedutil
  sim::Duration down_rate_limit_ns = 20 * sim::kMs;    // schedutil
};

// Lowest OPP index whose frequency is >= khz (the top one if none).
int LowestOppAtLeast(const workload::Cluster& c, uint64_t khz);
// ondemand: load in % (0..100) of the busiest CPU at the current OPP.
int OndemandTarget(const workload::Cluster& c, const GovernorParams& g, int cur_opp, int load_pct);
// interactive: as above; the hold-down of min_sample_time is the caller's.
int InteractiveTarget(const workload::Cluster& c, const GovernorParams& g, int cur_opp, int load_pct);
// schedutil: util in capacity units (0..1024, frequency- and capacity-invariant).
int SchedutilTarget(const workload::Cluster& c, uint32_t util);

}  // namespace kreplay::sched
