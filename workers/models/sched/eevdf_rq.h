// Internal to the scheduler models: one CPU's fair runqueue under EEVDF, as in
// mainline kernel/sched/fair.c from v6.6 to v6.18. The sibling of CfsRq
// (cfs_rq.h, LSK 3.10): the same shape of interface, so that a core templated
// on the runqueue type can hold either. Exposed in a header so tests can
// drive it alone; no core runs it yet (see eevdf_pick.h for how one will).
//
// Mirrors (fair.c; the version where a rule changed is named):
//  - avg_vruntime(): V = sum w_i v_i / sum w_i over the queued entities and
//    curr, kept incrementally as sum w_i (v_i - min_vruntime) and sum w_i
//    (avg_vruntime_add/sub(), __update_min_vruntime() shifting the sum when
//    min_vruntime moves), divided with the kernel's floor. min_vruntime is
//    the reference, as in 6.6..6.18; 6.19 replaced it with zero_vruntime
//    (79f3f9bedd14, also backported to 6.12.y/6.18.y): V and every
//    eligibility test are the same exact integers whatever the reference, so
//    only min_vruntime() itself would differ.
//  - entity_eligible()/vruntime_eligible(): sum w_j (v_j - ref) >=
//    (v_i - ref) * W, exact (no division).
//  - update_entity_lag(): vlag = V - v_i clamped to +-calc_delta_fair(limit):
//    limit = max(2 * slice, TICK_NSEC) in 6.6..6.16, the largest slice on the
//    queue + TICK_NSEC from 6.17 (Vincent Guittot's "manage lag and run to
//    parity with different slices" series, tip sched/core July 2025).
//  - place_entity(): PLACE_LAG (the saved lag scaled by (W + w_i) / W so it
//    survives the entity's own effect on V), PLACE_DEADLINE_INITIAL (a new
//    task's first deadline is half a slice away), PLACE_REL_DEADLINE (6.12+:
//    a migrating entity keeps its deadline relative to its vruntime).
//  - update_curr() + update_deadline(): vruntime += delta * 1024 / w; once
//    vruntime reaches the deadline, the slice is renewed (base slice unless a
//    custom one) and the deadline moved to vruntime + slice * 1024 / w, and a
//    reschedule is requested if others are queued. From 6.12 also when curr
//    lost its slice protection to a shorter-slice wakee and is no longer
//    eligible (did_preempt_short()); from 6.17 whenever curr is past its
//    protected horizon (!protect_slice()).
//  - pick_eevdf(): the eligible entity with the earliest virtual deadline;
//    curr stays while RUN_TO_PARITY protects it (6.6..6.16: until its
//    deadline is renewed, the "vlag == deadline" mark of set_next_entity();
//    6.17+: until vprot = min(deadline, v + min slice on the queue / w), and
//    with NO_RUN_TO_PARITY until v + normalized base slice / w).
//  - check_preempt_wakeup_fair(): preempt when pick_eevdf() would pick the
//    wakee. PREEMPT_SHORT: 6.12..6.16 cancel curr's protection first if the
//    wakee has a shorter slice, is eligible and has an earlier deadline (or
//    curr is ineligible) (do_preempt_short()); 6.17+ pick without curr's
//    protection when the wakee's slice is shorter, cancel it only if the
//    wakee wins, else shrink it to the new min slice
//    (update_protect_slice()).
//  - DELAY_DEQUEUE (6.12+): a task going to sleep while not eligible stays
//    queued, marked delayed, still in V, the load and nr_running (the
//    kernel's cfs_rq->nr_running, nr_queued from 6.14), out of
//    nr_runnable() (h_nr_runnable); when pick_eevdf() chooses it, it is
//    dequeued instead of run (pick_next_entity() with DEQUEUE_DELAYED) and
//    DELAY_ZERO clips a positive lag to 0; a wake-up before that requeues it
//    (requeue_delayed_entity() from ttwu_runnable(): DELAY_ZERO re-places it
//    at lag 0 if it has become owed service).
//  - __setparam_fair() (6.12+): sched_attr.sched_runtime as a custom slice,
//    clamped to [0.1 ms, 100 ms].
//
// Simplified, with the reason:
//  - The runqueue knows no hierarchy: an entity is a task or, with
//    EevdfEntity::my_q set, a group entity owning its own EevdfRq (a
//    task_group's per-CPU cfs_rq), which group_sched.h walks; the runqueue
//    itself never reads my_q.
//  - No NEXT buddy (NEXT_BUDDY is off by default; PICK_BUDDY then never
//    fires), no SCHED_IDLE/SCHED_BATCH special cases, no reweight of a queued
//    entity (renice), no bandwidth throttling, no HRTICK (off by default).
//  - calc_delta_fair() divides exactly instead of using 32-bit inverse
//    weights (below 1 ns per update), as CfsRq does.
//  - The queue is a vector sorted by (deadline, insertion order), stored
//    latest first, with an O(n) scan from the earliest deadline for the
//    first eligible entity instead of the augmented rb-tree; ties at equal deadlines resolve as the rb-tree of 6.8+ does
//    (earlier-inserted first, curr only if strictly earlier). 6.6/6.7 sorted
//    the tree by vruntime and searched min_deadline: the same pick except
//    between entities with equal deadlines. Cost: see eevdf_rq.cc.
//  - A delayed entity never stays curr: DequeueCurr() puts it back in the
//    queue at once (the kernel leaves it curr until __schedule()'s
//    put_prev_entity(), which happens before any other runqueue operation).
//  - The reschedule request of update_curr()/wakeup preemption is a latch
//    (NeedResched()) that the core reads; the kernel sets TIF_NEED_RESCHED.
//
// The caller owns entities; the runqueue keeps pointers. Nothing allocates
// per operation once the queue's storage has grown to the task count. Not
// thread-safe; one instance per simulated CPU.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "services/core/status.h"
#include "services/sim/time.h"
#include "workers/models/sched/cfs_rq.h"  // kNiceZeroWeight, CalcDeltaFair, NiceToWeight, TunableScaleFactor
#include "workers/models/sched/mainline_version.h"

