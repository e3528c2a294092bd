#include "workers/models/sched/mainline_placement.h"

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
    for (int k = 0; k < c.ncpus(); ++k) {
      int cpu = (target + k) % c.ncpus();
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
  for (int k = 1; k < cl.n; ++k) {
    int cpu = cl.first + (target - cl.first + k) % cl.n;
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
int MainlineFairPlacementT<Rq>::DoSelectForkCpu(Task* t, int parent_cpu) {
  const Core& c = core();
  int best = -1;
  bool best_idle = false;
  int best_nr = 0;
  uint64_t best_load = 0;
  for (int k = 0; k < c.ncpus(); ++k) {
    int cpu = (parent_cpu + k) % c.ncpus();  // the parent's CPU first: it wins ties
    if (!c.Allowed(t, cpu)) continue;
    bool idle = c.CpuIdle(cpu);
    int nr = c.cpu(cpu).rq.nr_running();
    uint64_t load = c.cpu(cpu).rq.load();
    bool better = best < 0 || (idle && !best_idle) ||
                  (idle == best_idle && (nr < best_nr || (nr == best_nr && load < best_load)));
    if (better) {
      best = cpu;
      best_idle = idle;
      best_nr = nr;
      best_load = load;
    }
  }
  return best >= 0 ? best : parent_cpu;
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
