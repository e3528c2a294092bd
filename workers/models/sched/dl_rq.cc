#include "workers/models/sched/dl_rq.h"

#include <algorithm>

#include "services/core/status.h"

namespace kreplay::sched {

void DlEntity::SetParams(int64_t runtime_ns, int64_t deadline_ns, int64_t period_ns) {
  dl_runtime = runtime_ns;
  dl_deadline = deadline_ns;
  dl_period = period_ns != 0 ? period_ns : deadline_ns;
  dl_bw = ToRatio(static_cast<uint64_t>(dl_period), static_cast<uint64_t>(dl_runtime));
  dl_density = ToRatio(static_cast<uint64_t>(dl_deadline), static_cast<uint64_t>(dl_runtime));
}

void SetupNewDlEntity(DlEntity* e, int64_t now) {
  e->deadline = now + e->dl_deadline;
  e->runtime = e->dl_runtime;
}

bool DlEntityOverflow(const DlEntity& e, int64_t now) {
  // u64 arithmetic as the kernel's (runtime is s64 there, read as u64;
  // a wake-up never sees it negative: a task out of runtime is throttled
  // until replenished).
  uint64_t left = (static_cast<uint64_t>(e.dl_deadline) >> kDlScale) * (static_cast<uint64_t>(e.runtime) >> kDlScale);
  uint64_t right = (static_cast<uint64_t>(e.deadline - now) >> kDlScale) * (static_cast<uint64_t>(e.dl_runtime) >> kDlScale);
  return DlTimeBefore(static_cast<int64_t>(right), static_cast<int64_t>(left));
}

void UpdateDlEntity(DlEntity* e, int64_t now) {
  if (DlTimeBefore(e->deadline, now) || DlEntityOverflow(*e, now)) {
    if (!e->Implicit() && !DlTimeBefore(e->deadline, now)) {
      // update_dl_revised_wakeup(): keep the deadline, scale the runtime
      // to the density over the time left.
      uint64_t laxity = static_cast<uint64_t>(e->deadline - now);
      e->runtime = static_cast<int64_t>((e->dl_density * laxity) >> kBwShift);
      return;
    }
    // replenish_dl_new_period().
    e->deadline = now + e->dl_deadline;
    e->runtime = e->dl_runtime;
  }
}

bool DlConstrainedWakeThrottles(const DlEntity& e, int64_t now) {
  return !e.Implicit() && DlTimeBefore(e.deadline, now) && DlTimeBefore(now, DlNextPeriod(e));
}

void ReplenishDlEntity(DlEntity* e, int64_t now) {
  while (e->runtime <= 0) {
    e->deadline += e->dl_period;
    e->runtime += e->dl_runtime;
  }
  // "DL replenish lagged too much": restart from now.
  if (DlTimeBefore(e->deadline, now)) {
    e->deadline = now + e->dl_deadline;
    e->runtime = e->dl_runtime;
  }
  e->throttled = false;
}

int64_t DlZeroLagTime(const DlEntity& e) {
  // 128-bit: runtime x period reaches 2^64 for periods near the 4.19 s
  // maximum, where the kernel's s64 product would wrap.
  return e.deadline - static_cast<int64_t>(static_cast<__int128>(e.runtime) * e.dl_period / e.dl_runtime);
}

void DlRq::Enqueue(DlEntity* e) {
  KREPLAY_CHECK(!e->on_rq, "DlRq::Enqueue: already queued");
  // After every entity with an earlier or equal deadline (rb_add_cached()).
  auto pos = std::upper_bound(q_.begin(), q_.end(), e, [](const DlEntity* a, const DlEntity* b) {
    return DlTimeBefore(a->deadline, b->deadline);
  });
  q_.insert(pos, e);
  e->on_rq = true;
}

void DlRq::Dequeue(DlEntity* e) {
  KREPLAY_CHECK(e->on_rq, "DlRq::Dequeue: not queued");
  q_.erase(std::find(q_.begin(), q_.end(), e));
  e->on_rq = false;
}

}  // namespace kreplay::sched