namespace kreplay::sched {

class EevdfRq;

// Rules that changed between releases, each named after the kernel code.
enum class EevdfLagClamp : uint8_t {
  kTwiceSliceOrTick,  // 6.6..6.16: calc_delta_fair(max(2 * se->slice, TICK_NSEC))
  kMaxSlicePlusTick,  // 6.17+: calc_delta_fair(cfs_rq_max_slice() + TICK_NSEC)
};
enum class EevdfProtect : uint8_t {
  kUntilDeadline,  // 6.6..6.16: protected until the deadline is renewed; only with RUN_TO_PARITY
  kMinSlice,       // 6.17+: vprot from the shortest slice on the queue (set/update_protect_slice())
};
enum class EevdfShortWakeup : uint8_t {
  kNone,              // 6.6..6.11: no PREEMPT_SHORT
  kCancelThenPick,    // 6.12..6.16: do_preempt_short() + did_preempt_short()
  kPickUnprotected,   // 6.17+: __pick_eevdf(!do_preempt_short), update_protect_slice()
};

// kernel/sched/features.h switches, with the version's default.
struct EevdfFeatures {
  bool place_lag = true;               // PLACE_LAG
  bool place_deadline_initial = true;  // PLACE_DEADLINE_INITIAL
  bool place_rel_deadline = false;     // PLACE_REL_DEADLINE (6.12+)
  bool run_to_parity = true;           // RUN_TO_PARITY
  bool preempt_short = false;          // PREEMPT_SHORT (6.12+)
  bool delay_dequeue = false;          // DELAY_DEQUEUE (6.12+)
  bool delay_zero = false;             // DELAY_ZERO (6.12+)
};

// What EevdfRq needs to know about the kernel it mirrors.
struct EevdfTraits {
  MainlineVersion version;
  // sysctl_sched_base_slice before and after update_sysctl()'s
  // 1 + ilog2(min(ncpus, 8)) scaling: 0.75 ms in 6.6..6.14, 0.70 ms from
  // 6.15 (2ae891b82695, "Reduce the default slice to avoid tasks getting an
  // extra tick"; the factor still applies).
  sim::Duration normalized_base_slice = 750 * sim::kUs;
  sim::Duration base_slice = 750 * sim::kUs;
  // TICK_NSEC. CONFIG_HZ defaults to 250 (kernel/Kconfig.hz).
  sim::Duration tick = 4 * sim::kMs;
  bool custom_slice = false;  // sched_attr.sched_runtime sets the slice (6.12+)
  EevdfLagClamp lag_clamp = EevdfLagClamp::kTwiceSliceOrTick;
  EevdfProtect protect = EevdfProtect::kUntilDeadline;
  EevdfShortWakeup short_wakeup = EevdfShortWakeup::kNone;
  EevdfFeatures features;

