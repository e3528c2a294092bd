// Internal to the scheduler models: one CPU's CFS runqueue, as in Linaro LSK
// 3.10 kernel/sched/fair.c. Exposed in a header so tests can drive it alone.
//
// Mirrors: update_curr() (vruntime += delta * NICE_0_LOAD / weight),
// __sched_period()/sched_slice()/sched_vslice(), place_entity() (START_DEBIT
// for new tasks, GENTLE_FAIR_SLEEPERS half-latency sleeper credit),
// update_min_vruntime(), check_preempt_tick() and wakeup_preempt_entity().
// min_vruntime moves only where 3.10 calls update_min_vruntime(): in
// update_curr() and at the end of dequeue_entity(), which runs while
// cfs_rq->curr is still set (so a sleeping curr still counts), and it is
// min(curr, leftmost), never below its old value. __enqueue_entity(),
// set_next_entity() and put_prev_entity() leave it alone: picking a task does
// not move min_vruntime past it.
// The same runqueue serves mainline CFS (5.15 .. 6.5, MainlineCfsRq) with
// the rules that changed since 3.10 switched on by CfsRules.
// Simplified: no group scheduling (every entity is a task); no NEXT/LAST
// buddies; calc_delta_fair() divides exactly instead of using the kernel's
// 32-bit inverse weights (differences are below 1 ns per update).
//
// The queue holds the runnable entities *other than* the running one (like
// the kernel's rb-tree, which drops `curr`); it is an intrusive binary heap
// keyed by (vruntime, id), so no allocation happens per operation once the
// heap's storage has grown to the task count. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "services/core/status.h"
#include "services/sim/time.h"
#include "workers/models/sched/mainline_version.h"

namespace kreplay::sched {

inline constexpr uint32_t kNiceZeroWeight = 1024;

// calc_delta_fair(): delta * NICE_0_LOAD / weight.
inline int64_t CalcDeltaFair(int64_t delta, uint32_t weight) {
  if (weight == kNiceZeroWeight) return delta;
  return delta * static_cast<int64_t>(kNiceZeroWeight) / static_cast<int64_t>(weight);
}
// sched_prio_to_weight (kernel/sched/core.c prio_to_weight[] in 3.10).
uint32_t NiceToWeight(int nice);

// What mainline fair.c changed in CFS after 3.10; all off is LSK 3.10.
struct CfsRules {
  // update_min_vruntime() counts curr only while curr->on_rq (4.10+), so a
  // sleeping curr no longer holds min_vruntime back at its dequeue.
  bool curr_on_rq_only = false;
  // sched_slice() BASE_SLICE (5.13+): a slice never below min_granularity.
  bool base_slice = false;
  // SCHED_IDLE entities (5.15+): place_entity() credits a sleeping idle
  // entity min_granularity instead of latency (before the GENTLE halving),
  // and its BASE_SLICE floor is sysctl_sched_idle_min_granularity unless
  // every entity on the runqueue is idle.
  bool idle_entities = false;
  // check_preempt_tick() caps the ideal runtime at sched_latency (6.3+,
  // "sched/fair: Limit sched slice duration").
  bool tick_slice_capped = false;
};

// The rules of mainline CFS release `v` (kOldest..kNewestMainlineCfs).
CfsRules MainlineCfsRules(const MainlineVersion& v);

// CFS tunables after SCHED_TUNABLESCALING_LOG scaling (kernel/sched/core.c
// update_sysctl(): factor 1 + ilog2(min(ncpus, 8))).
struct CfsTunables {
  sim::Duration latency = 6 * sim::kMs;
  sim::Duration min_granularity = 750 * sim::kUs;
  sim::Duration wakeup_granularity = 1 * sim::kMs;
  int64_t nr_latency = 8;  // latency / min_granularity
  // sysctl_sched_idle_min_granularity (5.15+): 0.75 ms, not CPU-scaled.
  sim::Duration idle_min_granularity = 750 * sim::kUs;
  CfsRules rules;
};
int TunableScaleFactor(int ncpus);
// Kernel defaults scaled for `ncpus`; a non-zero override replaces the scaled
// value (0 = default), as writing the sysctl would.
CfsTunables ScaledCfsTunables(int ncpus, sim::Duration latency_override = 0,
                              sim::Duration min_gran_override = 0, sim::Duration wakeup_gran_override = 0);

// The CFS part of a task. Owned by the caller; the runqueue keeps pointers.
struct SchedEntity {
  uint32_t id = 0;            // tie-break: lower id first at equal vruntime
  uint32_t weight = kNiceZeroWeight;
  int64_t vruntime = 0;
  int64_t sum_exec = 0;       // ns of CPU time
  int64_t prev_sum_exec = 0;  // sum_exec when last picked (slice accounting)
  int32_t heap_pos = -1;      // position in the queue, -1 if not queued
  bool idle = false;          // SCHED_IDLE (read only under CfsRules::idle_entities)
};

class CfsRq {
 public:
  explicit CfsRq(const CfsTunables& t) : t_(t) {}

