// A heterogeneous SoC as data: clusters, OPP tables with power, idle states.
// The system config of the scheduler family; loaded from YAML (platform_yaml.h),
// carried over the wire as kreplay.v1.Platform, read by models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kreplay::workload {

struct Opp {
  uint64_t khz = 0;
  uint32_t capacity = 0;      // 0..1024 at this OPP (platform-normalised)
  double cpu_power = 0;       // busy power of one CPU, in Platform::power_unit
  double cluster_power = 0;   // cluster active power at this OPP
};

struct IdleState {
  std::string name;           // "wfi", "cpu-sleep", "cluster-sleep"
  double cpu_power = 0;
  double cluster_power = 0;
  int64_t exit_latency_ns = 0;
  int64_t min_residency_ns = 0;
};

struct Cluster {
  std::string name;           // "a53"
  std::string core;           // "cortex-a53"
  uint32_t cpus = 0;
  uint32_t capacity = 0;      // at the top OPP, 1024 for the biggest cluster
  uint32_t cpu_efficiency = 0; // LSK 3.10 arch/arm/kernel/topology.c table
  bool big = false;
  std::vector<Opp> opps;      // ascending frequency
  std::vector<IdleState> idle_states;  // shallowest first
  int64_t dvfs_transition_ns = 0;
};

struct Platform {
  std::string name;
  std::string description;
  std::string power_unit;     // "mW" (energy in J) or "relative"
  std::string source;
  std::vector<Cluster> clusters;  // LITTLE first

  uint32_t total_cpus() const {
    uint32_t n = 0;
    for (const auto& c : clusters) n += c.cpus;
    return n;
  }
};

}  // namespace kreplay::workload