  // InvalidArgument if a feature is switched on in a release that does not
  // have it (e.g. DELAY_DEQUEUE before 6.12), or the durations are not
  // positive.
  Status Validate() const;
};

// The traits of mainline release `kernel_version` ("6.6" .. "6.18") on a
// machine of `ncpus` online CPUs with CONFIG_HZ `hz`, every feature at the
// release's default. InvalidArgument for an unknown or too-old release.
StatusOr<EevdfTraits> MainlineEevdfTraits(std::string_view kernel_version, int ncpus, int hz = 250);

// The EEVDF part of a task (struct sched_entity). Owned by the caller.
struct EevdfEntity {
  uint32_t id = 0;  // the task's index; for messages and the core's lookups
  uint32_t weight = kNiceZeroWeight;
  int64_t vruntime = 0;
  int64_t deadline = 0;  // virtual; relative to vruntime while rel_deadline
  int64_t vlag = 0;      // V - vruntime saved at dequeue (se->vlag)
  int64_t vprot = 0;     // protected horizon while curr (se->vprot; the vlag mark before 6.17)
  sim::Duration slice = 0;  // request r_i, ns (se->slice)
  int64_t sum_exec = 0;     // ns of CPU time
  int64_t prev_sum_exec = 0;
  bool custom_slice = false;
  bool rel_deadline = false;
  bool on_rq = false;     // queued or curr
  bool delayed = false;   // sched_delayed: asleep but still queued
  uint64_t seq = 0;       // queue insertion order (rb-tree tie-break)
  EevdfRq* my_q = nullptr;  // a group entity's own runqueue (group_sched.h); null for a task
};

class EevdfRq {
 public:
  // REQUIRES: t.Validate().ok().
  explicit EevdfRq(const EevdfTraits& t);

  // Called with each delayed entity that a pick or a Dequeue() finally
  // removed (the kernel's __block_task()): its task is now blocked.
  using BlockedHook = void (*)(void* ctx, EevdfEntity* se);
  void set_blocked_hook(BlockedHook fn, void* ctx) {
    blocked_hook_ = fn;
    blocked_ctx_ = ctx;
  }

  // The running entity (not in the queue) or nullptr.
  EevdfEntity* curr() const { return curr_; }
  // Entities on the runqueue including curr and delayed ones
  // (cfs_rq->nr_running; nr_queued from 6.14).
  int nr_running() const { return nr_running_; }
  // nr_running() less the delayed entities (h_nr_runnable, 6.14+).
  int nr_runnable() const { return nr_running() - nr_delayed_; }
  // Sum of weights of the entities counted by nr_running()
  // (cfs_rq->load.weight).
  uint64_t load() const { return load_; }
  int64_t min_vruntime() const { return min_vruntime_; }
  // Queued entities (not curr) in (deadline, insertion) order.
  int queued() const { return static_cast<int>(queue_.size()); }
  EevdfEntity* queued_at(int i) const { return queue_[queue_.size() - 1 - static_cast<size_t>(i)].se; }
  const EevdfTraits& traits() const { return t_; }

  // update_curr(): charges `delta_exec` ns to curr, renews its deadline once
  // reached and may request a reschedule. REQUIRES: curr. Inline (below):
  // the core calls it on almost every event.
  void UpdateCurr(sim::Duration delta_exec);
  // The reschedule request of the last UpdateCurr()/WakeupPreempt() since
  // curr was picked (resched_curr()); cleared by PickNext(), PutPrev() and
  // DequeueCurr(). The core should act on it after any UpdateCurr().
  bool NeedResched() const { return resched_; }
  // The tick's question: with update_curr() done by the core at the tick,
  // did it ask for a reschedule? (entity_tick() does no other test.)
  bool TickPreempt() const { return resched_; }