  // The running entity (not in the queue) or nullptr.
  SchedEntity* curr() const { return curr_; }
  // Runnable entities including curr (cfs_rq->nr_running).
  int nr_running() const { return static_cast<int>(heap_.size()) + (curr_ ? 1 : 0); }
  // The same on this base (no delayed dequeue); EevdfRq's counterpart
  // leaves delayed entities out.
  int nr_runnable() const { return nr_running(); }
  // Sum of weights of runnable entities including curr (cfs_rq->load.weight).
  uint64_t load() const { return load_; }
  int64_t min_vruntime() const { return min_vruntime_; }
  SchedEntity* leftmost() const { return heap_.empty() ? nullptr : heap_[0]; }
  int queued() const { return static_cast<int>(heap_.size()); }
  SchedEntity* queued_at(int i) const { return heap_[i]; }
  const CfsTunables& tunables() const { return t_; }

  // Charges `delta_exec` ns to curr (update_curr()). REQUIRES: curr.
  // Inline: the models call it on most events.
  void UpdateCurr(sim::Duration delta_exec) {
    KREPLAY_CHECK(curr_ != nullptr, "UpdateCurr without a running entity");
    if (delta_exec <= 0) return;
    curr_->sum_exec += delta_exec;
    curr_->vruntime += CalcDeltaFair(delta_exec, curr_->weight);
    UpdateMinVruntime();
  }
  // place_entity(): `initial` for a new task (START_DEBIT), else a wake-up
  // (sleeper credit of latency/2). Does not enqueue.
  void PlaceEntity(SchedEntity* se, bool initial) const;
  // Adds a runnable entity to the queue (not as curr): __enqueue_entity(),
  // which leaves min_vruntime as it is (enqueue_entity()'s update_curr() is
  // the caller's UpdateCurr()).
  void Enqueue(SchedEntity* se);
  // Removes a queued entity (not curr); dequeue_entity(): min_vruntime is
  // updated afterwards, curr included.
  void Dequeue(SchedEntity* se);
  // pick_next_entity() + set_next_entity(): leftmost becomes curr;
  // min_vruntime is not touched. REQUIRES: no curr. Returns nullptr if the
  // queue is empty.
  SchedEntity* PickNext();
  // put_prev_entity(): curr goes back into the queue (preemption);
  // min_vruntime is not touched.
  void PutPrev();
  // curr stops being runnable (sleep, exit, migration of the running task):
  // dequeue_entity() of curr, whose update_min_vruntime() still sees curr
  // in 3.10 (and not, once off the runqueue, under curr_on_rq_only).
  void DequeueCurr();
  // The first min(k, queued()) queued entities in pick order (vruntime, then
  // id), as an rb-tree walk from the leftmost would give them; writes them to
  // `out` and returns how many. For the HMP searches over the first
  // hmp_max_tasks entities. REQUIRES: k <= kMaxFirstQueued.
  static constexpr int kMaxFirstQueued = 8;
  int FirstQueued(int k, SchedEntity** out) const;

  // __sched_period(nr_running).
  sim::Duration Period(int nr_running) const;
  // sched_slice(): wall-clock slice of `se` (assumed queued or curr).
  sim::Duration Slice(const SchedEntity* se) const;
  // sched_vslice() of an entity about to join: the slice it would get, in
  // virtual time.
  int64_t VSliceIfAdded(const SchedEntity* se) const;
  // check_preempt_tick(): should curr be preempted at this tick?
  bool TickPreempt() const;
  // wakeup_preempt_entity(curr, se) > 0: should a waking `se` preempt curr?
  bool WakeupPreempt(const SchedEntity* se) const;

 private:
  // `curr_counts`: false when curr has just left the runqueue and the
  // rules say update_min_vruntime() then ignores it.
  void UpdateMinVruntime(bool curr_counts = true) {
    int64_t v = min_vruntime_;
    bool have = false;
    if (curr_ && curr_counts) {
      v = curr_->vruntime;
      have = true;
    }
    if (!heap_.empty()) v = have ? std::min(v, heap_[0]->vruntime) : heap_[0]->vruntime;
    // Monotonic: min_vruntime never goes backwards.
    min_vruntime_ = std::max(min_vruntime_, v);
  }
  static bool Less(const SchedEntity* a, const SchedEntity* b) {
    return a->vruntime != b->vruntime ? a->vruntime < b->vruntime : a->id < b->id;
  }
  void SiftUp(int i);
  void SiftDown(int i);
  void Place(int i, SchedEntity* se) {
    heap_[i] = se;
    se->heap_pos = i;
  }

  CfsTunables t_;
  std::vector<SchedEntity*> heap_;
  SchedEntity* curr_ = nullptr;
  uint64_t load_ = 0;
  int64_t min_vruntime_ = 0;
  int idle_nr_ = 0;  // SCHED_IDLE entities runnable, curr included (cfs_rq->idle_nr_running)
};

// The mainline (5.15 .. 6.5) instance: the same runqueue under
// MainlineCfsRules(); a type of its own so that the core it runs in is the
// mainline one (sched_core.h FairRqTypes).
class MainlineCfsRq final : public CfsRq {
 public:
  using CfsRq::CfsRq;
};

}  // namespace kreplay::sched
