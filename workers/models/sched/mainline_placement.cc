#include "workers/models/sched/mainline_placement.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kreplay::sched {

template <class Rq>
void MainlineFairPlacementT<Rq>::DoAttach() {
  asym_ = false;
  for (int cpu = 1; cpu < core().ncpus(); ++cpu) asym_ = asym_ || core().cpu(cpu).power != core().cpu(0).power;
}

template <class Rq>
bool MainlineFairPlacementT<Rq>::Fits(const Task* t, int cpu) const {
  // asym_fits_cpu(): only on asymmetric capacity does fitting matter.
  return !asym_ || FitsCapacity(pelt::TaskUtilEst(t->pelt.avg), core().cpu(cpu).power);
}

template <class Rq>
int MainlineFairPlacementT<Rq>::SelectIdleSibling(Task* t, int prev, int target) const {
  const Core& c = core();
  auto idle = [&](int cpu) { return c.CpuIdle(cpu) && c.Allowed(t, cpu); };
  if (idle(target) && Fits(t, target)) return target;
  if (prev != target && SharesCache(prev, target) && idle(prev) && Fits(t, prev)) return prev;
  if (asym_) {
    // select_idle_capacity() over sd_asym_cpucapacity (all CPUs), from
    // target, wrapping.
    int best = -1;
    uint32_t best_cap = 0;
    const int n = c.ncpus();
    for (int k = 0; k < n; ++k) {
      int cpu = target + k;  // (target + k) % n without a division per CPU
      if (cpu >= n) cpu -= n;
      if (!idle(cpu)) continue;
      if (Fits(t, cpu)) return cpu;
      if (c.cpu(cpu).power > best_cap) {
        best_cap = c.cpu(cpu).power;
        best = cpu;
      }
    }
    return best >= 0 ? best : target;
  }
  // select_idle_cpu() in the target's LLC, from the CPU after target.
  const ClusterRt& cl = c.cluster(c.cpu(target).cluster);
  const int end = cl.first + cl.n;
  for (int k = 1; k < cl.n; ++k) {
    int cpu = target + k;  // cl.first + (target - cl.first + k) % cl.n
    if (cpu >= end) cpu -= cl.n;
    if (idle(cpu)) return cpu;
  }
  return target;
}

template <class Rq>
int MainlineFairPlacementT<Rq>::DoSelectWakeCpu(Task* t, int waker_cpu) {
  const Core& c = core();
  int prev = t->cpu;
  int cpu = waker_cpu;
  int target = prev;
  if (cpu != prev && c.Allowed(t, cpu)) {
    // wake_affine(): WA_IDLE, then WA_WEIGHT.
    int affine = -1;
    if (c.CpuIdle(cpu) && SharesCache(cpu, prev)) {
      affine = c.CpuIdle(prev) ? prev : cpu;
    } else if (c.CpuIdle(prev)) {
      affine = prev;
    } else {
      // wake_affine_weight(): this CPU with the task added, against prev,
      // each load over its capacity; prev gets half the imbalance slack.
      bool same = SharesCache(cpu, prev);
      int pct = same ? c.options().mc_imbalance_pct : c.options().imbalance_pct;
      uint64_t this_eff = 100ull * c.cpu(prev).power * (c.cpu(cpu).rq.load() + t->se.weight);
      uint64_t prev_eff = (100ull + (pct - 100) / 2) * c.cpu(cpu).power * c.cpu(prev).rq.load();
      if (this_eff < prev_eff) affine = cpu;
    }
    if (affine == cpu) target = cpu;
  }
  int new_cpu = SelectIdleSibling(t, prev, target);
  if (!c.Allowed(t, new_cpu)) {
    new_cpu = -1;
    for (int k = 0; k < c.ncpus() && new_cpu < 0; ++k) {
      if (c.Allowed(t, k)) new_cpu = k;
    }
  }
  return new_cpu;
}

