#include "services/sim/engine.h"

#include <algorithm>
#include <bit>

#include "services/core/status.h"

namespace kreplay::sim {

// Why this shape (measured with sched_bench, CFS and HMP on Juno, 64 tasks):
// the scheduler models keep about a hundred events pending, most of them
// wake-ups and ticks milliseconds ahead, and cancel about one in seven of
// those they schedule (re-armed completion timers, ticks stopped on idle).
// - Time buckets: a far event is filed with a push_back and enters the heap
//   with its bucket, so the heap holds the next millisecond's few events
//   instead of all of them (a quarter fewer instructions per event than one
//   heap of everything).
// - The current bucket holds ~4 events: sorted by insertion (at a refill and
//   at each At() into it, shifting from the back, where a new event usually
//   goes) and popped by advancing an index, that costs fewer instructions
//   than heapifying it and sifting at every pop (sched_bench sched.eevdf: -2 %
//   instructions per event). A run longer than kMaxRun is a heap instead,
//   so a burst of events due together stays O(log k) per event.
// - The heap orders 16-byte (time, key) entries and the payload stays in a
//   slot, halving what each level moves; pops walk the hole down with one
//   branch-free comparison per level (a 4-ary heap measured slower).
// - Cancellation by tombstone (the slot forgets the key) is O(1), needs no
//   back-pointer updates while sifting, and tells fired ids from pending
//   ones exactly; Compact() keeps tombstones from piling up.
namespace {
constexpr size_t kArity = 2;
}  // namespace

EventId Simulator::At(Time at, EventHandler* handler, uint64_t tag) {
  // The common case touches no allocator and reports no error, so it is a
  // leaf that needs no stack frame; the rest is left to AtSlow() and
  // ParkSlow() as tail calls (a frame here saved and restored six registers
  // on every call, ~2 per event in the scheduler models).
  if (at < now_ || free_.empty() || next_seq_ >= kMaxSeq) [[unlikely]]
    return AtSlow(at, handler, tag);
  uint32_t slot = free_.back();
  free_.pop_back();
  uint64_t key = (next_seq_++ << kSlotBits) | slot;
  slots_[slot] = Slot{handler, tag, key};
  ++live_;
  // Park() with the vector's growth checked first, so that push_back() below
  // compiles to a plain store.
  Entry e{at, key};
  if (at <= horizon_) {
    // Into the sorted run, from the back: events scheduled now are mostly
    // later than those already due in this bucket.
    size_t n = run_.size();
    if (n == run_.capacity() || heap_mode_ || n - head_ >= kMaxRun) [[unlikely]]
      return ParkSlow(e);
    run_.push_back(e);
    Entry* r = run_.data();
    while (n > head_ && Before(e, r[n - 1])) {
      r[n] = r[n - 1];
      --n;
    }
    r[n] = e;
    return key;
  }
  int64_t b = at >> shift_;  // after cur_, see Park()
  std::vector<Entry>* to = b < epoch_end_ ? &buckets_[static_cast<size_t>(b) & (kBuckets - 1)] : &overflow_;
  if (to->size() == to->capacity()) [[unlikely]]
    return ParkSlow(e);
  to->push_back(e);
  return key;
}

EventId Simulator::AtSlow(Time at, EventHandler* handler, uint64_t tag) {
  KREPLAY_CHECK(at >= now_, "event scheduled in the past");
  KREPLAY_CHECK(next_seq_ < kMaxSeq, "event sequence numbers exhausted");
  if (free_.empty()) {
    KREPLAY_CHECK(slots_.size() <= kSlotMask, "too many pending events");
    free_.push_back(static_cast<uint32_t>(slots_.size()));
    slots_.push_back(Slot{});
  }
  return At(at, handler, tag);
}

EventId Simulator::ParkSlow(Entry e) {
  Park(e);
  return e.key;
}

bool Simulator::Cancel(EventId id) {
  uint64_t slot = id & kSlotMask;
  if (id == 0 || slot >= slots_.size() || slots_[slot].key != id) return false;
  slots_[slot].key = 0;
  free_.push_back(static_cast<uint32_t>(slot));
  --live_;
  ++tombstones_;
  if (tombstones_ > 32 && tombstones_ > live_) Compact();
  return true;
}

void Simulator::RunToHeap() {
  run_.erase(run_.begin(), run_.begin() + static_cast<ptrdiff_t>(head_));
  head_ = 0;
  heap_mode_ = true;  // a sorted array is a heap already
}

void Simulator::PushNow(Entry e) {
  if (!heap_mode_ && run_.size() - head_ >= kMaxRun) RunToHeap();
  if (heap_mode_) {
    run_.push_back(e);
    SiftUp(run_.size() - 1, e);
    return;
  }
  // Reuse the popped prefix before the vector grows.
  if (head_ > 0 && run_.size() == run_.capacity()) {
    run_.erase(run_.begin(), run_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  size_t n = run_.size();
  run_.push_back(e);
  while (n > head_ && Before(e, run_[n - 1])) {
    run_[n] = run_[n - 1];
    --n;
  }
  run_[n] = e;
}

void Simulator::SiftUp(size_t i, Entry e) {
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (!Before(e, run_[parent])) break;
    run_[i] = run_[parent];
    i = parent;
  }
  run_[i] = e;
}

void Simulator::SiftDown(size_t i, Entry e) {
  size_t n = run_.size();
  for (;;) {
    size_t c = kArity * i + 1;
    if (c >= n) break;
    if (c + 1 < n) c += Before(run_[c + 1], run_[c]);
    if (!Before(run_[c], e)) break;
    run_[i] = run_[c];
    i = c;
  }
  run_[i] = e;
}

void Simulator::PopHeap() {
  // Bottom-up (Floyd): the element taken from the back usually belongs near
  // the leaves, so walk the hole down along the smaller children with one
  // comparison per level, then sift the element up from there.
  Entry last = run_.back();
  run_.pop_back();
  size_t n = run_.size();
  if (n == 0) return;
  Entry* h = run_.data();
  size_t i = 0;
  size_t c = 1;
  while (c + 1 < n) {  // two children
    c += Before(h[c + 1], h[c]);
    h[i] = h[c];
    i = c;
    c = kArity * i + 1;
  }
  if (c < n) {  // an only child, the last entry
    h[i] = h[c];
    i = c;
  }
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (!Before(last, h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = last;
}

void Simulator::Heapify() {
  if (run_.size() < 2) return;
  for (size_t i = (run_.size() - 2) / kArity + 1; i-- > 0;) SiftDown(i, run_[i]);
}

Time Simulator::BucketEnd(int64_t b) const {
  return b >= (kTimeMax >> shift_) ? kTimeMax : ((b + 1) << shift_) - 1;
}

void Simulator::Park(Entry e) {
  if (e.at <= horizon_) {
    PushNow(e);
    return;
  }
  // at > horizon_ puts the bucket after cur_, so inside the epoch it maps
  // to a slot of its own.
  int64_t b = e.at >> shift_;
  if (b < epoch_end_) {
    buckets_[static_cast<size_t>(b) & (kBuckets - 1)].push_back(e);
  } else {
    overflow_.push_back(e);
  }
}

void Simulator::Narrow(size_t load, size_t target) {
  // A bucket holds too many events for its width: the heap would do all the
  // work. Pour every bucket back into the overflow, cut the width so that
  // such a bucket splits into `target`-event ones, and end the epoch.
  for (auto& bucket : buckets_) {
    overflow_.insert(overflow_.end(), bucket.begin(), bucket.end());
    bucket.clear();
  }
  int cut = std::max(1, static_cast<int>(std::bit_width(load / target)) - 1);
  next_shift_ = std::max(kMinShift, shift_ - cut);
  epoch_end_ = cur_ + 1;
  narrowed_ = true;
}

void Simulator::Refill() {
  while (run_.empty()) {
    if (cur_ + 1 < epoch_end_) {
      std::vector<Entry>& bucket = buckets_[static_cast<size_t>(cur_ + 1) & (kBuckets - 1)];
      // Too full for its width? The share of all pending events a bucket
      // should hold is 1/kBuckets, or at least a few dozen: narrower buckets
      // would leave most events in the overflow, rescanned every epoch.
      size_t target = std::max<size_t>(16, live_ / kBuckets);
      if (bucket.size() > 4 * target && shift_ > kMinShift) {
        Narrow(bucket.size(), target);
        continue;
      }
      ++cur_;
      horizon_ = BucketEnd(cur_);
      epoch_loaded_ += bucket.size();
      // The run is empty: take the bucket's buffer whole (the bucket gets
      // the run's), drop its tombstones, then sort it by insertion, or
      // heapify it once if it is long. Entries are totally ordered by
      // (at, key), so either pops them in the same order.
      // Buffers thus move between the run and the buckets, each growing to
      // the most it is given, so allocation still stops at the peak.
      run_.swap(bucket);
      head_ = 0;
      size_t live = 0;
      for (const Entry& e : run_) {
        if (IsLive(e)) run_[live++] = e;
      }
      tombstones_ -= run_.size() - live;
      run_.erase(run_.begin() + static_cast<ptrdiff_t>(live), run_.end());
      heap_mode_ = live > kMaxRun;
      if (heap_mode_) {
        Heapify();
        continue;
      }
      Entry* r = run_.data();
      for (size_t j = 1; j < live; ++j) {
        Entry e = r[j];
        size_t i = j;
        while (i > 0 && Before(e, r[i - 1])) {
          r[i] = r[i - 1];
          --i;
        }
        r[i] = e;
      }
      continue;
    }
    // The epoch is used up: start the next one at the earliest overflow
    // event and spread what falls inside it over the buckets. The width may
    // change only here, where cur_ and epoch_end_ are recomputed in its
    // units.
    Time first = kTimeMax;
    size_t live = 0;
    for (const Entry& e : overflow_) {
      if (!IsLive(e)) continue;
      overflow_[live++] = e;
      first = std::min(first, e.at);
    }
    tombstones_ -= overflow_.size() - live;
    overflow_.resize(live);
    if (live == 0) return;
    // An epoch that averaged under one event per bucket widens them again.
    if (!narrowed_ && epoch_loaded_ < kBuckets && next_shift_ < kDefaultShift) ++next_shift_;
    narrowed_ = false;
    epoch_loaded_ = 0;
    shift_ = next_shift_;
    // All of them are later than horizon_, so the heap's events stay first
    // whatever the new width.
    cur_ = (first >> shift_) - 1;
    horizon_ = BucketEnd(cur_);
    epoch_end_ = cur_ + 1 + static_cast<int64_t>(kBuckets);
    std::vector<Entry> later;
    later.swap(overflow_);
    for (const Entry& e : later) Park(e);
    later.clear();
    if (overflow_.empty()) overflow_.swap(later);  // keep the larger buffer
    // Most events still beyond the epoch means rescanning them every epoch:
    // the next epoch gets buckets twice as wide.
    if (2 * overflow_.size() > live && shift_ < kMaxShift) next_shift_ = shift_ + 1;
  }
}

void Simulator::Compact() {
  // Entries are totally ordered by (at, key), so the rebuilt heap pops in
  // exactly the order the old one would have.
  auto stale = [this](const Entry& e) { return !IsLive(e); };
  // remove_if() keeps the order of what it keeps: a sorted run stays
  // sorted, and a heap is rebuilt below.
  run_.erase(run_.begin(), run_.begin() + static_cast<ptrdiff_t>(head_));
  head_ = 0;
  run_.erase(std::remove_if(run_.begin(), run_.end(), stale), run_.end());
  for (auto& bucket : buckets_) bucket.erase(std::remove_if(bucket.begin(), bucket.end(), stale), bucket.end());
  overflow_.erase(std::remove_if(overflow_.begin(), overflow_.end(), stale), overflow_.end());
  tombstones_ = 0;
  if (heap_mode_) Heapify();
}

void Simulator::RunUntil(Time until) {
  stopped_ = false;
  while (!stopped_) {
    if (run_.empty()) {
      Refill();
      if (run_.empty()) break;
    }
    Entry top;
    if (!heap_mode_) [[likely]] {
      top = run_[head_];
      if (top.at > until) break;
      if (++head_ == run_.size()) {
        run_.clear();
        head_ = 0;
      }
    } else {
      top = run_.front();
      if (top.at > until) break;
      PopHeap();
    }
    Slot& s = slots_[top.key & kSlotMask];
    if (s.key != top.key) {
      --tombstones_;
      continue;
    }
    EventHandler* handler = s.handler;
    uint64_t tag = s.tag;
    // Free the slot before dispatch: the handler may schedule into it.
    s.key = 0;
    free_.push_back(static_cast<uint32_t>(top.key & kSlotMask));
    --live_;
    now_ = top.at;
    ++processed_;
    handler->OnEvent(tag);
  }
  if (!stopped_ && until != kTimeMax && now_ < until) now_ = until;
}

}  // namespace kreplay::sim