  // avg_vruntime(): V, including curr.
  int64_t AvgVruntime() const;
  // entity_eligible(): lag >= 0, i.e. v_i <= V, exactly.
  bool Eligible(const EevdfEntity* se) const { return VruntimeEligible(se->vruntime); }
  bool VruntimeEligible(int64_t vruntime) const;

  // __setparam_fair(): `sched_runtime` ns as a custom slice (clamped to
  // [0.1 ms, 100 ms]); 0 restores the base slice. No effect before 6.12,
  // where fair tasks ignored sched_runtime. Takes effect at the next
  // placement or deadline renewal, as in the kernel.
  void SetSchedRuntime(EevdfEntity* se, sim::Duration sched_runtime) const;

  // place_entity(): sets vruntime, slice and deadline of an entity about to
  // join; `initial` for a new task (ENQUEUE_INITIAL). Uses se->vlag (0 for a
  // new task). Does not enqueue. REQUIRES: !se->on_rq.
  void PlaceEntity(EevdfEntity* se, bool initial);
  // Adds a placed entity to the queue (not as curr).
  void Enqueue(EevdfEntity* se);
  // Removes a queued entity (not curr) that is not going to sleep:
  // migration (PLACE_REL_DEADLINE keeps its deadline relative). Saves its
  // lag. A delayed entity completes its delayed dequeue (hook called).
  void Dequeue(EevdfEntity* se);
  // pick_next_entity() + set_next_entity(): the entity to run becomes curr;
  // delayed entities chosen on the way are dequeued. REQUIRES: no curr.
  // nullptr if nothing runnable is left.
  EevdfEntity* PickNext();
  // put_prev_entity(): curr goes back into the queue (preemption).
  void PutPrev();
  // dequeue_entity() of curr, with update_curr() done by the caller. With
  // `sleep` and DELAY_DEQUEUE, an ineligible curr is kept queued as delayed
  // (returns false); otherwise it leaves (true) with its lag saved.
  bool DequeueCurr(bool sleep = true);
  // requeue_delayed_entity(): a delayed entity woke before being dequeued.
  // REQUIRES: se->delayed. The caller then asks WakeupPreempt(se).
  void Requeue(EevdfEntity* se);

  // pick_eevdf() as __schedule() would call it now (curr included, not
  // changing anything). nullptr if empty.
  EevdfEntity* PickEevdf(bool protect = true) const;
  // check_preempt_wakeup_fair() for a normal-policy wakee `se` already
  // placed and enqueued (or requeued), with update_curr() done by the
  // caller. May cancel or shrink curr's slice protection. Returns
  // NeedResched() afterwards; true without curr.
  bool WakeupPreempt(EevdfEntity* se);

  // Shortest/longest slice among curr and the queue (cfs_rq_min_slice()/
  // cfs_rq_max_slice()); ~0/0 if empty.
  sim::Duration MinSlice() const;
  sim::Duration MaxSlice() const;

 private:
  // A queued entity with the keys the queue reads, so that searches and
  // scans stay within the queue's own storage: a queued entity's deadline,
  // seq and vruntime do not change until it leaves.
  struct Node {
    int64_t deadline;
    uint64_t seq;
    int64_t vruntime;
    EevdfEntity* se;
  };
  void Insert(EevdfEntity* se);  // __enqueue_entity(): queue + sums
  void Erase(EevdfEntity* se);   // __dequeue_entity()
  void EraseAt(int i);           // Erase() of queue_[i]
  // PickEevdf() that also gives the queue_ index of the entity it returns
  // (-1 if that is curr or nothing).
  EevdfEntity* Pick(bool protect, int* index) const;
  // Inline; the rescan of the queue's smallest vruntime (after the entity
  // holding it left) is RecomputeQueueMin(), out of line.
  void UpdateMinVruntime();
  void RecomputeQueueMin();
  bool UpdateDeadline(EevdfEntity* se);
  void UpdateEntityLag(EevdfEntity* se);
  void SetProtectSlice(EevdfEntity* se);
  bool Protected(const EevdfEntity* se) const { return se->vruntime < se->vprot; }
  bool DoPreemptShort(const EevdfEntity* pse, const EevdfEntity* se) const;
  void FinishDelayedDequeue(EevdfEntity* se);
  sim::Duration QueueMinSlice() const;