template <class Rq>
typename MainlineFairPlacementT<Rq>::GroupStats MainlineFairPlacementT<Rq>::WakeupStats(const Task* t, int first,
                                                                                      int n, int imbalance_pct) const {
  // update_sg_wakeup_stats(). The task is new (fork) or asleep, so it is on
  // no runqueue and the *_without() terms are the CPUs' own figures.
  const Core& c = core();
  GroupStats g;
  g.misfit = asym_;  // "assume that task can't fit any CPU of the group"
  uint64_t capacity = 0, util = 0, runnable = 0;
  for (int cpu = first; cpu < first + n; ++cpu) {
    const auto& x = c.cpu(cpu);
    g.load += x.pelt.rq.avg.load_avg;  // cpu_load_without()
    util += c.PeltCpuUtil(cpu);        // cpu_util_without()
    runnable += x.pelt.rq.avg.runnable_avg;
    int nr = x.rq.nr_running() + (x.curr && x.curr->rt ? 1 : 0);
    g.nr_running += nr;
    if (nr == 0 && c.CpuIdle(cpu)) ++g.idle_cpus;
    if (g.misfit && Fits(t, cpu)) g.misfit = false;
    capacity += x.power;
    g.max_capacity = std::max<uint32_t>(g.max_capacity, x.power);
  }
  g.util = util;
  // group_classify(): overloaded, (imbalanced, asym packing and SMT balance
  // do not arise here), misfit, fully busy, has spare.
  bool overloaded = g.nr_running > n && (capacity * 100 < util * imbalance_pct ||
                                         capacity * imbalance_pct < runnable * 100);
  bool has_capacity = g.nr_running < n ||
                      (!(capacity * imbalance_pct < runnable * 100) && capacity * 100 > util * imbalance_pct);
  if (overloaded) {
    g.type = GroupType::kOverloaded;
  } else if (g.misfit) {
    g.type = GroupType::kMisfitTask;
  } else if (!has_capacity) {
    g.type = GroupType::kFullyBusy;
  } else {
    g.type = GroupType::kHasSpare;
  }
  if (g.type == GroupType::kFullyBusy || g.type == GroupType::kOverloaded) {
    g.avg_load = g.load * 1024 / std::max<uint64_t>(capacity, 1);
  }
  return g;
}

template <class Rq>
int MainlineFairPlacementT<Rq>::FindIdlestGroup(const Task* t, const std::vector<Span>& groups, int this_cpu,
                                                int imbalance_pct) const {
  // sched_balance_find_dst_group() (find_idlest_group() before 6.10),
  // groups visited from the local one on as the domain's group list is.
  const Core& c = core();
  int local = -1, idlest = -1;
  GroupStats local_g, idlest_g;
  idlest_g.type = GroupType::kOverloaded;
  idlest_g.avg_load = UINT64_MAX;
  int nlocal = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    if (groups[k].first <= this_cpu && this_cpu < groups[k].first + groups[k].n) nlocal = static_cast<int>(k);
  }
  for (size_t j = 0; j < groups.size(); ++j) {
    int k = static_cast<int>((nlocal + j) % groups.size());
    const Span& sp = groups[k];
    bool allowed = false;
    for (int cpu = sp.first; cpu < sp.first + sp.n; ++cpu) allowed = allowed || c.Allowed(t, cpu);
    if (!allowed) continue;
    GroupStats g = WakeupStats(t, sp.first, sp.n, imbalance_pct);
    if (k == nlocal) {
      local = k;
      local_g = g;
      continue;
    }
    // update_pick_idlest().
    bool pick = false;
    if (g.type != idlest_g.type) {
      pick = g.type < idlest_g.type;
    } else if (g.type == GroupType::kOverloaded || g.type == GroupType::kFullyBusy) {
      pick = idlest_g.avg_load > g.avg_load;
    } else if (g.type == GroupType::kMisfitTask) {
      pick = idlest_g.max_capacity < g.max_capacity;
    } else {  // has spare: most idle CPUs, then the lowest util
      pick = idlest_g.idle_cpus < g.idle_cpus || (idlest_g.idle_cpus == g.idle_cpus && idlest_g.util > g.util);
    }
    if (pick) {
      idlest = k;
      idlest_g = g;
    }
  }
  if (idlest < 0) return -1;
  if (local < 0) return idlest;  // the local group is not allowed
  if (local_g.type < idlest_g.type) return -1;
  if (local_g.type > idlest_g.type) return idlest;
  switch (local_g.type) {
    case GroupType::kOverloaded:
    case GroupType::kFullyBusy: {
      uint64_t imbalance = 1024ull * (imbalance_pct - 100) / 100;
      if (idlest_g.avg_load >= local_g.avg_load + imbalance) return -1;
      if (100 * local_g.avg_load <= static_cast<uint64_t>(imbalance_pct) * idlest_g.avg_load) return -1;
      return idlest;
    }
    case GroupType::kMisfitTask:
      return local_g.max_capacity >= idlest_g.max_capacity ? -1 : idlest;
    case GroupType::kHasSpare:
      return local_g.idle_cpus >= idlest_g.idle_cpus ? -1 : idlest;
  }
  return -1;
}

