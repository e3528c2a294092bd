// Internal to the scheduler models: the deadline class (SCHED_DEADLINE)
// above the RT class, on the mainline base only (LSK 3.10 predates it: it
// arrived in 3.14). The core (sched_sim.cc) owns time, timers and moves
// tasks; this class holds the per-CPU deadline runqueues (dl_rq.h) and the
// entities, checks admission, and makes the class's decisions. A run
// without deadline tasks never calls it (the core tests one flag).
//
// Mirrors kernel/sched/deadline.c and kernel/sched/cpudeadline.c (v5.15 ..
// v6.x):
// - admission (sched_dl_overflow() -> __dl_overflow()): the deadline tasks'
//   bandwidths summed must stay within dl_b->bw (95 %: sched_rt_runtime_us
//   / sched_rt_period_us) x dl_bw_capacity(): the number of CPUs x 1024 on
//   symmetric CPUs, the sum of arch_scale_cpu_capacity() on asymmetric ones
//   (5.9+); a task whose affinity is not every CPU is refused as
//   __sched_setscheduler() refuses it (-EPERM);
// - select_task_rq_dl() at wake-up: stay on task_cpu(p) unless its curr is
//   a deadline task that p would not preempt (or that cannot move), or, on
//   asymmetric capacity, p does not fit there (dl_task_fits_capacity());
//   then find_later_rq(), taken if p's deadline is earlier than the
//   target's earliest (or it has none);
// - find_later_rq() over cpudl (cpudl_find()): the CPUs with no deadline
//   task (free_cpus), on asymmetric capacity only those where p fits (else
//   the biggest); if none is free, the CPU whose earliest deadline is the
//   latest, if later than p's; among the candidates task_cpu(p), then this
//   CPU if in an SD_WAKE_AFFINE domain of task_cpu (the cluster, then all
//   CPUs), else cpumask_any_and_distribute() over the domain's span;
// - push_dl_task() / push_dl_tasks(): while the CPU is overloaded (2+
//   deadline tasks), its earliest pushable task goes to find_later_rq() if
//   that CPU's earliest deadline is later (dl_task_is_earliest_deadline()),
//   and that CPU reschedules; if the pushable task would preempt a
//   migratable curr, reschedule instead. Run from set_next_task_dl() (the
//   CPU switched to a deadline task), task_woken_dl() and, once, after a
//   replenishment (dl_task_timer());
// - pull_dl_task() from balance_dl() when a deadline task left the CPU
//   (blocked, throttled, exited): from each overloaded CPU in order, its
//   earliest pushable task if earlier than what is queued here and than
//   the last one pulled, unless it would preempt its own CPU's curr;
// - check_preempt_curr_dl() / wakeup_preempt_dl(): an earlier deadline
//   preempts; the class order (dl above rt and fair) is the core's.
// The core (sched_sim.cc, Dl*()) mirrors the rest with dl_rq.h's arithmetic:
// enqueue_task_dl() (setup_new_dl_entity() at the start, update_dl_entity()
// at a wake-up, dl_check_constrained_dl(), task_contending()),
// update_curr_dl() at every update of the running task (ticks, switches,
// wake-ups on its CPU, frequency changes: HRTICK_DL is off by default, so
// a task overruns by up to a tick), the throttle and start_dl_timer() /
// dl_task_timer() (replenish_dl_entity(), then preempt and push once),
// dequeue_task_dl(DEQUEUE_SLEEP) with task_non_contending() and
// inactive_task_timer() (running_bw), balance_dl(), and schedutil's
// cpu_bw_dl() in effective_cpu_util().
// Simplified, and why:
// - the fair class gets nothing while deadline (or RT) tasks keep a CPU
//   busy: no fair server (6.12's dl_server, 50 ms per second for fair tasks
//   by default) and no RT throttling; a study should see the starvation
//   rather than have it masked, and 5.15..6.11 have no fair server;
// - admission is checked once at the start for every deadline task of the
//   workload (the kernel checks each sched_setattr() and frees a task's
//   bandwidth when it exits, so deadline tasks that never overlap in time
//   could be admitted there and are refused here);
// - a deadline task is one from its start: rt-app's thread starts
//   SCHED_OTHER and switches itself; the model sets up its first instance
//   at its start time and places it by select_task_rq_dl()'s wake-up rule
//   from the parent's CPU;
// - no deadline PELT (rq->avg_dl): schedutil's saturation test and, from
//   6.8, cpu_util_dl() in the summed utilisation are left out; the running
//   bandwidth it must grant is kept;
// - cpudl's max-heap breaks ties of equal deadlines by its own history;
//   here the lowest CPU wins. The cpumask_any_and_distribute() cursor is
//   the class's own; the kernel shares one per CPU with the RT class, which
//   differs only for workloads mixing RT and deadline pushes;
// - check_preempt_equal_dl() (equal deadlines on SMP) is not mirrored:
//   equal absolute deadlines of different tasks are rare outside
//   synchronised starts;
// - push and pull take no time and need no IPI (as for the RT class).
// Not thread-safe; one instance per run.
#pragma once

