// Internal to the scheduler models: one CPU's deadline runqueue
// (SCHED_DEADLINE) and the deadline entity's arithmetic, as in
// kernel/sched/deadline.c (mainline v5.15..v6.x; the rules mirrored here
// did not change in that span unless noted). Exposed so tests can drive it
// alone; the class logic (placement, push/pull, timers) is dl_class.h.
//
// Mirrors:
// - struct sched_dl_entity: dl_runtime, dl_deadline, dl_period, dl_bw =
//   to_ratio(dl_period, dl_runtime), dl_density = to_ratio(dl_deadline,
//   dl_runtime) (__setparam_dl()); the current runtime and absolute
//   deadline; dl_throttled; dl_non_contending (GRUB's "active non
//   contending" state, which running_bw follows even without reclaiming);
// - the dl_rq rb-tree ordered by absolute deadline (__dl_less(),
//   dl_time_before()); equal deadlines in enqueue order, as rb_add_cached()
//   puts an equal key to the right. The running task stays in the tree
//   (pick_next_dl_entity() does not remove it); a throttled one leaves it;
// - earliest_dl.curr (the leftmost) and earliest_dl.next (the earliest
//   pushable: queued, not running);
// - rq->dl.running_bw (add_running_bw()/sub_running_bw());
// - setup_new_dl_entity(), update_dl_entity() with dl_entity_overflow() and
//   update_dl_revised_wakeup(), replenish_dl_entity(), dl_next_period(),
//   the 0-lag time of task_non_contending(), dl_check_constrained_dl()'s
//   test, the runtime scaling of update_curr_dl() (without
//   SCHED_FLAG_RECLAIM), dl_task_fits_capacity(), __dl_overflow().
// Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace kreplay::sched {

inline constexpr int kDlScale = 10;  // DL_SCALE
inline constexpr int kBwShift = 20;  // BW_SHIFT
inline constexpr uint64_t kBwUnit = uint64_t{1} << kBwShift;

// to_ratio(): runtime / period in BW_SHIFT fixed point.
inline uint64_t ToRatio(uint64_t period, uint64_t runtime) {
  return period == 0 ? 0 : (runtime << kBwShift) / period;
}
// dl_time_before(): a before b, wrap-safe.
inline bool DlTimeBefore(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)) < 0;
}
// cap_scale(): v * s >> SCHED_CAPACITY_SHIFT.
inline int64_t CapScale(int64_t v, uint32_t s) { return (v * static_cast<int64_t>(s)) >> 10; }

// The deadline part of a task (struct sched_dl_entity). Owned by the caller.
struct DlEntity {
  uint32_t id = 0;
  // Parameters (sched_attr), ns; dl_period already defaulted to the deadline.
  int64_t dl_runtime = 0;
  int64_t dl_deadline = 0;
  int64_t dl_period = 0;
  uint64_t dl_bw = 0;       // to_ratio(dl_period, dl_runtime)
  uint64_t dl_density = 0;  // to_ratio(dl_deadline, dl_runtime)
  // State.
  int64_t runtime = 0;   // left in the current instance (may go negative)
  int64_t deadline = 0;  // absolute
  bool throttled = false;       // dl_throttled: out of runtime, waiting for the replenishment timer
  bool non_contending = false;  // blocked before its 0-lag time: still in running_bw
  bool on_rq = false;           // in a DlRq's tree
  // The core's timers (sim::EventId, 0: none): dl_timer and inactive_timer.
  uint64_t timer_event = 0;
  uint64_t inactive_event = 0;

  // __setparam_dl(). REQUIRES: workload::DeadlineParamsError() accepted them.
  void SetParams(int64_t runtime_ns, int64_t deadline_ns, int64_t period_ns);
  bool Implicit() const { return dl_deadline == dl_period; }  // dl_is_implicit()
};

