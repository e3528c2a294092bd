#include "workers/models/sched/cfs_rq.h"

#include <algorithm>

#include "services/core/status.h"
#include "workers/models/sched/cfs_pick.h"

namespace kreplay::sched {
namespace {

// kernel/sched/core.c prio_to_weight[], nice -20..19: each step is ~1.25x so
// one nice level changes a CPU-bound task's share by ~10 %.
constexpr uint32_t kPrioToWeight[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548,  7620,  6100,  4904,  3906,  3121,  2501,  1991,  1586,  1277,
    1024,  820,   655,   526,   423,   335,   272,   215,   172,   137,
    110,   87,    70,    56,    45,    36,    29,    23,    18,    15,
};

}  // namespace

uint32_t NiceToWeight(int nice) {
  nice = std::clamp(nice, -20, 19);
  return kPrioToWeight[nice + 20];
}

int TunableScaleFactor(int ncpus) {
  int n = std::clamp(ncpus, 1, 8);
  int log2 = 0;
  while ((2 << log2) <= n) ++log2;  // ilog2(n)
  return 1 + log2;
}

CfsTunables ScaledCfsTunables(int ncpus, sim::Duration latency_override, sim::Duration min_gran_override,
                              sim::Duration wakeup_gran_override) {
  CfsTunables t;
  int f = TunableScaleFactor(ncpus);
  t.latency = latency_override > 0 ? latency_override : t.latency * f;
  t.min_granularity = min_gran_override > 0 ? min_gran_override : t.min_granularity * f;
  t.wakeup_granularity = wakeup_gran_override > 0 ? wakeup_gran_override : t.wakeup_granularity * f;
  // sched_nr_latency = DIV_ROUND_UP(latency, min_granularity).
  t.nr_latency = (t.latency + t.min_granularity - 1) / t.min_granularity;
  return t;
}

CfsRules MainlineCfsRules(const MainlineVersion& v) {
  CfsRules r;
  r.curr_on_rq_only = true;            // every release since 4.x
  r.base_slice = v.AtLeast(5, 13);     // "sched,fair: Alternative sched_slice()"
  r.idle_entities = v.AtLeast(5, 15);  // Josh Don's cgroup SCHED_IDLE series
  r.tick_slice_capped = v.AtLeast(6, 3);  // "sched/fair: Limit sched slice duration"
  return r;
}

sim::Duration CfsRq::Period(int nr_running) const {
  if (nr_running > t_.nr_latency) return nr_running * t_.min_granularity;
  return t_.latency;
}

sim::Duration CfsRq::Slice(const SchedEntity* se) const {
  bool on_rq = se == curr_ || se->heap_pos >= 0;
  uint64_t load = load_ + (on_rq ? 0 : se->weight);
  sim::Duration period = Period(nr_running() + (on_rq ? 0 : 1));
  auto slice = static_cast<sim::Duration>(static_cast<uint64_t>(period) * se->weight / load);
  if (t_.rules.base_slice) {
    // sched_idle_cfs_rq(): runnable entities, all of them SCHED_IDLE.
    bool all_idle = nr_running() > 0 && idle_nr_ == nr_running();
    sim::Duration floor =
        t_.rules.idle_entities && se->idle && !all_idle ? t_.idle_min_granularity : t_.min_granularity;
    slice = std::max(slice, floor);
  }
  return slice;
}

int64_t CfsRq::VSliceIfAdded(const SchedEntity* se) const { return CalcDeltaFair(Slice(se), se->weight); }

void CfsRq::PlaceEntity(SchedEntity* se, bool initial) const {
  int64_t v = min_vruntime_;
  if (initial) {
    // START_DEBIT: a new task owes one slice, so forking cannot be used to
    // grab the CPU ahead of the tasks already waiting.
    v += VSliceIfAdded(se);
  } else {
    // Sleeper credit, halved by GENTLE_FAIR_SLEEPERS; a SCHED_IDLE entity
    // gets min_granularity's worth (5.15+).
    v -= (t_.rules.idle_entities && se->idle ? t_.min_granularity : t_.latency) / 2;
  }
  // Never gain time by sleeping: a short sleeper keeps its own vruntime.
  se->vruntime = std::max(se->vruntime, v);
}

void CfsRq::Enqueue(SchedEntity* se) {
  KREPLAY_CHECK(se->heap_pos < 0 && se != curr_, "entity enqueued twice");
  heap_.push_back(se);
  se->heap_pos = static_cast<int32_t>(heap_.size() - 1);
  SiftUp(se->heap_pos);
  load_ += se->weight;
  idle_nr_ += se->idle;
}

void CfsRq::Dequeue(SchedEntity* se) {
  KREPLAY_CHECK(se->heap_pos >= 0, "dequeue of an entity that is not queued");
  int i = se->heap_pos;
  SchedEntity* last = heap_.back();
  heap_.pop_back();
  se->heap_pos = -1;
  if (last != se) {
    Place(i, last);
    SiftUp(i);
    SiftDown(last->heap_pos);
  }
  load_ -= se->weight;
  idle_nr_ -= se->idle;
  UpdateMinVruntime();
}

SchedEntity* CfsRq::PickNext() {
  KREPLAY_CHECK(curr_ == nullptr, "PickNext with a running entity");
  if (heap_.empty()) return nullptr;
  // Dequeue(leftmost) then set it as curr, in one pass: the same heap moves
  // (last entry to the root, sifted down) and the load is unchanged, since
  // curr still counts in it.
  SchedEntity* se = heap_[0];
  SchedEntity* last = heap_.back();
  heap_.pop_back();
  se->heap_pos = -1;
  if (last != se) {
    Place(0, last);
    SiftDown(0);
  }
  curr_ = se;
  se->prev_sum_exec = se->sum_exec;
  // set_next_entity() does not call update_min_vruntime(): min_vruntime
  // stays where it was until the next update_curr() or dequeue.
  return se;
}

void CfsRq::PutPrev() {
  KREPLAY_CHECK(curr_ != nullptr, "PutPrev without a running entity");
  SchedEntity* se = curr_;
  curr_ = nullptr;
  // Back into the queue; the load is unchanged (curr counted in it).
  heap_.push_back(se);
  se->heap_pos = static_cast<int32_t>(heap_.size() - 1);
  SiftUp(se->heap_pos);
}

void CfsRq::DequeueCurr() {
  KREPLAY_CHECK(curr_ != nullptr, "DequeueCurr without a running entity");
  load_ -= curr_->weight;
  idle_nr_ -= curr_->idle;
  // dequeue_entity() ends with update_min_vruntime() while cfs_rq->curr is
  // still the leaving entity (put_prev_entity() clears it later); 3.10's
  // update_min_vruntime() does not check curr->on_rq, mainline's does (the
  // entity is off the runqueue by then).
  UpdateMinVruntime(/*curr_counts=*/!t_.rules.curr_on_rq_only);
  curr_ = nullptr;
}

int CfsRq::FirstQueued(int k, SchedEntity** out) const {
  KREPLAY_CHECK(k <= kMaxFirstQueued, "FirstQueued: k too large");
  int n = static_cast<int>(heap_.size());
  if (k > n) k = n;
  if (k <= 0) return 0;
  // Best-first walk of the heap: the next entity in pick order is the least
  // of the children of those already taken. At most 2k + 1 candidates.
  int cand[2 * kMaxFirstQueued + 1];
  int nc = 0;
  cand[nc++] = 0;
  int got = 0;
  while (got < k) {
    int best = 0;
    for (int j = 1; j < nc; ++j) {
      if (Less(heap_[cand[j]], heap_[cand[best]])) best = j;
    }
    int i = cand[best];
    cand[best] = cand[--nc];
    out[got++] = heap_[i];
    if (2 * i + 1 < n) cand[nc++] = 2 * i + 1;
    if (2 * i + 2 < n) cand[nc++] = 2 * i + 2;
  }
  return got;
}

bool CfsRq::TickPreempt() const {
  if (!curr_ || heap_.empty()) return false;
  sim::Duration ideal = Slice(curr_);
  if (t_.rules.tick_slice_capped) ideal = std::min(ideal, t_.latency);
  sim::Duration ran = curr_->sum_exec - curr_->prev_sum_exec;
  if (ran > ideal) return true;
  // Do not preempt a task that has run less than min_granularity, so the
  // slice never shrinks below it.
  if (ran < t_.min_granularity) return false;
  int64_t delta = curr_->vruntime - heap_[0]->vruntime;
  return delta > ideal;
}

bool CfsRq::WakeupPreempt(const SchedEntity* se) const {
  if (!curr_) return true;
  int64_t vdiff = curr_->vruntime - se->vruntime;
  if (vdiff <= 0) return false;
  // wakeup_gran(): scaled to the wakee's weight, so light wakees preempt less.
  return vdiff > CalcDeltaFair(t_.wakeup_granularity, se->weight);
}

void CfsRq::SiftUp(int i) {
  SchedEntity* se = heap_[i];
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (!Less(se, heap_[parent])) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, se);
}

void CfsRq::SiftDown(int i) {
  int n = static_cast<int>(heap_.size());
  SchedEntity* se = heap_[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && Less(heap_[c + 1], heap_[c])) ++c;
    if (!Less(heap_[c], se)) break;
    Place(i, heap_[c]);
    i = c;
  }
  Place(i, se);
}

// CfsPickT (cfs_pick.h): here so that the calls below are inlined.
template <class Rq>
void CfsPickT<Rq>::DoPlaceEntity(const Rq& rq, SchedEntity* se, bool initial) const {
  rq.PlaceEntity(se, initial);
}
template <class Rq>
SchedEntity* CfsPickT<Rq>::DoPickNext(Rq& rq) const {
  return rq.PickNext();
}
template <class Rq>
bool CfsPickT<Rq>::DoWakeupPreempt(const Rq& rq, const SchedEntity* se) const {
  return rq.WakeupPreempt(se);
}
template <class Rq>
bool CfsPickT<Rq>::DoTickPreempt(const Rq& rq) const {
  return rq.TickPreempt();
}
template class CfsPickT<CfsRq>;
template class CfsPickT<MainlineCfsRq>;

}  // namespace kreplay::sched
