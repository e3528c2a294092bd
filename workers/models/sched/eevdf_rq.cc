#include "workers/models/sched/eevdf_rq.h"

#include <algorithm>
#include <limits>
#include <string>

#include "workers/models/sched/eevdf_pick.h"

// Cost of the queue (a sorted vector instead of the kernel's augmented
// rb-tree), stored latest deadline first: insert shifts the earlier
// deadlines up from the back, erase is a binary search (none after a pick,
// which knows the index) plus a shift of the earlier deadlines, none when a
// pick takes the earliest (the usual case: the back), and the pick scans
// from the earliest deadline for the first eligible entity (usually one of
// the first few). Stored earliest first, every pick moved the whole queue
// down by one (a memmove call), about twice the nodes inserts move now. Each
// slot holds the keys it is searched and scanned by, so none of this touches
// the entities themselves. With the few to few dozen tasks per CPU of the
// shipped workloads this is cheaper than a tree; sched_bench is the
// measure.

namespace kreplay::sched {
namespace {

constexpr sim::Duration kMinCustomSlice = sim::kMs / 10;  // __setparam_fair(): HZ=1000 * 10
constexpr sim::Duration kMaxCustomSlice = 100 * sim::kMs;  // HZ=100 / 10

}  // namespace

Status EevdfTraits::Validate() const {
  if (normalized_base_slice <= 0 || base_slice <= 0 || tick <= 0) {
    return InvalidArgument("EEVDF traits: base slice and tick must be positive");
  }
  const bool v612 = version.AtLeast(6, 12);
  struct Gate {
    bool on;
    const char* name;
  };
  for (const Gate& g : {Gate{features.place_rel_deadline, "PLACE_REL_DEADLINE"}, Gate{features.preempt_short, "PREEMPT_SHORT"},
                        Gate{features.delay_dequeue, "DELAY_DEQUEUE"}, Gate{features.delay_zero, "DELAY_ZERO"}}) {
    if (g.on && !v612) {
      return InvalidArgument(std::string("EEVDF feature ") + g.name + " does not exist in " + version.ToString() +
                             " (added in 6.12)");
    }
  }
  if (custom_slice && !v612) {
    return InvalidArgument("EEVDF traits: custom slices (sched_runtime) arrived in 6.12, not in " + version.ToString());
  }
  return OkStatus();
}

StatusOr<EevdfTraits> MainlineEevdfTraits(std::string_view kernel_version, int ncpus, int hz) {
  KREPLAY_ASSIGN_OR_RETURN(MainlineVersion v, ParseMainlineVersion(kernel_version));
  if (ncpus < 1) return InvalidArgument("EEVDF traits: ncpus must be >= 1, got " + std::to_string(ncpus));
  if (hz < 1 || hz > 10000) return InvalidArgument("EEVDF traits: hz must be in [1, 10000], got " + std::to_string(hz));
  EevdfTraits t;
  t.version = v;
  // 2ae891b82695 (6.15): 0.75 ms -> 0.70 ms, still scaled by
  // get_update_sysctl_factor().
  t.normalized_base_slice = v.AtLeast(6, 15) ? 700 * sim::kUs : 750 * sim::kUs;
  t.base_slice = t.normalized_base_slice * TunableScaleFactor(ncpus);
  t.tick = sim::kSec / hz;
  const bool v612 = v.AtLeast(6, 12);
  const bool v617 = v.AtLeast(6, 17);
  t.custom_slice = v612;  // __setparam_fair() honours sched_runtime (6.12)
  t.lag_clamp = v617 ? EevdfLagClamp::kMaxSlicePlusTick : EevdfLagClamp::kTwiceSliceOrTick;
  t.protect = v617 ? EevdfProtect::kMinSlice : EevdfProtect::kUntilDeadline;
  t.short_wakeup = v617 ? EevdfShortWakeup::kPickUnprotected
                        : (v612 ? EevdfShortWakeup::kCancelThenPick : EevdfShortWakeup::kNone);
  t.features.place_lag = true;
  t.features.place_deadline_initial = true;
  t.features.run_to_parity = true;  // 63304558ba5d "sched/eevdf: Curb wakeup-preemption" (6.6)
  t.features.place_rel_deadline = v612;
  t.features.preempt_short = v612;  // 85e511df3cec "sched/eevdf: Allow shorter slices to wakeup-preempt"
  t.features.delay_dequeue = v612;  // "sched/fair: Implement delayed dequeue" (6.12)
  t.features.delay_zero = v612;
  return t;
}

EevdfRq::EevdfRq(const EevdfTraits& t) : t_(t) {
  KREPLAY_CHECK(t_.Validate().ok(), "EevdfRq built from invalid traits");
}

int64_t EevdfRq::AvgVruntime() const {
  int64_t avg = sum_wv_;
  int64_t load = sum_w_;
  if (curr_) {
    avg += (curr_->vruntime - min_vruntime_) * static_cast<int64_t>(curr_->weight);
    load += curr_->weight;
  }
  if (load) {
    // Floor division (the kernel subtracts load - 1 from a negative sum), so
    // that V itself is always eligible.
    if (avg < 0) avg -= load - 1;
    avg /= load;
  }
  return min_vruntime_ + avg;
}

void EevdfRq::SetSchedRuntime(EevdfEntity* se, sim::Duration sched_runtime) const {
  if (!t_.custom_slice) return;
  if (sched_runtime > 0) {
    se->custom_slice = true;
    se->slice = std::clamp(sched_runtime, kMinCustomSlice, kMaxCustomSlice);
  } else {
    se->custom_slice = false;
    se->slice = t_.base_slice;
  }
}

sim::Duration EevdfRq::QueueMinSlice() const {
  sim::Duration m = std::numeric_limits<sim::Duration>::max();
  for (const Node& n : queue_) m = std::min(m, n.se->slice);
  return m;
}

sim::Duration EevdfRq::MinSlice() const {
  sim::Duration m = QueueMinSlice();
  if (curr_) m = std::min(m, curr_->slice);
  return m;
}

sim::Duration EevdfRq::MaxSlice() const {
  sim::Duration m = curr_ ? curr_->slice : 0;
  for (const Node& n : queue_) m = std::max(m, n.se->slice);
  return m;
}

void EevdfRq::Insert(EevdfEntity* se) {
  se->seq = ++seq_;
  // Before every entity with an earlier or equal deadline (their seq is
  // smaller), found from the back, shifting those up on the way.
  const Node node{se->deadline, se->seq, se->vruntime, se};
  size_t i = queue_.size();
  queue_.push_back(node);
  Node* q = queue_.data();
  while (i > 0 && q[i - 1].deadline <= node.deadline) {
    q[i] = q[i - 1];
    --i;
  }
  q[i] = node;
  sum_wv_ += (se->vruntime - min_vruntime_) * static_cast<int64_t>(se->weight);
  sum_w_ += se->weight;
  if (queue_.size() == 1 || se->vruntime < queue_min_v_) queue_min_v_ = se->vruntime;
}

void EevdfRq::EraseAt(int i) {
  EevdfEntity* se = queue_[i].se;
  queue_.erase(queue_.begin() + i);
  sum_wv_ -= (se->vruntime - min_vruntime_) * static_cast<int64_t>(se->weight);
  sum_w_ -= se->weight;
  if (se->vruntime == queue_min_v_) queue_min_dirty_ = true;
}

void EevdfRq::Erase(EevdfEntity* se) {
  // queue_ is in descending (deadline, seq) order.
  auto it = std::lower_bound(queue_.begin(), queue_.end(), se, [](const Node& n, const EevdfEntity* e) {
    return n.deadline != e->deadline ? n.deadline > e->deadline : n.seq > e->seq;
  });
  KREPLAY_CHECK(it != queue_.end() && it->se == se, "EEVDF queue out of order or entity not queued");
  EraseAt(static_cast<int>(it - queue_.begin()));
}

void EevdfRq::RecomputeQueueMin() {
  queue_min_dirty_ = false;
  if (!queue_.empty()) {
    queue_min_v_ = queue_[0].vruntime;
    for (const Node& n : queue_) queue_min_v_ = std::min(queue_min_v_, n.vruntime);
  }
}

void EevdfRq::UpdateEntityLag(EevdfEntity* se) {
  int64_t vlag = AvgVruntime() - se->vruntime;
  sim::Duration span = t_.lag_clamp == EevdfLagClamp::kTwiceSliceOrTick ? std::max(2 * se->slice, t_.tick)
                                                                         : MaxSlice() + t_.tick;
  int64_t limit = CalcDeltaFair(span, se->weight);
  se->vlag = std::clamp(vlag, -limit, limit);
}

void EevdfRq::PlaceEntity(EevdfEntity* se, bool initial) {
  KREPLAY_CHECK(!se->on_rq, "PlaceEntity of an entity already on the runqueue");
  int64_t v = AvgVruntime();
  if (!se->custom_slice) se->slice = t_.base_slice;
  int64_t vslice = CalcDeltaFair(se->slice, se->weight);
  int64_t lag = 0;
  if (t_.features.place_lag && nr_running() > 0 && se->vlag != 0) {
    // The entity moves V by w_i * vl_i / (W + w_i) when it joins; inflate
    // the lag so that what is left after joining is the lag it left with:
    // vl_i = (W + w_i) * vl'_i / W.
    int64_t load = sum_w_ + (curr_ ? curr_->weight : 0);
    lag = se->vlag * (load + static_cast<int64_t>(se->weight));
    if (load == 0) load = 1;
    lag /= load;  // div_s64 truncates toward zero
  }
  se->vruntime = v - lag;
  if (se->rel_deadline) {
    se->deadline += se->vruntime;
    se->rel_deadline = false;
    return;
  }
  // Existing tasks are on average half-way through their slice: a new one
  // starts with half a slice.
  if (t_.features.place_deadline_initial && initial) vslice /= 2;
  se->deadline = se->vruntime + vslice;
}

void EevdfRq::Enqueue(EevdfEntity* se) {
  KREPLAY_CHECK(!se->on_rq && se != curr_, "entity enqueued twice");
  Insert(se);
  se->on_rq = true;
  load_ += se->weight;
  ++nr_running_;
}

void EevdfRq::FinishDelayedDequeue(EevdfEntity* se) {
  UpdateEntityLag(se);
  Erase(se);
  se->on_rq = false;
  load_ -= se->weight;
  --nr_running_;
  se->delayed = false;
  --nr_delayed_;
  if (t_.features.delay_zero && se->vlag > 0) se->vlag = 0;
  UpdateMinVruntime();
  if (blocked_hook_) blocked_hook_(blocked_ctx_, se);
}

void EevdfRq::Dequeue(EevdfEntity* se) {
  KREPLAY_CHECK(se->on_rq && se != curr_, "dequeue of an entity that is not queued");
  if (se->delayed) {
    FinishDelayedDequeue(se);
    return;
  }
  UpdateEntityLag(se);
  // Out of the queue first: it is ordered by the absolute deadline.
  Erase(se);
  if (t_.features.place_rel_deadline) {
    se->deadline -= se->vruntime;
    se->rel_deadline = true;
  }
  se->on_rq = false;
  load_ -= se->weight;
  --nr_running_;
  UpdateMinVruntime();
}

void EevdfRq::SetProtectSlice(EevdfEntity* se) {
  if (t_.protect == EevdfProtect::kUntilDeadline) {
    // set_next_entity()'s "vlag = deadline" mark: protected until
    // update_deadline() renews the deadline, i.e. while v < this deadline.
    se->vprot = se->deadline;
    return;
  }
  // set_protect_slice(): se has left the queue and is not curr yet, so the
  // min slice is over the others only.
  sim::Duration slice = t_.features.run_to_parity ? QueueMinSlice() : t_.normalized_base_slice;
  slice = std::min(slice, se->slice);
  se->vprot = se->deadline;
  if (slice != se->slice) se->vprot = std::min(se->vprot, se->vruntime + CalcDeltaFair(slice, se->weight));
}

EevdfEntity* EevdfRq::PickEevdf(bool protect) const {
  int index;
  return Pick(protect, &index);
}

EevdfEntity* EevdfRq::Pick(bool protect, int* index) const {
  *index = -1;
  EevdfEntity* curr = curr_;
  if (queue_.empty()) return curr;
  if (!curr && queue_.size() == 1) {  // O(1) fast path (6.8+), same answer
    *index = 0;
    return queue_[0].se;
  }
  if (curr && !Eligible(curr)) curr = nullptr;
  bool use_protect = protect && (t_.protect == EevdfProtect::kMinSlice || t_.features.run_to_parity);
  if (curr && use_protect && Protected(curr)) return curr;
  // The same integers VruntimeEligible() uses, hoisted out of the scan.
  int64_t avg = sum_wv_;
  int64_t load = sum_w_;
  if (curr_) {
    avg += (curr_->vruntime - min_vruntime_) * static_cast<int64_t>(curr_->weight);
    load += curr_->weight;
  }
  // From the earliest deadline (the back).
  const int n = static_cast<int>(queue_.size());
  int best = n - 1;
  while (best >= 0 && avg < (queue_[best].vruntime - min_vruntime_) * load) --best;
  if (best < 0) {
    // Rounding can leave no entity eligible; the kernel then falls back to
    // the leftmost (unless curr is eligible).
    if (curr) return curr;
    *index = n - 1;
    return queue_[n - 1].se;
  }
  if (curr && curr->deadline < queue_[best].deadline) return curr;
  *index = best;
  return queue_[best].se;
}

EevdfEntity* EevdfRq::PickNext() {
  KREPLAY_CHECK(curr_ == nullptr, "PickNext with a running entity");
  for (;;) {
    if (queue_.empty()) return nullptr;
    int index;
    EevdfEntity* se = Pick(true, &index);
    if (se->delayed) {
      // It has burnt off its negative lag: dequeue it instead of running
      // it, and pick again.
      FinishDelayedDequeue(se);
      continue;
    }
    EraseAt(index);
    SetProtectSlice(se);
    curr_ = se;
    se->prev_sum_exec = se->sum_exec;
    resched_ = false;
    return se;
  }
}

void EevdfRq::PutPrev() {
  KREPLAY_CHECK(curr_ != nullptr, "PutPrev without a running entity");
  EevdfEntity* se = curr_;
  curr_ = nullptr;
  Insert(se);
  resched_ = false;
}

bool EevdfRq::DequeueCurr(bool sleep) {
  KREPLAY_CHECK(curr_ != nullptr, "DequeueCurr without a running entity");
  EevdfEntity* se = curr_;
  resched_ = false;
  if (sleep && t_.features.delay_dequeue && !Eligible(se)) {
    se->delayed = true;
    ++nr_delayed_;
    curr_ = nullptr;
    Insert(se);  // put_prev_entity() at the following __schedule()
    return false;
  }
  UpdateEntityLag(se);
  if (t_.features.place_rel_deadline && !sleep) {
    se->deadline -= se->vruntime;
    se->rel_deadline = true;
  }
  curr_ = nullptr;
  se->on_rq = false;
  load_ -= se->weight;
  --nr_running_;
  UpdateMinVruntime();
  return true;
}

void EevdfRq::Requeue(EevdfEntity* se) {
  KREPLAY_CHECK(se->delayed && se->on_rq && se != curr_, "Requeue of an entity that is not delayed");
  if (t_.features.delay_zero) {
    UpdateEntityLag(se);
    if (se->vlag > 0) {
      // Owed service after all: re-place it at lag 0 rather than let it
      // cash in what it earned while asleep.
      Erase(se);
      se->on_rq = false;
      load_ -= se->weight;
      --nr_running_;
      se->vlag = 0;
      PlaceEntity(se, /*initial=*/false);
      Insert(se);
      se->on_rq = true;
      load_ += se->weight;
      ++nr_running_;
    }
  }
  se->delayed = false;
  --nr_delayed_;
}

bool EevdfRq::DoPreemptShort(const EevdfEntity* pse, const EevdfEntity* se) const {
  if (!t_.features.preempt_short) return false;
  if (pse->slice >= se->slice) return false;
  if (!Eligible(pse)) return false;
  if (pse->deadline < se->deadline) return true;
  return !Eligible(se);
}

bool EevdfRq::WakeupPreempt(EevdfEntity* se) {
  if (!curr_) return true;
  if (se == curr_ || resched_) return resched_;
  EevdfEntity* c = curr_;
  bool preempt = false;
  switch (t_.short_wakeup) {
    case EevdfShortWakeup::kNone:
      preempt = PickEevdf(true) == se;
      break;
    case EevdfShortWakeup::kCancelThenPick:
      // Even if the wakee does not win now, curr keeps no protection.
      if (DoPreemptShort(se, c) && Protected(c)) c->vprot = c->vruntime;
      preempt = PickEevdf(true) == se;
      break;
    case EevdfShortWakeup::kPickUnprotected: {
      bool short_wakee = t_.features.preempt_short && se->slice < c->slice;
      preempt = PickEevdf(!short_wakee) == se;
      if (preempt && short_wakee && Protected(c)) {
        c->vprot = c->vruntime;  // cancel_protect_slice()
      } else if (!preempt && short_wakee && t_.features.run_to_parity) {
        // update_protect_slice(): the wakee's shorter slice bounds how long
        // curr may still run.
        c->vprot = std::min(c->vprot, c->vruntime + CalcDeltaFair(MinSlice(), c->weight));
      }
      break;
    }
  }
  if (preempt) resched_ = true;
  return resched_;
}

// EevdfPick (eevdf_pick.h): here so that the calls below are inlined.
void EevdfPick::DoPlaceEntity(EevdfRq& rq, EevdfEntity* se, bool initial) const { rq.PlaceEntity(se, initial); }
EevdfEntity* EevdfPick::DoPickNext(EevdfRq& rq) const { return rq.PickNext(); }
bool EevdfPick::DoWakeupPreempt(EevdfRq& rq, EevdfEntity* se) const { return rq.WakeupPreempt(se); }
bool EevdfPick::DoTickPreempt(const EevdfRq& rq) const { return rq.TickPreempt(); }

}  // namespace kreplay::sched
