#include "workers/models/sched/energy.h"

#include <algorithm>

#include "services/core/status.h"

namespace kreplay::sched {

EnergyMeter::EnergyMeter(const workload::Platform& platform, sim::Time start, int initial_opp)
    : platform_(platform) {
  int cpu = 0;
  for (int c = 0; c < static_cast<int>(platform.clusters.size()); ++c) {
    const workload::Cluster& cl = platform.clusters[c];
    ClusterState s;
    s.first_cpu = cpu;
    s.ncpus = static_cast<int>(cl.cpus);
    s.opp = std::clamp(initial_opp, 0, static_cast<int>(cl.opps.size()) - 1);
    s.last = start;
    s.opp_time.assign(cl.opps.size(), 0);
    s.idle_time.assign(cl.idle_states.size(), 0);
    clusters_.push_back(std::move(s));
    for (uint32_t i = 0; i < cl.cpus; ++i, ++cpu) cpus_.push_back(Cpu{c, false, 0, 0});
  }
}

void EnergyMeter::Account(int cluster, sim::Time now) {
  ClusterState& s = clusters_[cluster];
  sim::Duration dt = now - s.last;
  if (dt <= 0) return;
  s.last = now;
  const workload::Cluster& cl = platform_.clusters[cluster];
  const workload::Opp& opp = cl.opps[s.opp];
  double power = 0;
  bool any_busy = false;
  int shallowest = static_cast<int>(cl.idle_states.size()) - 1;
  for (int i = s.first_cpu; i < s.first_cpu + s.ncpus; ++i) {
    Cpu& c = cpus_[i];
    if (c.busy) {
      any_busy = true;
      power += opp.cpu_power;
      c.busy_time += dt;
    } else {
      power += cl.idle_states[c.idle_state].cpu_power;
      s.idle_time[c.idle_state] += dt;
      shallowest = std::min(shallowest, c.idle_state);
    }
  }
  power += any_busy ? opp.cluster_power : cl.idle_states[shallowest].cluster_power;
  s.opp_time[s.opp] += dt;
  energy_ns_ += power * static_cast<double>(dt);
}

void EnergyMeter::SetBusy(int cpu, sim::Time now) {
  Account(cpus_[cpu].cluster, now);
  cpus_[cpu].busy = true;
}

void EnergyMeter::SetIdle(int cpu, int idle_state, sim::Time now) {
  Cpu& c = cpus_[cpu];
  KREPLAY_CHECK(idle_state >= 0 && idle_state < static_cast<int>(platform_.clusters[c.cluster].idle_states.size()),
                "idle state out of range");
  Account(c.cluster, now);
  c.busy = false;
  c.idle_state = idle_state;
}

void EnergyMeter::SetOpp(int cluster, int opp, sim::Time now) {
  Account(cluster, now);
  clusters_[cluster].opp = opp;
}

void EnergyMeter::Flush(sim::Time now) {
  for (int c = 0; c < static_cast<int>(clusters_.size()); ++c) Account(c, now);
}

}  // namespace kreplay::sched