  EevdfTraits t_;
  // By (deadline, seq), latest first: the earliest deadline, which most
  // picks take, is the back, so taking it moves nothing.
  std::vector<Node> queue_;
  EevdfEntity* curr_ = nullptr;
  uint64_t load_ = 0;
  int nr_running_ = 0;  // queue_.size() + (curr_ ? 1 : 0), kept with load_ (read on most events)
  int nr_delayed_ = 0;
  int64_t min_vruntime_ = 0;
  // Sums over the queue (not curr), relative to min_vruntime_
  // (cfs_rq->avg_vruntime / avg_load; sum_w_vruntime / sum_weight later).
  int64_t sum_wv_ = 0;
  int64_t sum_w_ = 0;
  // Smallest vruntime in the queue, kept on insert and recomputed when the
  // entity holding it leaves (queued vruntimes do not move).
  int64_t queue_min_v_ = 0;
  uint64_t seq_ = 0;
  bool queue_min_dirty_ = false;  // see queue_min_v_
  bool resched_ = false;
  BlockedHook blocked_hook_ = nullptr;
  void* blocked_ctx_ = nullptr;
};

// --- The per-event path, inline (defined here rather than in eevdf_rq.cc so
// that the core's UpdateCurr() needs no call).

inline bool EevdfRq::VruntimeEligible(int64_t vruntime) const {
  int64_t avg = sum_wv_;
  int64_t load = sum_w_;
  if (curr_) {
    avg += (curr_->vruntime - min_vruntime_) * static_cast<int64_t>(curr_->weight);
    load += curr_->weight;
  }
  return avg >= (vruntime - min_vruntime_) * load;
}

inline void EevdfRq::UpdateMinVruntime() {
  if (queue_min_dirty_) [[unlikely]] RecomputeQueueMin();
  int64_t v = min_vruntime_;
  if (curr_) v = curr_->vruntime;
  if (!queue_.empty()) v = curr_ ? std::min(v, queue_min_v_) : queue_min_v_;
  // Never backwards; the sums are re-based with the reference
  // (__update_min_vruntime(): avg_vruntime -= avg_load * delta).
  if (v > min_vruntime_) {
    sum_wv_ -= sum_w_ * (v - min_vruntime_);
    min_vruntime_ = v;
  }
}

inline bool EevdfRq::UpdateDeadline(EevdfEntity* se) {
  if (se->vruntime < se->deadline) return false;
  // vd_i = ve_i + r_i / w_i, with the slice renewed from the sysctl unless
  // the task asked for its own.
  if (!se->custom_slice) se->slice = t_.base_slice;
  se->deadline = se->vruntime + CalcDeltaFair(se->slice, se->weight);
  return true;
}

inline void EevdfRq::UpdateCurr(sim::Duration delta_exec) {
  KREPLAY_CHECK(curr_ != nullptr, "UpdateCurr without a running entity");
  if (delta_exec <= 0) return;
  EevdfEntity* c = curr_;
  c->sum_exec += delta_exec;
  c->vruntime += CalcDeltaFair(delta_exec, c->weight);
  bool resched = UpdateDeadline(c);
  UpdateMinVruntime();
  if (nr_running() == 1) return;
  switch (t_.short_wakeup) {
    case EevdfShortWakeup::kNone:
      break;
    case EevdfShortWakeup::kCancelThenPick:
      // did_preempt_short(): curr lost its protection (a shorter-slice
      // wakee cancelled it, or its deadline was renewed) and is no longer
      // eligible.
      resched = resched || (t_.features.preempt_short && !Protected(c) && !Eligible(c));
      break;
    case EevdfShortWakeup::kPickUnprotected:
      resched = resched || !Protected(c);
      break;
  }
  if (resched) resched_ = true;
}

}  // namespace kreplay::sched