// setup_new_dl_entity(): a new instance from `now`.
void SetupNewDlEntity(DlEntity* e, int64_t now);
// dl_entity_overflow(): would the runtime left, spent by the deadline, use
// more bandwidth than dl_runtime / dl_deadline? As the kernel computes it,
// in 1024-ns units: (dl_deadline >> 10) * (runtime >> 10) against
// ((deadline - now) >> 10) * (dl_runtime >> 10).
bool DlEntityOverflow(const DlEntity& e, int64_t now);
// update_dl_entity() at a wake-up: if the deadline has passed or the
// entity would overflow, a new instance (replenish_dl_new_period()), except
// for a constrained entity (dl_deadline < dl_period) whose deadline has not
// passed: update_dl_revised_wakeup() (runtime = dl_density x laxity,
// deadline kept).
void UpdateDlEntity(DlEntity* e, int64_t now);
// dl_check_constrained_dl()'s test: a constrained entity woken after its
// deadline but before its next period is throttled until then.
bool DlConstrainedWakeThrottles(const DlEntity& e, int64_t now);
// replenish_dl_entity(): deadline += dl_period and runtime += dl_runtime
// until runtime > 0; a deadline still in the past then restarts from
// `now`. Clears throttled.
void ReplenishDlEntity(DlEntity* e, int64_t now);
// dl_next_period(): where the replenishment timer fires (start_dl_timer()).
inline int64_t DlNextPeriod(const DlEntity& e) { return e.deadline - e.dl_deadline + e.dl_period; }
// task_non_contending()'s 0-lag time: deadline - runtime * dl_period /
// dl_runtime (div64_long, truncating).
int64_t DlZeroLagTime(const DlEntity& e);
// update_curr_dl() without SCHED_FLAG_RECLAIM: the wall delta scaled by
// arch_scale_freq_capacity() then arch_scale_cpu_capacity() (cap_scale()
// twice).
inline int64_t DlScaledDelta(int64_t delta, uint32_t freq_cap, uint32_t cpu_cap) {
  return CapScale(CapScale(delta, freq_cap), cpu_cap);
}
// dl_task_fits_capacity() (5.9+): cap_scale(dl_deadline, capacity) >= dl_runtime.
inline bool DlTaskFitsCapacity(const DlEntity& e, uint32_t cap) { return CapScale(e.dl_deadline, cap) >= e.dl_runtime; }
// dl_entity_preempt() for tasks: a's deadline strictly before b's.
inline bool DlEntityPreempt(const DlEntity& a, const DlEntity& b) { return DlTimeBefore(a.deadline, b.deadline); }

// Admission (sched_dl_overflow() -> __dl_overflow()): the root domain's
// limit dl_b->bw = to_ratio(sched_rt_period_us, sched_rt_runtime_us) (the
// defaults, 1 s and 0.95 s: 996147 of 1 << 20) scaled by the capacity
// dl_bw_capacity() (cap_scale()); overflow when that is below
// total_bw + new_bw.
inline uint64_t DlGlobalBw() { return ToRatio(1'000'000'000, 950'000'000); }
inline bool DlOverflow(uint64_t total_bw, uint64_t new_bw, uint64_t capacity) {
  return (DlGlobalBw() * capacity >> 10) < total_bw + new_bw;
}

class DlRq {
 public:
  int nr_running() const { return static_cast<int>(q_.size()); }
  // __enqueue_dl_entity(). REQUIRES: !e->on_rq.
  void Enqueue(DlEntity* e);
  // __dequeue_dl_entity(). REQUIRES: e->on_rq.
  void Dequeue(DlEntity* e);
  // pick_next_dl_entity(): the leftmost (it stays queued while it runs);
  // nullptr if empty.
  DlEntity* PickNext() const { return q_.empty() ? nullptr : q_.front(); }
  // is_leftmost().
  bool IsLeftmost(const DlEntity* e) const { return !q_.empty() && q_.front() == e; }
  // earliest_dl.curr: the leftmost deadline. REQUIRES: nr_running() > 0.
  int64_t earliest() const { return q_.front()->deadline; }
  // pick_next_pushable_dl_task() / earliest_dl.next: the earliest queued
  // entity other than `running`; nullptr if none.
  DlEntity* EarliestPushable(const DlEntity* running) const {
    for (DlEntity* e : q_) {
      if (e != running) return e;
    }
    return nullptr;
  }
  // The queue in deadline order (tests).
  const std::vector<DlEntity*>& queue() const { return q_; }

  // rq->dl.running_bw.
  uint64_t running_bw() const { return running_bw_; }
  void AddRunningBw(uint64_t bw) { running_bw_ += bw; }
  void SubRunningBw(uint64_t bw) { running_bw_ = bw > running_bw_ ? 0 : running_bw_ - bw; }

 private:
  // Sorted by deadline, equal deadlines in enqueue order (upper_bound):
  // deadline tasks are few per CPU, so a vector beats a tree here.
  std::vector<DlEntity*> q_;
  uint64_t running_bw_ = 0;
};

}  // namespace kreplay::sched
