// The discrete-event engine. Models schedule events through it and never own
// time. Events fire in (time, sequence) order: ties are broken by the order in
// which they were scheduled, so a run is a pure function of its inputs.
//
// One Simulator per run; not thread-safe; no global state (a worker runs many
// simulations at once, one per thread).
//
// Cost model (see engine.cc): At() files an event in O(1) amortised unless it
// is due within the current time bucket, which costs O(k), k the events due
// in that bucket while they are few (a sorted run), O(log k) when many (a
// binary heap); each dispatch is O(1) or O(log k) likewise; Cancel() is O(1)
// amortised.
// Nothing is allocated per event once storage has grown to its peak.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "services/sim/time.h"

namespace kreplay::sim {

// Receives events. `tag` is the model's own word (e.g. a CPU index and a kind).
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void OnEvent(uint64_t tag) = 0;
};

// Identifies a scheduled event for Cancel(). 0 is never a valid id. An id is
// never reused within one Simulator, so a stale id (its event fired or was
// cancelled) is always recognised as such.
using EventId = uint64_t;

class Simulator {
 public:
  Simulator() = default;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  Time Now() const { return now_; }

  // Schedules handler->OnEvent(tag) at absolute time `at`.
  // REQUIRES: at >= Now(); handler outlives the event; fewer than 2^24
  // events pending at once and fewer than 2^40 scheduled over the run.
  EventId At(Time at, EventHandler* handler, uint64_t tag = 0);
  EventId After(Duration delay, EventHandler* handler, uint64_t tag = 0) {
    return At(now_ + delay, handler, tag);
  }

  // Cancels a pending event. A cancelled event never fires and is not
  // counted as processed. Returns false, and changes nothing, if `id` already
  // fired, was already cancelled, or was never issued by this Simulator.
  bool Cancel(EventId id);

  // Runs events with time <= until (or until Stop()); leaves Now() == until
  // unless stopped earlier or the queue ran dry (then Now() is the last event).
  void RunUntil(Time until);
  // Runs until the queue is empty or Stop() is called.
  void Run() { RunUntil(kTimeMax); }
  // Makes the current RunUntil return after the current event.
  void Stop() { stopped_ = true; }

  bool Empty() const { return live_ == 0; }
  // Events dispatched to handlers (cancelled ones excluded).
  uint64_t events_processed() const { return processed_; }
  // Events scheduled and neither fired nor cancelled.
  size_t pending() const { return live_; }

 private:
  // An event's id doubles as its heap key: the sequence number in the high
  // bits (unique and increasing, so comparing keys compares sequence numbers)
  // and the index of its slot in the low kSlotBits.
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
  static constexpr uint64_t kMaxSeq = uint64_t{1} << (64 - kSlotBits);

  // What the heap orders; the payload stays in the slot so sifting moves
  // 16 bytes per level.
  struct Entry {
    Time at;
    uint64_t key;
  };
  // Payload of a pending event. `key` is the id of the event that owns the
  // slot, or 0 when the slot is free. A heap entry whose key differs from its
  // slot's is a tombstone left by Cancel() and is skipped when popped.
  struct Slot {
    EventHandler* handler;
    uint64_t tag;
    uint64_t key;
  };

  // Branch-free on purpose: which child is smaller is a coin toss, and a
  // mispredicted branch per heap level costs more than the comparison.
  // (at, key) compared as one 128-bit unsigned number: a compare and a
  // subtract-with-borrow. Exact because at >= 0 (At() requires at >= Now()).
  static bool Before(const Entry& a, const Entry& b) {
    __extension__ typedef unsigned __int128 U128;
    return ((U128{static_cast<uint64_t>(a.at)} << 64) | a.key) < ((U128{static_cast<uint64_t>(b.at)} << 64) | b.key);
  }
  // At()'s rare cases, reached by tail calls so that At() itself is a leaf:
  // AtSlow() checks the arguments and adds a slot when none is free, and
  // ParkSlow() files an entry whose vector must grow, or into the current
  // bucket once it is a heap or its run is full. Both return At()'s id.
  [[gnu::noinline]] EventId AtSlow(Time at, EventHandler* handler, uint64_t tag);
  [[gnu::noinline]] EventId ParkSlow(Entry e);
  // Files an entry in the current bucket, a later bucket or the overflow by
  // its time.
  void Park(Entry e);
  // Adds an entry to the current bucket (run_), sorted or heap.
  void PushNow(Entry e);
  // Makes the run a heap (it outgrew kMaxRun).
  void RunToHeap();
  // The heap's inner loops. Declared inline and defined in engine.cc, the
  // only file that calls them, so that the hot paths there need no calls.
  inline void SiftUp(size_t i, Entry e);
  inline void SiftDown(size_t i, Entry e);
  inline void PopHeap();
  // REQUIRES: run_ empty. Loads the next non-empty bucket into the run,
  // starting a new epoch from the overflow when the buckets are used up.
  void Refill();
  // Re-files all bucketed events with narrower buckets (see engine.cc).
  void Narrow(size_t load, size_t target);
  Time BucketEnd(int64_t bucket) const;
  // Makes run_ a heap (Floyd's bottom-up build).
  void Heapify();
  // Drops tombstones (keeping the run's order); called when they outnumber
  // live entries, which bounds the storage at about twice the pending events.
  void Compact();
  bool IsLive(const Entry& e) const { return slots_[e.key & kSlotMask].key == e.key; }

  // Three tiers, each of which may hold tombstones. Events up to horizon_
  // (the end of bucket cur_) are in run_: while at most kMaxRun, sorted on
  // (at, key) from run_[head_] (popped entries are skipped by head_, not
  // moved), else a binary min-heap from run_[0] (heap_mode_, until the run
  // is empty). Later ones wait unsorted in time buckets of 2^shift_ ns, one
  // per bucket index in (cur_, epoch_end_), or in the overflow beyond that;
  // a bucket enters the run when the run is empty. So the run stays short
  // and most events are filed in O(1), while the pop order stays exactly
  // (at, key): every event outside the run is later than every one inside.
  // The width adapts (narrower when a bucket is overfull, wider when most
  // events lie beyond the epoch or an epoch is sparse); it affects speed
  // only.
  static constexpr int kDefaultShift = 20;  // ~1 ms
  static constexpr int kMinShift = 6;
  static constexpr int kMaxShift = 40;
  static constexpr size_t kBuckets = 64;
  int shift_ = kDefaultShift;       // width of the current epoch's buckets
  int next_shift_ = kDefaultShift;  // width for the next epoch
  uint64_t epoch_loaded_ = 0;  // events loaded from buckets this epoch
  bool narrowed_ = false;      // the current epoch was started by Narrow()
  static constexpr size_t kMaxRun = 32;
  std::vector<Entry> run_;  // empty, or head_ < run_.size()
  size_t head_ = 0;         // sorted: the next entry; heap: 0
  bool heap_mode_ = false;
  std::array<std::vector<Entry>, kBuckets> buckets_;
  std::vector<Entry> overflow_;
  int64_t cur_ = -1;
  int64_t epoch_end_ = static_cast<int64_t>(kBuckets);
  Time horizon_ = -1;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // free slot indices, reused last-in first-out
  size_t tombstones_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t processed_ = 0;
  size_t live_ = 0;
  Time now_ = 0;
  bool stopped_ = false;
};

}  // namespace kreplay::sim