template <class Rq>
int MainlineFairPlacementT<Rq>::FindIdlestGroupCpu(const Task* t, const Span& group, int this_cpu) const {
  // sched_balance_find_dst_group_cpu() (find_idlest_group_cpu() before
  // 6.10): an idle CPU in the shallowest idle state (then the most recently
  // idled), else the least loaded.
  const Core& c = core();
  if (group.n == 1) return group.first;
  int64_t min_exit = INT64_MAX;
  sim::Time latest_idle = -1;
  int shallowest = -1, least_loaded = this_cpu;
  uint64_t min_load = UINT64_MAX;
  for (int cpu = group.first; cpu < group.first + group.n; ++cpu) {
    if (!c.Allowed(t, cpu)) continue;
    const auto& x = c.cpu(cpu);
    if (c.CpuIdle(cpu)) {
      int64_t exit = c.IdleExitLatency(cpu);
      if (exit < min_exit) {
        min_exit = exit;
        latest_idle = x.idle_since;
        shallowest = cpu;
      } else if (exit == min_exit && x.idle_since > latest_idle) {
        latest_idle = x.idle_since;
        shallowest = cpu;
      }
    } else if (shallowest == -1 && x.pelt.rq.avg.load_avg < min_load) {
      min_load = x.pelt.rq.avg.load_avg;
      least_loaded = cpu;
    }
  }
  return shallowest != -1 ? shallowest : least_loaded;
}

template <class Rq>
int MainlineFairPlacementT<Rq>::DoSelectForkCpu(Task* t, int parent_cpu) {
  // select_task_rq_fair(SD_BALANCE_FORK) -> sched_balance_find_dst_cpu()
  // (find_idlest_cpu() before 6.10): from the highest domain with
  // SD_BALANCE_FORK down. The domains: PKG (groups: the clusters) when
  // there are several clusters, and MC (groups: the CPUs of a cluster).
  const Core& c = core();
  int cpu = parent_cpu;
  int new_cpu = cpu;
  std::vector<Span> clusters;
  for (int k = 0; k < c.nclusters(); ++k) clusters.push_back({c.cluster(k).first, c.cluster(k).n});
  const int pkg_pct = c.options().imbalance_pct, mc_pct = c.options().mc_imbalance_pct;
  // level 1 = PKG, 0 = MC; a one-cluster PKG is degenerate (removed).
  int level = c.nclusters() > 1 ? 1 : 0;
  while (level >= 0) {
    std::vector<Span> groups;
    if (level == 1) {
      groups = clusters;
    } else {
      const ClusterRt& cl = c.cluster(c.cpu(cpu).cluster);
      for (int k = cl.first; k < cl.first + cl.n; ++k) groups.push_back({k, 1});
    }
    int g = FindIdlestGroup(t, groups, cpu, level == 1 ? pkg_pct : mc_pct);
    if (g < 0) {
      --level;
      continue;
    }
    new_cpu = FindIdlestGroupCpu(t, groups[g], cpu);
    if (new_cpu != cpu) cpu = new_cpu;  // then the domains of new_cpu below this level
    --level;
  }
  if (!c.Allowed(t, new_cpu)) {
    for (int k = 0; k < c.ncpus(); ++k) {
      if (c.Allowed(t, k)) return k;
    }
  }
  return new_cpu;
}

template <class Rq>
void MainlineFairPlacementT<Rq>::DoTick(int cpu) {
  if (!asym_) return;  // update_misfit_status() returns early without asymmetry
  Core& c = core();
  Task* t = c.cpu(cpu).curr;
  if (!t) return;
  uint32_t util = pelt::TaskUtilEst(t->pelt.avg);
  uint32_t here = c.cpu(cpu).power;
  if (FitsCapacity(util, here)) return;
  // A misfit task: an idle CPU of greater capacity where it fits, else the
  // biggest idle one.
  int best = -1;
  uint32_t best_cap = 0;
  for (int k = 0; k < c.ncpus(); ++k) {
    uint32_t cap = c.cpu(k).power;
    if (!c.CpuIdle(k) || !c.Allowed(t, k) || !CapacityGreater(cap, here)) continue;
    if (FitsCapacity(util, cap)) {
      best = k;
      break;
    }
    if (cap > best_cap) {
      best_cap = cap;
      best = k;
    }
  }
  if (best >= 0) c.Migrate(t, best, MigrationKind::kBalance);
}

template class MainlineFairPlacementT<EevdfRq>;
template class MainlineFairPlacementT<MainlineCfsRq>;

}  // namespace kreplay::sched
