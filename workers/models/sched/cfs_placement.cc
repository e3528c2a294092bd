#include "workers/models/sched/cfs_placement.h"

#include <cstdint>

namespace kreplay::sched {
namespace {

// A free function (not a member) so that its one caller inlines it: it runs
// on every wake-up.
int SelectIdleSibling(const SchedCore& c, Task* t, int target) {
  // select_idle_sibling(): the target if idle, else the first idle CPU of the
  // target's LLC (cluster), scanning from the target onwards.
  if (c.CpuIdle(target) && c.Allowed(t, target)) return target;
  const ClusterRt& cl = c.cluster(c.cpu(target).cluster);
  int end = cl.first + cl.n;
  for (int k = 1; k < cl.n; ++k) {
    int cpu = target + k;  // cl.first + (target - cl.first + k) % cl.n
    if (cpu >= end) cpu -= cl.n;
    if (c.CpuIdle(cpu) && c.Allowed(t, cpu)) return cpu;
  }
  return target;
}

}  // namespace

bool CfsPlacement::WakeAffine(Task* t, int this_cpu, int prev_cpu, int imbalance_pct) const {
  // wake_affine(): pull to the waker's CPU if that leaves this CPU no more
  // loaded (power-scaled) than the previous CPU with half the imbalance slack.
  const Cpu& this_c = core().cpu(this_cpu);
  const Cpu& prev_c = core().cpu(prev_cpu);
  uint64_t this_load = this_c.rq.load();
  uint64_t prev_load = prev_c.rq.load();
  uint64_t this_eff = 100ull * prev_c.power * (this_load + t->se.weight);
  uint64_t prev_eff = (100ull + (imbalance_pct - 100) / 2) * this_c.power * prev_load;
  return this_eff <= prev_eff;
}

int CfsPlacement::DoSelectWakeCpu(Task* t, int waker_cpu) {
  const SchedCore& c = core();
  int prev = t->cpu;
  int cpu = waker_cpu;
  bool same_cluster = c.cpu(cpu).cluster == c.cpu(prev).cluster;
  // The affine domain is the lowest one spanning both CPUs: MC if they share
  // a cluster, else DIE (which a policy without cross-cluster balancing, such
  // as HMP, builds without load balancing).
  int target = prev;
  if (cpu != prev && c.Allowed(t, cpu) && (same_cluster || needs().cross_cluster_balance)) {
    int pct = same_cluster ? c.options().mc_imbalance_pct : c.options().imbalance_pct;
    if (WakeAffine(t, cpu, prev, pct)) target = cpu;
  }
  int new_cpu = SelectIdleSibling(c, t, target);
  if (!c.Allowed(t, new_cpu)) {
    new_cpu = -1;
    for (int k = 0; k < c.ncpus() && new_cpu < 0; ++k) {
      if (c.Allowed(t, k)) new_cpu = k;
    }
  }
  return new_cpu;
}

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
