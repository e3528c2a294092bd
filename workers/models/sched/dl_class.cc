#include "workers/models/sched/dl_class.h"

#include "workers/models/sched/cpu_pick.h"

#include <cstdio>
#include <string>

#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/eevdf_rq.h"

namespace kreplay::sched {
namespace {

std::string Ratio(uint64_t bw) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(bw) / static_cast<double>(kBwUnit));
  return buf;
}

}  // namespace

template <class Rq>
Status DlClass<Rq>::Init(Core* core) {
  core_ = core;
  int n = core->ncpus();
  rqs_.assign(n, DlRq{});
  distribute_prev_.assign(n, 0);  // distribute_cpu_mask_prev: the first search skips CPU 0
  later_mask_.assign(n, 0);
  ents_.assign(core->ntasks(), DlEntity{});
  nr_allowed_.assign(core->ntasks(), 0);
  asym_ = false;
  uint64_t cap_sum = 0;
  for (int cpu = 0; cpu < n; ++cpu) {
    asym_ = asym_ || core->cpu(cpu).power != core->cpu(0).power;
    cap_sum += core->cpu(cpu).power;
  }
  // dl_bw_capacity(): CPUs << SCHED_CAPACITY_SHIFT unless capacities differ.
  uint64_t capacity = asym_ ? cap_sum : static_cast<uint64_t>(n) << 10;
  uint64_t total_bw = 0;
  std::string names;
  active_ = false;
  for (int i = 0; i < core->ntasks(); ++i) {
    Task* t = core->task(i);
    for (int cpu = 0; cpu < n; ++cpu) nr_allowed_[i] += core->Allowed(t, cpu) ? 1 : 0;
    const workload::SchedTaskSpec& s = *t->spec;
    const std::string who = "sched: task '" + s.name + "'";
    std::string err = workload::DeadlineParamsError(s);
    if (!err.empty()) return InvalidArgument(who + ": " + err + " (__checkparam_dl())");
    if (s.policy != workload::SchedPolicy::kDeadline) continue;
    if (nr_allowed_[i] != n) {
      return InvalidArgument(who + ": cpu_mask: a SCHED_DEADLINE task must be allowed on every CPU of the root "
                             "domain (sched_setattr() fails with EPERM)");
    }
    DlEntity& e = ents_[i];
    e.id = static_cast<uint32_t>(i);
    e.SetParams(s.dl_runtime_ns, s.dl_deadline_ns, s.dl_period_ns);
    // sched_dl_overflow(), task by task as each thread's sched_setattr().
    if (DlOverflow(total_bw, e.dl_bw, capacity)) {
      return InvalidArgument(
          who + ": SCHED_DEADLINE admission control (sched_dl_overflow()) refuses it: the deadline tasks' "
                "total bandwidth " + Ratio(total_bw + e.dl_bw) + " (runtime/period) would exceed the limit " +
          Ratio(DlGlobalBw() * capacity >> 10) + " (95 % of " + std::to_string(n) + " CPU" + (n > 1 ? "s" : "") +
          (asym_ ? ", capacity-weighted" : "") + "); sched_setattr() would fail with EBUSY");
    }
    total_bw += e.dl_bw;
    t->dl = &e;
    active_ = true;
  }
  return OkStatus();
}

template <class Rq>
int DlClass<Rq>::SelectCpu(const Task* t, int this_cpu) {
  int cpu = t->cpu;
  const Task* curr = core_->cpu(cpu).curr;
  bool select = curr && curr->dl && (!Migratory(curr) || !DlEntityPreempt(*t->dl, *curr->dl)) && Migratory(t);
  if (asym_) select = select || !DlTaskFitsCapacity(*t->dl, core_->cpu(cpu).power);
  if (select) {
    int target = FindLaterRq(t, this_cpu);
    if (target != -1 && IsEarliest(t, target)) cpu = target;
  }
  return cpu;
}

template <class Rq>
int DlClass<Rq>::FindLaterRq(const Task* t, int this_cpu) {
  if (!Migratory(t)) return -1;
  int n = core_->ncpus();
  std::vector<int>& mask = later_mask_;
  // cpudl_find(): the free CPUs (no deadline task) allowed for t ...
  bool any = false;
  for (int k = 0; k < n; ++k) {
    mask[k] = rqs_[k].nr_running() == 0 && core_->Allowed(t, k);
    any = any || mask[k];
  }
  if (any) {
    if (asym_) {
      // ... where it fits; if none does, the biggest (task_cpu on a tie).
      int max_cpu = -1;
      uint32_t max_cap = 0;
      bool fits_any = false;
      for (int k = 0; k < n; ++k) {
        if (!mask[k]) continue;
        uint32_t cap = core_->cpu(k).power;
        if (DlTaskFitsCapacity(*t->dl, cap)) {
          fits_any = true;
          continue;
        }
        mask[k] = 0;
        if (cap > max_cap || (k == t->cpu && cap == max_cap)) {
          max_cap = cap;
          max_cpu = k;
        }
      }
      if (!fits_any) mask[max_cpu] = 1;
    }
  } else {
    // ... else the CPU whose earliest deadline is the latest (cpudl_maximum()),
    // if t's is earlier.
    int best = -1;
    for (int k = 0; k < n; ++k) {
      if (best < 0 || DlTimeBefore(rqs_[best].earliest(), rqs_[k].earliest())) best = k;
    }
    if (best < 0 || !core_->Allowed(t, best) || !DlTimeBefore(t->dl->deadline, rqs_[best].earliest())) return -1;
    mask[best] = 1;
  }
  // cpumask_any_and_distribute() by domain, from the task's CPU.
  return PickInDomains(core_->cluster(core_->cpu(t->cpu).cluster), n, t->cpu, this_cpu, /*distribute=*/true,
                       distribute_prev_[this_cpu], [&](int k) { return k >= 0 && mask[k] != 0; });
}

template <class Rq>
bool DlClass<Rq>::WokenShouldPush(int cpu, const Task* t) const {
  const auto& c = core_->cpu(cpu);
  const Task* curr = c.curr;
  return curr != t && !c.need_resched && Migratory(t) && curr && curr->dl &&
         (!Migratory(curr) || !DlEntityPreempt(*t->dl, *curr->dl));
}

template <class Rq>
bool DlClass<Rq>::Overloaded(int cpu) const {
  const DlRq& rq = rqs_[cpu];
  if (rq.nr_running() < 2) return false;
  for (const DlEntity* e : rq.queue()) {
    if (Migratory(core_->task(static_cast<int>(e->id)))) return true;
  }
  return false;
}

template <class Rq>
typename DlClass<Rq>::Task* DlClass<Rq>::NextPushable(int cpu) const {
  const Task* curr = core_->cpu(cpu).curr;
  for (const DlEntity* e : rqs_[cpu].queue()) {
    Task* t = core_->task(static_cast<int>(e->id));
    if (t != curr && Migratory(t)) return t;
  }
  return nullptr;
}

// The LSK 3.10 core refuses deadline tasks before Init(); the instance only
// lets it hold the (inactive) class like the others.
template class DlClass<CfsRq>;
template class DlClass<EevdfRq>;
template class DlClass<MainlineCfsRq>;

}  // namespace kreplay::sched