#include <vector>

#include "services/core/status.h"
#include "workers/models/sched/dl_rq.h"
#include "workers/models/sched/sched_core.h"

namespace kreplay::sched {

template <class Rq>
class DlClass {
 public:
  using Core = SchedCoreT<Rq>;
  using Task = TaskT<Rq>;

  // Binds to a run whose tasks exist and whose CPUs have their capacities:
  // one DlRq per CPU, a DlEntity per SCHED_DEADLINE task (t->dl set).
  // InvalidArgument (naming the task) for parameters __checkparam_dl()
  // refuses, an affinity short of every CPU, or a workload over the
  // admission limit. `active()` afterwards: the workload has a deadline task.
  Status Init(Core* core);
  bool active() const { return active_; }

  DlRq& rq(int cpu) { return rqs_[cpu]; }
  const DlRq& rq(int cpu) const { return rqs_[cpu]; }
  int nr_running(int cpu) const { return rqs_[cpu].nr_running(); }
  // Whether the platform's CPUs differ in capacity (sched_asym_cpucap_active()).
  bool asym() const { return asym_; }

  // check_preempt_curr(): does waking (or replenished) `wakee` preempt the
  // running `curr`? REQUIRES: one of them is a deadline task, `wakee` queued.
  static bool WakeupPreempt(const Task* curr, const Task* wakee) {
    if (curr->dl && curr->dl->throttled) return true;  // update_curr_dl() already asked to reschedule
    if (!wakee->dl) return false;                      // rt/fair below dl
    if (!curr->dl) return true;                        // dl above rt/fair
    return DlEntityPreempt(*wakee->dl, *curr->dl);
  }

  // select_task_rq_dl() with WF_TTWU for `t` (t->cpu: its previous CPU, or
  // the parent's), woken from `this_cpu`.
  int SelectCpu(const Task* t, int this_cpu);
  // find_later_rq() called on `this_cpu`; -1 if none.
  int FindLaterRq(const Task* t, int this_cpu);

  // push_dl_tasks() on `cpu` (at most `max` pushes: push_dl_task() once
  // after a replenishment). `move(task, to)` migrates a queued task and
  // reschedules `to`; `resched(cpu)` reschedules a CPU. Returns the pushes.
  template <class Move, class Resched>
  int PushTasks(int cpu, Move&& move, Resched&& resched, int max = 1 << 30);
  // pull_dl_task() on `cpu`. `move` as for PushTasks(). True if it pulled.
  template <class Move>
  bool Pull(int cpu, Move&& move);

  // task_woken_dl(): after `t` was woken on `cpu` and did not preempt:
  // should `cpu` push?
  bool WokenShouldPush(int cpu, const Task* t) const;

