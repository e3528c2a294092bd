// The discrete-event engine. Models schedule events through it and never own
// time. Events fire in (time, sequence) order: ties are broken by the order in
// which they were scheduled, so a run is a pure function of its inputs.
//
// One Simulator per run; not thread-safe; no global state (a worker runs many
// simulations at once, one per thread).
#pragma once

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

// Identifies a scheduled event for Cancel(). 0 is never a valid id.
using EventId = uint64_t;

class Simulator {
 public:
  Simulator() = default;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  Time Now() const { return now_; }

  // Schedules handler->OnEvent(tag) at absolute time `at`.
  // REQUIRES: at >= Now(); handler outlives the event.
  EventId At(Time at, EventHandler* handler, uint64_t tag = 0);
  EventId After(Duration delay, EventHandler* handler, uint64_t tag = 0) {
    return At(now_ + delay, handler, tag);
  }

  // Cancels a pending event; O(1). Cancelled events are dropped when they
  // reach the head of the queue and are not counted as processed. Returns
  // false if `id` already fired or was cancelled.
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
  size_t pending() const { return live_; }

 private:
  struct Entry {
    Time at;
    uint64_t seq;
    EventHandler* handler;
    uint64_t tag;
  };
  static bool Later(const Entry& a, const Entry& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
  void PushHeap(Entry e);
  Entry PopHeap();
  bool IsCancelled(uint64_t seq) const;

  std::vector<Entry> heap_;
  // Cancellation bitmap indexed by seq - cancel_base_; trimmed as time moves.
  std::vector<bool> cancelled_;
  uint64_t cancel_base_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t processed_ = 0;
  size_t live_ = 0;
  Time now_ = 0;
  bool stopped_ = false;
};

}  // namespace kreplay::sim
