#include "workers/models/sched/governor.h"

namespace kreplay::sched {

const char* GovernorName(GovernorKind k) {
  switch (k) {
    case GovernorKind::kPerformance: return "performance";
    case GovernorKind::kPowersave: return "powersave";
    case GovernorKind::kOndemand: return "ondemand";
    case GovernorKind::kInteractive: return "interactive";
    case GovernorKind::kSchedutil: return "schedutil";
  }
  return "?";
}

bool ParseGovernor(const std::string& name, GovernorKind* out) {
  for (GovernorKind k : {GovernorKind::kPerformance, GovernorKind::kPowersave, GovernorKind::kOndemand,
                         GovernorKind::kInteractive, GovernorKind::kSchedutil}) {
    if (name == GovernorName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

int LowestOppAtLeast(const workload::Cluster& c, uint64_t khz) {
  for (size_t i = 0; i < c.opps.size(); ++i) {
    if (c.opps[i].khz >= khz) return static_cast<int>(i);
  }
  return static_cast<int>(c.opps.size()) - 1;
}

int OndemandTarget(const workload::Cluster& c, const GovernorParams& g, int cur_opp, int load_pct) {
  int top = static_cast<int>(c.opps.size()) - 1;
  if (load_pct > g.up_threshold) return top;
  int adj = g.up_threshold - g.down_differential;
  if (adj > 0 && load_pct < adj) {
    // 3.10: freq_next = load * cur / adj_up_threshold, CPUFREQ_RELATION_L.
    uint64_t next = c.opps[cur_opp].khz * static_cast<uint64_t>(load_pct) / static_cast<uint64_t>(adj);
    int target = LowestOppAtLeast(c, next);
    return target < cur_opp ? target : cur_opp;
  }
  return cur_opp;
}

int InteractiveTarget(const workload::Cluster& c, const GovernorParams& g, int cur_opp, int load_pct) {
  int top = static_cast<int>(c.opps.size()) - 1;
  uint64_t next = c.opps[cur_opp].khz * static_cast<uint64_t>(load_pct) / static_cast<uint64_t>(g.target_load);
  int target = LowestOppAtLeast(c, next);
  if (load_pct >= g.go_hispeed_load && target < top) target = top;  // hispeed_freq = top OPP here
  return target;
}

int SchedutilTarget(const workload::Cluster& c, uint32_t util) {
  const workload::Opp& top = c.opps.back();
  // f = 1.25 * f_max * util / capacity (get_next_freq()).
  uint64_t f = top.khz * 5 / 4 * util / c.capacity;
  return LowestOppAtLeast(c, f);
}

}  // namespace kreplay::sched
