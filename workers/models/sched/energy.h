// Internal to the scheduler models: legacy-EAS energy accounting, integrated
// over simulated time. Mirrors the accounting of the 2015 EAS RFC energy model
// (kernel/sched/fair.c energy_diff() era, sched_group_energy): a CPU draws its
// OPP's busy power while it runs and its idle state's power while idle; a
// cluster draws the OPP's cluster power while any of its CPUs runs, and the
// power of its idle state only when all its CPUs are idle. The cluster can go
// no deeper than its shallowest CPU, so its idle state is the minimum index
// over its CPUs' states.
//
// The owner reports every state change; the meter integrates piecewise-
// constant power between changes. Not thread-safe; no allocation after
// construction.
#pragma once

#include <cstdint>
#include <vector>

#include "services/sim/time.h"
#include "services/workload/platform.h"

namespace kreplay::sched {

class EnergyMeter {
 public:
  // All CPUs start idle in state 0 and every cluster at OPP `initial_opp`
  // (clamped to the table). REQUIRES: platform outlives the meter.
  EnergyMeter(const workload::Platform& platform, sim::Time start, int initial_opp);

  void SetBusy(int cpu, sim::Time now);
  void SetIdle(int cpu, int idle_state, sim::Time now);
  void SetOpp(int cluster, int opp, sim::Time now);
  // Accounts everything up to `now` (call before reading results).
  void Flush(sim::Time now);

  // Sum of power x seconds, in the platform's power unit times seconds.
  double power_seconds() const { return energy_ns_ / 1e9; }
  sim::Duration opp_time(int cluster, int opp) const { return clusters_[cluster].opp_time[opp]; }
  // CPU-nanoseconds spent in an idle state, summed over the cluster's CPUs.
  sim::Duration idle_time(int cluster, int state) const { return clusters_[cluster].idle_time[state]; }
  sim::Duration busy_time(int cpu) const { return cpus_[cpu].busy_time; }
  int cluster_of(int cpu) const { return cpus_[cpu].cluster; }
  int opp(int cluster) const { return clusters_[cluster].opp; }
  bool busy(int cpu) const { return cpus_[cpu].busy; }

 private:
  struct Cpu {
    int cluster = 0;
    bool busy = false;
    int idle_state = 0;
    sim::Duration busy_time = 0;
  };
  struct ClusterState {
    int first_cpu = 0;
    int ncpus = 0;
    int opp = 0;
    sim::Time last = 0;
    std::vector<sim::Duration> opp_time;
    std::vector<sim::Duration> idle_time;
  };
  // Integrates one cluster (and its CPUs) from its last update to `now`.
  void Account(int cluster, sim::Time now);

  const workload::Platform& platform_;
  std::vector<Cpu> cpus_;
  std::vector<ClusterState> clusters_;
  double energy_ns_ = 0;  // power x ns
};

}  // namespace kreplay::sched
