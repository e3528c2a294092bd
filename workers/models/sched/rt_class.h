// Internal to the scheduler models: the real-time class (SCHED_FIFO and
// SCHED_RR) above the fair class, on both kernel bases. The core
// (sched_sim.cc) owns time and moves tasks; this class holds the per-CPU RT
// runqueues (rt_rq.h) and the RT tasks' entities, and makes the RT class's
// decisions. A run without RT tasks never calls it (the core tests one flag).
//
// Mirrors kernel/sched/rt.c and kernel/sched/cpupri.c (LSK 3.10; v6.6 to
// v6.12 where noted):
// - the class order of pick_next_task() (rt before fair) and the class test
//   of check_preempt_curr() (3.10) / wakeup_preempt() (6.x): a waking RT
//   task preempts a fair curr, a fair wakee never preempts an RT curr, and
//   between RT tasks check_preempt_curr_rt() (strictly more urgent);
// - select_task_rq_rt() for wake-up and fork: start from task_cpu(p) (the
//   previous CPU, or the parent's at fork); if its curr is RT and either
//   pinned or at least as urgent as p, and p may run elsewhere,
//   find_lowest_rq(); 6.x moves only if the target's highest queued RT
//   priority is below p's (always so under the cpupri rule below);
// - find_lowest_rq() over cpupri: the allowed CPUs of the lowest cpupri
//   level below p's. A CPU's level is its rt_rq's highest queued priority
//   (rt_rq->highest_prio.curr, the running task included); a CPU with no RT
//   task is CPUPRI_NORMAL whether idle or running fair tasks: 3.10 keeps a
//   CPUPRI_IDLE level that nothing sets, 6.x has none. Among them: task_cpu
//   if in the mask, else this CPU if in the mask and in a SD_WAKE_AFFINE
//   domain of task_cpu (cluster, then all CPUs), else the first of the mask
//   in the cluster, then in all; 6.x chooses "any" with
//   cpumask_any_and_distribute() (the next CPU after the one it returned
//   last on this CPU) rather than the first;
// - push_rt_task()/push_rt_tasks(): the first pushable task (queued, not
//   running, allowed on 2+ CPUs; most urgent first) goes to
//   find_lowest_rq() if that CPU's highest priority is below it, and that
//   CPU reschedules; run after a CPU switched to an RT task
//   (post_schedule_rt(), 6.x the balance callback of set_next_task_rt())
//   and from task_woken_rt();
// - pull (3.10 pull_rt_task() from pre_schedule_rt(); 6.x balance_rt()):
//   when an RT task leaves a CPU and its highest priority drops, 3.10
//   pulls from each overloaded CPU the most urgent queued task allowed
//   here that is more urgent than what is left here and not more urgent
//   than its source's curr; 6.x (RT_PUSH_IPI, on by default) instead has
//   each overloaded CPU, in CPU order, push (tell_cpu_to_push()).
// Not modelled, and why:
// - RT throttling (sched_rt_runtime_us, 95 %) and 6.12's fair server, RT
//   group scheduling and the deadline class: an RT hog starves the fair
//   tasks of its CPU; a study should see that rather than have it masked;
// - check_preempt_equal_prio() (an equal-priority wakee pinned to this CPU
//   makes a migratable curr move): affinity corner case;
// - rt_task_fits_capacity() (6.x, asymmetric capacities): it needs
//   CONFIG_UCLAMP_TASK; without it (assumed here) every CPU fits;
// - the RT utilisation signals (sched_rt_avg_update()/scale_rt_power() in
//   3.10, avg_rt in 6.x) that shrink the fair class's capacity: fair
//   balancing sees an RT task only in its CPU's task count.
// Not thread-safe; one instance per run.
#pragma once

#include <vector>

#include "workers/models/sched/rt_rq.h"
#include "workers/models/sched/sched_core.h"

namespace kreplay::sched {

template <class Rq>
class RtClass {
 public:
  using Core = SchedCoreT<Rq>;
  using Task = TaskT<Rq>;

  // Binds to a run whose tasks exist: one RtRq per CPU (RR slice
  // RR_TIMESLICE at `hz`), an RtEntity per SCHED_FIFO/SCHED_RR task (t->rt
  // set). `distribute`: find_lowest_rq() as in 6.x (see above). True if the
  // workload has an RT task.
  bool Init(Core* core, int hz, bool distribute);

  RtRq& rq(int cpu) { return rqs_[cpu]; }
  int nr_running(int cpu) const { return rqs_[cpu].nr_running(); }

  // check_preempt_curr(): does waking `wakee` preempt the running `curr`?
  static bool WakeupPreempt(const Task* curr, const Task* wakee) {
    if (!wakee->rt) return false;  // fair below rt
    if (!curr->rt) return true;    // rt above fair
    return RtRq::WakeupPreempt(curr->rt, wakee->rt);
  }

