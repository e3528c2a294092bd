// Internal to the scheduler models: the tail shared by find_lowest_rq()
// (rt.c) and find_later_rq() (deadline.c). Once the class has its mask of
// candidate CPUs: the task's own CPU if it is in the mask; else, going up
// for_each_domain() of that CPU (its cluster, MC; then every CPU, PKG/DIE),
// this_cpu if it is in the mask and the span, else a CPU of the mask in the
// span: the first in order (3.10 cpumask_first()) or, with `distribute`,
// the next after the one returned last for this caller (6.x
// cpumask_any_and_distribute()). -1 if the mask is empty.
#pragma once

#include "workers/models/sched/sched_core.h"

namespace kreplay::sched {

// `in_mask(k)` says whether CPU k is a candidate; `prev` is the caller's
// cursor (distribute_cpu_mask_prev), updated when `distribute` picks.
template <class InMask>
int PickInDomains(const ClusterRt& task_cluster, int ncpus, int task_cpu, int this_cpu, bool distribute, int& prev,
                  const InMask& in_mask) {
  if (in_mask(task_cpu)) return task_cpu;
  if (this_cpu < 0 || !in_mask(this_cpu)) this_cpu = -1;
  auto any_in = [&](int first, int len) {
    if (!distribute) {
      for (int k = first; k < first + len; ++k)
        if (in_mask(k)) return k;
      return -1;
    }
    for (int i = 1; i <= ncpus; ++i) {
      int k = (prev + i) % ncpus;
      if (k >= first && k < first + len && in_mask(k)) {
        prev = k;
        return k;
      }
    }
    return -1;
  };
  const int spans[2][2] = {{task_cluster.first, task_cluster.n}, {0, ncpus}};
  for (const auto& span : spans) {
    if (this_cpu != -1 && this_cpu >= span[0] && this_cpu < span[0] + span[1]) return this_cpu;
    int best = any_in(span[0], span[1]);
    if (best >= 0) return best;
  }
  return -1;
}

}  // namespace kreplay::sched
