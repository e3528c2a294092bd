#include "workers/models/sched/rt_rq.h"

#include <bit>

#include "services/core/status.h"

namespace kreplay::sched {

int RtRq::highest_prio() const {
  // sched_find_first_bit() over the two 64-bit words.
  if (bitmap_[0]) return std::countr_zero(bitmap_[0]);
  if (bitmap_[1]) return 64 + std::countr_zero(bitmap_[1]);
  return kMaxRtPrio;
}

void RtRq::Append(RtEntity* se) {
  List& l = lists_[se->prio];
  se->prev = l.tail;
  se->next = nullptr;
  if (l.tail) {
    l.tail->next = se;
  } else {
    l.head = se;
    bitmap_[se->prio / 64] |= uint64_t{1} << (se->prio % 64);
  }
  l.tail = se;
}

void RtRq::Unlink(RtEntity* se) {
  List& l = lists_[se->prio];
  (se->prev ? se->prev->next : l.head) = se->next;
  (se->next ? se->next->prev : l.tail) = se->prev;
  se->prev = se->next = nullptr;
  if (!l.head) bitmap_[se->prio / 64] &= ~(uint64_t{1} << (se->prio % 64));
}

void RtRq::Enqueue(RtEntity* se) {
  KREPLAY_CHECK(!se->on_rq && se->prio >= 0 && se->prio < kMaxRtPrio, "RtRq::Enqueue: queued or bad prio");
  if (se->time_slice <= 0) se->time_slice = rr_ticks_;
  Append(se);
  se->on_rq = true;
  ++nr_;
}

void RtRq::Dequeue(RtEntity* se) {
  KREPLAY_CHECK(se->on_rq, "RtRq::Dequeue: not queued");
  Unlink(se);
  se->on_rq = false;
  --nr_;
}

RtEntity* RtRq::PickNext() const {
  int p = highest_prio();
  return p < kMaxRtPrio ? lists_[p].head : nullptr;
}

void RtRq::Requeue(RtEntity* se) {
  KREPLAY_CHECK(se->on_rq, "RtRq::Requeue: not queued");
  Unlink(se);
  Append(se);
}

bool RtRq::Tick(RtEntity* curr) {
  if (!curr->rr) return false;  // SCHED_FIFO: no slice
  if (--curr->time_slice > 0) return false;
  curr->time_slice = rr_ticks_;
  // Only requeue if it is not alone on its list.
  if (curr->prev == nullptr && curr->next == nullptr) return false;
  Requeue(curr);
  return true;
}

}  // namespace kreplay::sched
