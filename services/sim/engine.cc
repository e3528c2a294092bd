#include "services/sim/engine.h"

#include "services/core/status.h"

namespace kreplay::sim {

EventId Simulator::At(Time at, EventHandler* handler, uint64_t tag) {
  KREPLAY_CHECK(at >= now_, "event scheduled in the past");
  uint64_t seq = next_seq_++;
  PushHeap(Entry{at, seq, handler, tag});
  ++live_;
  return seq;
}

bool Simulator::IsCancelled(uint64_t seq) const {
  if (seq < cancel_base_) return false;
  uint64_t i = seq - cancel_base_;
  return i < cancelled_.size() && cancelled_[i];
}

bool Simulator::Cancel(EventId id) {
  if (id == 0 || id >= next_seq_ || id < cancel_base_) return false;
  uint64_t i = id - cancel_base_;
  if (i >= cancelled_.size()) cancelled_.resize(i + 1, false);
  if (cancelled_[i]) return false;
  // We cannot tell cheaply whether it already fired; models cancel only
  // events they know are pending (they forget the id when it fires).
  cancelled_[i] = true;
  --live_;
  return true;
}

void Simulator::PushHeap(Entry e) {
  // Hand-rolled sift-up: std::push_heap with a comparator is as fast, but
  // this keeps the ordering rule in one visible place.
  heap_.push_back(e);
  size_t i = heap_.size() - 1;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!Later(heap_[parent], e)) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

Simulator::Entry Simulator::PopHeap() {
  Entry top = heap_.front();
  Entry last = heap_.back();
  heap_.pop_back();
  size_t n = heap_.size();
  if (n > 0) {
    size_t i = 0;
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && Later(heap_[c], heap_[c + 1])) ++c;
      if (!Later(last, heap_[c])) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = last;
  }
  return top;
}

void Simulator::RunUntil(Time until) {
  stopped_ = false;
  while (!heap_.empty() && !stopped_) {
    if (heap_.front().at > until) break;
    Entry e = PopHeap();
    if (IsCancelled(e.seq)) {
      cancelled_[e.seq - cancel_base_] = false;
      continue;
    }
    --live_;
    now_ = e.at;
    ++processed_;
    e.handler->OnEvent(e.tag);
  }
  // Trim the cancellation bitmap: everything below the smallest pending seq
  // can never be looked up again. Cheap enough to do once per RunUntil.
  if (heap_.empty()) {
    cancel_base_ = next_seq_;
    cancelled_.clear();
  }
  if (!stopped_ && until != kTimeMax && now_ < until) now_ = until;
}

}  // namespace kreplay::sim
