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

int CfsPlacement::FindIdlestGroup(const Task* t, int this_cpu, int level, int* first, int* n) const {
  // find_idlest_group(): groups are the clusters at DIE (level 1) and the
  // CPUs of this_cpu's cluster at MC (level 0), visited from this_cpu's own
  // group on, as sd->groups is circular. The least power-scaled load wins
  // (strictly, so the first of equals), unless the local group is within
  // imbalance = 100 + (imbalance_pct - 100) / 2 of it.
  const SchedCore& c = core();
  const int this_cluster = c.cpu(this_cpu).cluster;
  const int ngroups = level == 1 ? c.nclusters() : c.cluster(this_cluster).n;
  const int start = level == 1 ? this_cluster : this_cpu - c.cluster(this_cluster).first;
  const int pct = level == 1 ? c.options().imbalance_pct : c.options().mc_imbalance_pct;
  const uint64_t imbalance = 100 + static_cast<uint64_t>(pct - 100) / 2;
  int idlest_first = -1, idlest_n = 0;
  uint64_t min_load = UINT64_MAX, this_load = 0;
  for (int i = 0; i < ngroups; ++i) {
    int g = (start + i) % ngroups;
    int gfirst = level == 1 ? c.cluster(g).first : c.cluster(this_cluster).first + g;
    int gn = level == 1 ? c.cluster(g).n : 1;
    uint64_t load = 0, power = 0;
    bool allowed = false;
    for (int cpu = gfirst; cpu < gfirst + gn; ++cpu) {
      load += c.cpu(cpu).rq.load();
      power += c.cpu(cpu).power;
      allowed = allowed || c.Allowed(t, cpu);
    }
    if (!allowed) continue;
    uint64_t avg = load * 1024 / power;
    if (i == 0) {
      this_load = avg;
    } else if (avg < min_load) {
      min_load = avg;
      idlest_first = gfirst;
      idlest_n = gn;
    }
  }
  if (idlest_first < 0 || 100 * this_load < imbalance * min_load) return -1;
  *first = idlest_first;
  *n = idlest_n;
  return idlest_first;
}

int CfsPlacement::DoSelectForkCpu(Task* t, int parent_cpu) {
  // select_task_rq_fair() for SD_BALANCE_FORK: from the top domain with the
  // flag down, find_idlest_group() then find_idlest_cpu(); after a move,
  // continue at the domain of the new CPU below the one just balanced. The
  // DIE level takes part only where it balances (not under HMP, whose DIE
  // domain has no SD_LOAD_BALANCE).
  const SchedCore& c = core();
  int cpu = parent_cpu;
  int level = needs().cross_cluster_balance && c.nclusters() > 1 ? 1 : 0;
  for (; level >= 0; --level) {
    int first = 0, n = 0;
    if (FindIdlestGroup(t, cpu, level, &first, &n) < 0) continue;
    int new_cpu = FindIdlestCpuIn(t, first, n, cpu);
    if (new_cpu >= 0) cpu = new_cpu;
  }
  // select_task_rq(): a CPU the task may not use falls back to the first it
  // may (select_fallback_rq()).
  for (int k = 0; !c.Allowed(t, cpu) && k < c.ncpus(); ++k) {
    if (c.Allowed(t, k)) cpu = k;
  }
  return cpu;
}

}  // namespace kreplay::sched
