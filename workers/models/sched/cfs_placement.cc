#include "workers/models/sched/cfs_placement.h"

#include <cstdint>

namespace kreplay::sched {

int CfsPlacement::FindIdlestCpuIn(Task* t, int first, int n, int this_cpu) const {
  // find_idlest_cpu(): least weighted load; ties go to this_cpu, then the
  // lowest index.
  int best = -1;
  uint64_t best_load = UINT64_MAX;
  for (int cpu = first; cpu < first + n; ++cpu) {
    if (!core().Allowed(t, cpu)) continue;
    uint64_t load = core().cpu(cpu).rq.load();
    if (load < best_load || (load == best_load && cpu == this_cpu)) {
      best = cpu;
      best_load = load;
    }
  }
  return best;
}

int CfsPlacement::DoSelectForkCpu(Task* t, int parent_cpu) {
  // find_idlest_group() at DIE: the group with the least power-scaled load,
  // unless the local group is within imbalance_pct of it.
  const SchedCore& c = core();
  int this_cluster = c.cpu(parent_cpu).cluster;
  int chosen = -1;
  uint64_t min_load = UINT64_MAX, this_load = 0;
  bool this_allowed = false;
  for (int g = 0; g < c.nclusters(); ++g) {
    const ClusterRt& cl = c.cluster(g);
    uint64_t load = 0, power = 0;
    bool allowed = false;
    for (int cpu = cl.first; cpu < cl.first + cl.n; ++cpu) {
      load += c.cpu(cpu).rq.load();
      power += c.cpu(cpu).power;
      allowed = allowed || c.Allowed(t, cpu);
    }
    if (!allowed) continue;
    uint64_t avg = load * 1024 / power;
    if (g == this_cluster) {
      this_load = avg;
      this_allowed = true;
    } else if (avg < min_load) {
      min_load = avg;
      chosen = g;
    }
  }
  if (chosen < 0 || (this_allowed && 100 * this_load < static_cast<uint64_t>(c.options().imbalance_pct) * min_load)) {
    chosen = this_allowed ? this_cluster : chosen;
  }
  const ClusterRt& cl = c.cluster(chosen);
  int this_cpu = chosen == this_cluster ? parent_cpu : cl.first;
  // At MC each group is one CPU: find_idlest_group() again, then the CPU.
  int idlest = FindIdlestCpuIn(t, cl.first, cl.n, -1);
  if (c.Allowed(t, this_cpu) && idlest != this_cpu) {
    uint64_t here = c.cpu(this_cpu).rq.load() * 1024 / c.cpu(this_cpu).power;
    uint64_t there = c.cpu(idlest).rq.load() * 1024 / c.cpu(idlest).power;
    if (100 * here < static_cast<uint64_t>(c.options().mc_imbalance_pct) * there) idlest = this_cpu;
  }
  return idlest;
}

}  // namespace kreplay::sched
