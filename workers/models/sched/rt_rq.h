// Internal to the scheduler models: one CPU's real-time runqueue (SCHED_FIFO
// and SCHED_RR), as in kernel/sched/rt.c (the rules are the same from 3.10
// to 6.18 for what is mirrored here). Exposed so tests can drive it alone.
//
// Mirrors:
// - struct rt_prio_array: one FIFO list per priority and a bitmap of the
//   non-empty ones; the kernel priority is MAX_RT_PRIO-1 - rt_priority, so
//   rt_priority 99 is the most urgent (sched_setscheduler(2));
// - enqueue_task_rt()/dequeue_task_rt(): a woken task joins the tail of its
//   list (ENQUEUE_HEAD only for a task put back by a class change, which the
//   models do not do); the running task stays on its list, as in the kernel,
//   so preemption by a higher priority does not move it;
// - pick_next_rt_entity(): the head of the highest non-empty list;
// - requeue_task_rt(): to the tail of its list (SCHED_RR slice expiry,
//   sched_yield());
// - task_tick_rt(): SCHED_RR loses one tick of its slice, which is counted
//   in ticks (sched_rr_timeslice = RR_TIMESLICE = 100 * HZ / 1000 jiffies,
//   100 ms); at zero the slice is refilled and, if another task shares its priority, it goes to the tail
//   and the CPU reschedules; SCHED_FIFO has no slice;
// - wakeup_preempt_rt() (check_preempt_curr_rt()): a strictly more urgent
//   wakee preempts; an equal one waits.
// The class order (stop > deadline > rt > fair > idle) is the core's: any
// queued RT task runs before every fair one.
// Simplified: no RT group scheduling and no RT throttling
// (sched_rt_runtime_us; since 6.12 the fair server reserves fair time
// instead): both only matter when RT tasks would starve the CPU, which a
// study should see, not have masked. Not thread-safe.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace kreplay::sched {

inline constexpr int kMaxRtPrio = 100;  // MAX_RT_PRIO
inline constexpr int kDlPrio = -1;      // MAX_DL_PRIO - 1: a deadline task's prio, above every RT one
// RR_TIMESLICE in ticks at `hz` (at least one).
inline int RrTimesliceTicks(int hz) { return 100 * hz / 1000 > 0 ? 100 * hz / 1000 : 1; }

// The RT part of a task (struct sched_rt_entity). Owned by the caller.
struct RtEntity {
  uint32_t id = 0;
  int prio = kMaxRtPrio - 1;  // kernel priority 0..99, lower is more urgent
  bool rr = false;            // SCHED_RR (else SCHED_FIFO)
  int time_slice = 0;         // ticks left of the RR slice (set by RtRq::Enqueue() if 0)
  RtEntity* prev = nullptr;   // list links while queued
  RtEntity* next = nullptr;
  bool on_rq = false;
};

// The kernel priority of rt_priority 1..99 (MAX_RT_PRIO-1 - rt_priority).
inline int RtPrio(int rt_priority) { return kMaxRtPrio - 1 - rt_priority; }

class RtRq {
 public:
  explicit RtRq(int rr_timeslice_ticks) : rr_ticks_(rr_timeslice_ticks) {}
  RtRq(const RtRq&) = delete;
  RtRq& operator=(const RtRq&) = delete;
  RtRq(RtRq&&) = default;

  int nr_running() const { return nr_; }
  // The most urgent queued priority, kMaxRtPrio if none
  // (rt_rq->highest_prio.curr).
  int highest_prio() const;

  // enqueue_rt_entity(): to the tail of its priority's list.
  void Enqueue(RtEntity* se);
  // dequeue_rt_entity(). REQUIRES: se->on_rq.
  void Dequeue(RtEntity* se);
  // pick_next_rt_entity(): the head of the most urgent list (it stays
  // queued while it runs). nullptr if empty.
  RtEntity* PickNext() const;
  // requeue_task_rt(): to the tail of its list. REQUIRES: se->on_rq.
  void Requeue(RtEntity* se);
  // task_tick_rt() for the running `curr` at a tick: true if the CPU must
  // reschedule (its RR slice ran out and another task of its priority
  // waits; it was requeued to the tail).
  bool Tick(RtEntity* curr);
  // wakeup_preempt_rt(): does waking `se` preempt the running `curr`?
  static bool WakeupPreempt(const RtEntity* curr, const RtEntity* se) { return se->prio < curr->prio; }
  // The first queued entity, most urgent priority first and in list order
  // within a priority, for which `pred` holds; nullptr if none. The walk of
  // pick_next_pushable_task() (the pushable list is ordered the same way)
  // and pick_next_highest_task_rt().
  template <class Pred>
  RtEntity* FindFirst(Pred&& pred) const {
    for (int w = 0; w < 2; ++w) {
      for (uint64_t bits = bitmap_[w]; bits; bits &= bits - 1) {
        for (RtEntity* e = lists_[w * 64 + std::countr_zero(bits)].head; e; e = e->next) {
          if (pred(e)) return e;
        }
      }
    }
    return nullptr;
  }

 private:
  struct List {
    RtEntity* head = nullptr;
    RtEntity* tail = nullptr;
  };
  void Unlink(RtEntity* se);
  void Append(RtEntity* se);

  std::array<List, kMaxRtPrio> lists_{};
  std::array<uint64_t, 2> bitmap_{};  // bit p set: lists_[p] not empty
  int nr_ = 0;
  int rr_ticks_;
};

}  // namespace kreplay::sched