 private:
  bool Migratory(const Task* t) const { return nr_allowed_[t->index] > 1; }
  // dl_rq->overloaded: 2+ deadline tasks, one of them migratory.
  bool Overloaded(int cpu) const;
  // pick_next_pushable_dl_task() / pick_earliest_pushable_dl_task(): the
  // earliest queued task not running on `cpu`, migratory; nullptr if none.
  Task* NextPushable(int cpu) const;
  // dl_task_is_earliest_deadline(): no deadline task on `cpu`, or t's
  // deadline before its earliest.
  bool IsEarliest(const Task* t, int cpu) const {
    return rqs_[cpu].nr_running() == 0 || DlTimeBefore(t->dl->deadline, rqs_[cpu].earliest());
  }

  Core* core_ = nullptr;
  std::vector<DlRq> rqs_;
  std::vector<DlEntity> ents_;        // by task index
  std::vector<int> nr_allowed_;       // by task index: p->nr_cpus_allowed
  std::vector<int> distribute_prev_;  // per CPU: cpumask_any_and_distribute()'s cursor
  std::vector<int> later_mask_;       // FindLaterRq()'s scratch
  bool asym_ = false;
  bool active_ = false;
};

template <class Rq>
template <class Move, class Resched>
int DlClass<Rq>::PushTasks(int cpu, Move&& move, Resched&& resched, int max) {
  // push_dl_tasks(): push_dl_task() while it moves a task; every move takes
  // a task to a CPU whose earliest deadline is later, so the loop ends.
  int pushed = 0;
  for (int guard = core_->ntasks(); guard > 0 && pushed < max; --guard) {
    if (!Overloaded(cpu)) break;
    Task* next = NextPushable(cpu);
    if (!next) break;
    // next_task would preempt a curr that can move: reschedule instead.
    const Task* curr = core_->cpu(cpu).curr;
    if (curr && curr->dl && DlTimeBefore(next->dl->deadline, curr->dl->deadline) && Migratory(curr)) {
      resched(cpu);
      break;
    }
    // find_lock_later_rq().
    int to = FindLaterRq(next, cpu);
    if (to < 0 || to == cpu || !IsEarliest(next, to)) break;
    move(next, to);
    ++pushed;
  }
  return pushed;
}

template <class Rq>
template <class Move>
bool DlClass<Rq>::Pull(int cpu, Move&& move) {
  // dl_overloaded(): any CPU of the root domain overloaded.
  int n = core_->ncpus();
  bool any = false;
  for (int k = 0; k < n && !any; ++k) any = Overloaded(k);
  if (!any) return false;
  bool pulled = false;
  bool have_dmin = false;
  int64_t dmin = 0;
  for (int k = 0; k < n; ++k) {
    if (k == cpu || !Overloaded(k)) continue;
    Task* p = NextPushable(k);
    // The queued earliest here is before the source's earliest pushable: nothing to gain.
    if (rqs_[cpu].nr_running() > 0 && p && DlTimeBefore(rqs_[cpu].earliest(), p->dl->deadline)) continue;
    if (rqs_[k].nr_running() <= 1 || !p || !core_->Allowed(p, cpu)) continue;
    if ((have_dmin && !DlTimeBefore(p->dl->deadline, dmin)) || !IsEarliest(p, cpu)) continue;
    // Pull only a task that would not preempt its own CPU's curr (a
    // non-deadline curr reads as deadline 0).
    const Task* src_curr = core_->cpu(k).curr;
    int64_t curr_deadline = src_curr && src_curr->dl ? src_curr->dl->deadline : 0;
    if (DlTimeBefore(p->dl->deadline, curr_deadline)) continue;
    move(p, cpu);
    dmin = p->dl->deadline;
    have_dmin = true;
    pulled = true;
  }
  return pulled;
}

}  // namespace kreplay::sched