  // select_task_rq_rt() for `t` (t->cpu: previous or parent CPU) woken or
  // forked from `this_cpu`; a CPU `t` may run on (select_fallback_rq(): the
  // first allowed one when t->cpu is not).
  int SelectCpu(const Task* t, int this_cpu);
  // find_lowest_rq() called on `this_cpu`; -1 if no CPU runs below t.
  int FindLowestRq(const Task* t, int this_cpu);

  // push_rt_tasks() on `cpu`. `move(task, to)` migrates a queued task and
  // reschedules `to`; `resched(cpu)` reschedules a CPU. Returns the pushes.
  template <class Move, class Resched>
  int PushTasks(int cpu, Move&& move, Resched&& resched);
  // The pull of an RT task leaving `cpu` (see above), `prev_prio` its
  // priority. `move` as for PushTasks(); `push` runs PushTasks() on a CPU.
  template <class Move, class Push>
  void Pull(int cpu, int prev_prio, Move&& move, Push&& push);

  // task_woken_rt(): after `t` was woken on `cpu` (and did not preempt):
  // should `cpu` push?
  bool WokenShouldPush(int cpu, const Task* t) const;

 private:
  bool Migratory(const Task* t) const { return nr_allowed_[t->index] > 1; }
  // rt_rq->overloaded: 2+ RT tasks, one of them migratory.
  bool Overloaded(int cpu) const;
  // pick_next_pushable_task(): nullptr if none.
  Task* NextPushable(int cpu) const;
  // pick_next_highest_task_rt(src, this_cpu).
  Task* NextHighest(int src, int this_cpu) const;
  // The priority the CPU's curr runs at: a deadline curr's -1 (MAX_DL_PRIO
  // - 1, which rt_task() also counts as real-time), an RT curr's, else
  // MAX_RT_PRIO and above (fair or idle).
  int CurrPrio(int cpu) const { return TaskPrio(core_->cpu(cpu).curr); }
  static int TaskPrio(const Task* c) { return c && c->dl ? kDlPrio : c && c->rt ? c->rt->prio : kMaxRtPrio; }

  Core* core_ = nullptr;
  std::vector<RtRq> rqs_;
  std::vector<RtEntity> ents_;       // by task index
  std::vector<int> nr_allowed_;      // by task index: p->nr_cpus_allowed
  std::vector<int> distribute_prev_; // per CPU: distribute_cpu_mask_prev
  bool distribute_ = false;
};

template <class Rq>
template <class Move, class Resched>
int RtClass<Rq>::PushTasks(int cpu, Move&& move, Resched&& resched) {
  // push_rt_tasks(): push_rt_task() while it moves a task; every move
  // takes a task to a CPU running below it, so the loop ends.
  int pushed = 0;
  for (int guard = core_->ntasks(); guard > 0; --guard) {
    if (!Overloaded(cpu)) break;
    Task* next = NextPushable(cpu);
    if (!next) break;
    // A pushable task more urgent than curr (or a CPU not running an RT
    // task yet): reschedule rather than push.
    if (next->rt->prio < CurrPrio(cpu)) {
      if (core_->cpu(cpu).curr) resched(cpu);
      break;
    }
    // find_lock_lowest_rq(): a CPU other than this one still running below.
    int to = FindLowestRq(next, cpu);
    if (to < 0 || to == cpu || rqs_[to].highest_prio() <= next->rt->prio) break;
    move(next, to);
    ++pushed;
  }
  return pushed;
}

template <class Rq>
template <class Move, class Push>
void RtClass<Rq>::Pull(int cpu, int prev_prio, Move&& move, Push&& push) {
  // need_pull_rt_task(): this CPU's highest priority dropped below prev's.
  if (rqs_[cpu].highest_prio() <= prev_prio) return;
  int n = core_->ncpus();
  int overloaded = 0;
  for (int k = 0; k < n; ++k) overloaded += Overloaded(k) ? 1 : 0;
  if (overloaded == 0 || (overloaded == 1 && Overloaded(cpu))) return;
  if (distribute_) {
    // RT_PUSH_IPI: tell_cpu_to_push(); the overloaded CPUs push in turn.
    for (int k = 0; k < n; ++k) {
      if (k != cpu && Overloaded(k)) push(k);
    }
    return;
  }
  for (int k = 0; k < n; ++k) {
    if (k == cpu || !Overloaded(k)) continue;
    Task* p = NextHighest(k, cpu);
    if (!p || p->rt->prio >= rqs_[cpu].highest_prio()) continue;
    // Waking on its CPU and about to preempt there: leave it.
    if (p->rt->prio < CurrPrio(k)) continue;
    move(p, cpu);
  }
}

}  // namespace kreplay::sched
