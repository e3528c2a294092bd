#include "workers/models/sched/rt_class.h"

#include "workers/models/sched/cpu_pick.h"

#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/eevdf_rq.h"

namespace kreplay::sched {

template <class Rq>
bool RtClass<Rq>::Init(Core* core, int hz, bool distribute) {
  core_ = core;
  distribute_ = distribute;
  int n = core->ncpus();
  rqs_.clear();
  rqs_.reserve(n);
  for (int cpu = 0; cpu < n; ++cpu) rqs_.emplace_back(RrTimesliceTicks(hz));
  distribute_prev_.assign(n, 0);
  ents_.assign(core->ntasks(), RtEntity{});
  nr_allowed_.assign(core->ntasks(), 0);
  bool any = false;
  for (int i = 0; i < core->ntasks(); ++i) {
    Task* t = core->task(i);
    for (int cpu = 0; cpu < n; ++cpu) nr_allowed_[i] += core->Allowed(t, cpu) ? 1 : 0;
    if (!workload::IsRealTime(t->spec->policy)) continue;
    RtEntity& e = ents_[i];
    e.id = static_cast<uint32_t>(i);
    e.prio = RtPrio(t->spec->rt_priority);
    e.rr = t->spec->policy == workload::SchedPolicy::kRr;
    t->rt = &e;
    any = true;
  }
  return any;
}

template <class Rq>
int RtClass<Rq>::SelectCpu(const Task* t, int this_cpu) {
  int cpu = t->cpu;
  if (Migratory(t)) {
    const Task* curr = core_->cpu(cpu).curr;
    // rt_task(curr): an RT or a deadline curr (prio < MAX_RT_PRIO).
    if (TaskPrio(curr) < kMaxRtPrio && (!Migratory(curr) || TaskPrio(curr) <= t->rt->prio)) {
      int target = FindLowestRq(t, this_cpu);
      if (target != -1 && t->rt->prio < rqs_[target].highest_prio()) cpu = target;
    }
  }
  if (core_->Allowed(t, cpu)) return cpu;
  // select_fallback_rq().
  for (int k = 0; k < core_->ncpus(); ++k) {
    if (core_->Allowed(t, k)) return k;
  }
  return cpu;
}

template <class Rq>
int RtClass<Rq>::FindLowestRq(const Task* t, int this_cpu) {
  if (!Migratory(t)) return -1;
  int n = core_->ncpus();
  // cpupri_find(): the lowest level holding an allowed CPU, below t.
  int level = -1;
  for (int k = 0; k < n; ++k) {
    if (core_->Allowed(t, k) && rqs_[k].highest_prio() > level) level = rqs_[k].highest_prio();
  }
  if (level <= t->rt->prio) return -1;
  auto in_mask = [&](int k) { return k >= 0 && core_->Allowed(t, k) && rqs_[k].highest_prio() == level; };
  // The first (3.10) or next-distributed (6.x) CPU of the mask, by domain.
  return PickInDomains(core_->cluster(core_->cpu(t->cpu).cluster), n, t->cpu, this_cpu, distribute_,
                       distribute_prev_[this_cpu], in_mask);
}

template <class Rq>
bool RtClass<Rq>::WokenShouldPush(int cpu, const Task* t) const {
  const auto& c = core_->cpu(cpu);
  const Task* curr = c.curr;
  return curr != t && !c.need_resched && Migratory(t) && TaskPrio(curr) < kMaxRtPrio &&
         (!Migratory(curr) || TaskPrio(curr) <= t->rt->prio);
}

template <class Rq>
bool RtClass<Rq>::Overloaded(int cpu) const {
  // update_rt_migration(): rt_nr_total > 1 and rt_nr_migratory > 0.
  const RtRq& rq = rqs_[cpu];
  if (rq.nr_running() < 2) return false;
  return rq.FindFirst([this](const RtEntity* e) { return Migratory(core_->task(static_cast<int>(e->id))); }) !=
         nullptr;
}

template <class Rq>
typename RtClass<Rq>::Task* RtClass<Rq>::NextPushable(int cpu) const {
  const Task* curr = core_->cpu(cpu).curr;
  RtEntity* e = rqs_[cpu].FindFirst([&](const RtEntity* x) {
    const Task* t = core_->task(static_cast<int>(x->id));
    return t != curr && Migratory(t);
  });
  return e ? core_->task(static_cast<int>(e->id)) : nullptr;
}

template <class Rq>
typename RtClass<Rq>::Task* RtClass<Rq>::NextHighest(int src, int this_cpu) const {
  // pick_rt_task(): not running, allowed on this_cpu, migratory.
  const Task* curr = core_->cpu(src).curr;
  RtEntity* e = rqs_[src].FindFirst([&](const RtEntity* x) {
    const Task* t = core_->task(static_cast<int>(x->id));
    return t != curr && core_->Allowed(t, this_cpu) && Migratory(t);
  });
  return e ? core_->task(static_cast<int>(e->id)) : nullptr;
}

template class RtClass<CfsRq>;
template class RtClass<EevdfRq>;
template class RtClass<MainlineCfsRq>;

}  // namespace kreplay::sched
