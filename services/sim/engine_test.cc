#include "services/sim/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "services/sim/rng.h"

namespace kreplay::sim {
namespace {

struct Recorder : EventHandler {
  Simulator* sim = nullptr;
  std::vector<std::pair<Time, uint64_t>> seen;
  void OnEvent(uint64_t tag) override { seen.emplace_back(sim->Now(), tag); }
};

TEST(Engine, OrdersByTimeThenScheduleOrder) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  sim.At(30, &r, 1);
  sim.At(10, &r, 2);
  sim.At(10, &r, 3);  // same time as tag 2, scheduled later: fires after it
  sim.At(20, &r, 4);
  sim.At(10, &r, 5);
  sim.Run();
  std::vector<std::pair<Time, uint64_t>> want = {{10, 2}, {10, 3}, {10, 5}, {20, 4}, {30, 1}};
  EXPECT_EQ(r.seen, want);
  EXPECT_EQ(sim.events_processed(), 5u);
}

TEST(Engine, CancelledEventsDoNotFireOrCount) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  EventId a = sim.At(5, &r, 1);
  sim.At(6, &r, 2);
  EXPECT_TRUE(sim.Cancel(a));
  EXPECT_FALSE(sim.Cancel(a));
  sim.Run();
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].second, 2u);
  EXPECT_EQ(sim.events_processed(), 1u);
}

TEST(Engine, RunUntilStopsAtBoundaryAndAdvancesClock) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  sim.At(100, &r, 1);
  sim.At(200, &r, 2);
  sim.RunUntil(150);
  EXPECT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(sim.Now(), 150);
  sim.RunUntil(200);  // inclusive
  EXPECT_EQ(r.seen.size(), 2u);
}

// A self-rescheduling handler with pseudo-random delays: two runs give the
// same trace, which is what determinism across workers rests on.
struct Chain : EventHandler {
  Simulator* sim;
  uint64_t state = 12345;
  std::vector<Time> times;
  void OnEvent(uint64_t tag) override {
    times.push_back(sim->Now());
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    if (times.size() < 1000) sim->After(static_cast<Duration>(state >> 54), this, tag);
  }
};

TEST(Engine, RepeatedRunsAreIdentical) {
  auto run = [] {
    Simulator sim;
    Chain a, b;
    a.sim = b.sim = &sim;
    b.state = 99;
    sim.At(0, &a, 0);
    sim.At(0, &b, 1);
    sim.Run();
    std::vector<Time> all = a.times;
    all.insert(all.end(), b.times.begin(), b.times.end());
    return all;
  };
  EXPECT_EQ(run(), run());
}


TEST(Engine, CancelIsExactAboutWhatIsPending) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  EXPECT_FALSE(sim.Cancel(0));
  EXPECT_FALSE(sim.Cancel(12345));  // never issued
  EventId a = sim.At(10, &r, 1);
  EventId b = sim.At(20, &r, 2);
  EXPECT_EQ(sim.pending(), 2u);
  sim.RunUntil(15);
  EXPECT_FALSE(sim.Cancel(a));  // already fired
  EXPECT_EQ(sim.pending(), 1u);
  // `a`'s storage is free again; a new event must not make `a` cancellable.
  EventId c = sim.At(30, &r, 3);
  EXPECT_NE(c, a);
  EXPECT_FALSE(sim.Cancel(a));
  EXPECT_TRUE(sim.Cancel(b));
  EXPECT_FALSE(sim.Cancel(b));
  EXPECT_EQ(sim.pending(), 1u);
  EventId d = sim.At(25, &r, 4);  // may reuse b's storage
  EXPECT_FALSE(sim.Cancel(b));
  sim.Run();
  std::vector<std::pair<Time, uint64_t>> want = {{10, 1}, {25, 4}, {30, 3}};
  EXPECT_EQ(r.seen, want);
  EXPECT_FALSE(sim.Cancel(d));
  EXPECT_TRUE(sim.Empty());
  EXPECT_EQ(sim.events_processed(), 3u);
}

TEST(Engine, ManyCancellationsKeepOrder) {
  // Enough tombstones to force compaction, spread over near, bucketed and
  // overflow times.
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  Rng rng(5);
  std::vector<std::pair<Time, uint64_t>> kept;
  std::vector<EventId> ids;
  std::vector<Time> at;
  for (uint64_t i = 0; i < 2000; ++i) {
    Time t = rng.Range(0, 3 * kSec);
    at.push_back(t);
    ids.push_back(sim.At(t, &r, i));
  }
  for (uint64_t i = 0; i < 2000; ++i) {
    if (i % 10 == 3) {
      kept.emplace_back(at[i], i);
    } else {
      EXPECT_TRUE(sim.Cancel(ids[i]));
    }
  }
  EXPECT_EQ(sim.pending(), kept.size());
  // Expected order: by time, then by scheduling order (= tag here).
  std::stable_sort(kept.begin(), kept.end(), [](auto& x, auto& y) { return x.first < y.first; });
  sim.Run();
  EXPECT_EQ(r.seen, kept);
  EXPECT_EQ(sim.events_processed(), kept.size());
}

TEST(Engine, ExtremeTimesAndLateEarlyScheduling) {
  Simulator sim;
  Recorder r;
  r.sim = &sim;
  sim.At(kTimeMax, &r, 1);
  sim.At(kTimeMax - 1, &r, 2);
  sim.At(Time{1} << 62, &r, 3);
  sim.At(5 * kMs, &r, 4);
  sim.RunUntil(6 * kMs);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(sim.Now(), 6 * kMs);
  // The engine has looked ahead; an event just after Now() still comes first.
  sim.At(sim.Now() + 1, &r, 5);
  sim.At(sim.Now(), &r, 6);
  sim.Run();
  std::vector<std::pair<Time, uint64_t>> want = {{5 * kMs, 4},          {6 * kMs, 6}, {6 * kMs + 1, 5},
                                                 {Time{1} << 62, 3},    {kTimeMax - 1, 2}, {kTimeMax, 1}};
  EXPECT_EQ(r.seen, want);
}

// White-box: the engine files events in time buckets of 2^20 ns. An event
// scheduled, from inside a bucket, at that bucket's last nanosecond must still
// fire before the next bucket's events.
TEST(Engine, EventsAtBucketEdgesKeepOrder) {
  constexpr Time kW = Time{1} << 20;
  Simulator sim;
  struct EdgeScheduler : EventHandler {
    Simulator* sim;
    std::vector<std::pair<Time, uint64_t>> seen;
    void OnEvent(uint64_t tag) override {
      seen.emplace_back(sim->Now(), tag);
      if (tag < 1000) sim->At(((sim->Now() / kW) + 1) * kW - 1, this, 1000 + tag);
    }
  } h;
  h.sim = &sim;
  std::vector<std::pair<Time, uint64_t>> want;
  for (uint64_t k = 0; k < 200; ++k) {
    sim.At(static_cast<Time>(k) * kW + 5, &h, k);
    want.emplace_back(static_cast<Time>(k) * kW + 5, k);
    want.emplace_back(static_cast<Time>(k + 1) * kW - 1, 1000 + k);
  }
  sim.Run();
  EXPECT_EQ(h.seen, want);
}

// A bucket enters the heap all at once (heapified, tombstones dropped):
// randomized times drawn from a handful of values, so most events tie with
// others in their bucket, some cancelled before their bucket loads, some
// added to the loaded bucket from inside handlers. The order must be time,
// then scheduling order, exactly as with one push per event.
TEST(Engine, BucketLoadsKeepOrderAmongTies) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Simulator sim;
    Rng rng(seed);
    struct Joiner : EventHandler {
      Simulator* sim;
      Rng* rng;
      uint64_t next_tag;
      std::vector<std::pair<Time, uint64_t>> seen;
      std::vector<std::pair<Time, uint64_t>> added;  // scheduled from handlers
      void OnEvent(uint64_t tag) override {
        seen.emplace_back(sim->Now(), tag);
        if (rng->Bernoulli(0.2) && next_tag < 100000) {
          Time at = sim->Now() + static_cast<Time>(rng->Below(3));  // ties with pending events
          added.emplace_back(at, next_tag);
          sim->At(at, this, next_tag++);
        }
      }
    } h;
    h.sim = &sim;
    h.rng = &rng;
    h.next_tag = 50000;
    // A few distinct times per bucket (2^20 ns wide at first) over ~40 buckets.
    std::vector<std::pair<Time, uint64_t>> want;
    std::vector<EventId> ids;
    for (uint64_t i = 0; i < 3000; ++i) {
      Time at = static_cast<Time>(rng.Below(40)) * (Time{1} << 20) + static_cast<Time>(rng.Below(4)) * 1000;
      ids.push_back(sim.At(at, &h, i));
      want.emplace_back(at, i);
    }
    for (uint64_t i = 0; i < 3000; ++i) {
      if (rng.Bernoulli(0.25)) {
        EXPECT_TRUE(sim.Cancel(ids[i]));
        want[i].second = UINT64_MAX;
      }
    }
    want.erase(std::remove_if(want.begin(), want.end(), [](auto& e) { return e.second == UINT64_MAX; }), want.end());
    sim.Run();
    // Events added from handlers were scheduled after every initial one and
    // in tag order, so (time, tag) is (time, scheduling order).
    want.insert(want.end(), h.added.begin(), h.added.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(h.seen, want) << "seed " << seed;
    EXPECT_TRUE(sim.Empty());
  }
}

// The engine against a plainly correct reference queue (linear scan for the
// earliest (time, schedule order)), driven by the same random program:
// handlers schedule follow-ups at delays from 0 to seconds, cancel pending
// and stale ids, and the two runs must fire the same events in the same order
// and agree on every Cancel() result.
class RefQueue {
 public:
  struct Ev {
    Time at;
    uint64_t seq;
    uint64_t tag;
    bool live;
  };
  Time Now() const { return now_; }
  uint64_t At(Time at, uint64_t tag) {
    evs_.push_back(Ev{at, evs_.size() + 1, tag, true});
    return evs_.size();
  }
  bool Cancel(uint64_t id) {
    if (id == 0 || id > evs_.size() || !evs_[id - 1].live) return false;
    evs_[id - 1].live = false;
    return true;
  }
  // Pops the next event; false when none is left.
  bool Next(uint64_t* tag) {
    Ev* best = nullptr;
    for (Ev& e : evs_) {
      if (e.live && (!best || e.at < best->at || (e.at == best->at && e.seq < best->seq))) best = &e;
    }
    if (!best) return false;
    best->live = false;
    now_ = best->at;
    *tag = best->tag;
    return true;
  }

 private:
  std::vector<Ev> evs_;
  Time now_ = 0;
};

// The random program: `Sched` and `Cancel` are the queue's operations.
template <typename SchedFn, typename CancelFn>
void Step(Rng& rng, Time now, uint64_t& next_tag, std::vector<uint64_t>& pending, std::vector<uint64_t>& done,
          std::vector<int>& cancel_results, SchedFn sched, CancelFn cancel) {
  static constexpr Time kDelays[] = {0, 1, 999, 300 * kUs, 2 * kMs, 40 * kMs, 700 * kMs, 5 * kSec};
  int n = 1 + static_cast<int>(rng.Below(2));
  for (int i = 0; i < n && next_tag < 4000; ++i) {
    Time d = kDelays[rng.Below(8)];
    d += d > 1 ? rng.Range(0, d) : 0;
    pending.push_back(sched(now + d, next_tag++));
  }
  if (!pending.empty() && rng.Bernoulli(0.3)) {
    size_t k = rng.Below(pending.size());
    cancel_results.push_back(cancel(pending[k]));
    pending.erase(pending.begin() + static_cast<ptrdiff_t>(k));
  }
  if (!done.empty() && rng.Bernoulli(0.1)) cancel_results.push_back(cancel(done[rng.Below(done.size())]));
}

// Start times: a dense burst (hundreds of events within a microsecond, so the
// engine must split its time buckets) and a sparse tail.
Time Start(Rng& rng, int i) { return i < 250 ? static_cast<Time>(rng.Below(1000)) : static_cast<Time>(rng.Below(10 * kMs)); }

// Runs the same random program on the engine and on RefQueue: `initial`
// start events at Start(rng, i), each event then calling StepFn (the
// program) with the queue's operations. Returns (fired, cancel results) of
// each.
template <typename StartFn, typename StepFn>
void ExpectMatchesReference(uint64_t seed, int initial, StartFn start, StepFn step) {
  // Engine run.
  std::vector<std::pair<Time, uint64_t>> got;
  std::vector<int> got_cancels;
  {
    Simulator sim;
    Rng rng(seed);
    uint64_t next_tag = 0;
    std::vector<uint64_t> pending, done;
    std::map<uint64_t, uint64_t> id_of_tag;
    auto cancel = [&](uint64_t id) { return static_cast<int>(sim.Cancel(id)); };
    struct H : EventHandler {
      std::function<void(uint64_t)> f;
      void OnEvent(uint64_t tag) override { f(tag); }
    } h;
    auto sched_h = [&](Time at, uint64_t tag) { return id_of_tag[tag] = sim.At(at, &h, tag); };
    h.f = [&](uint64_t tag) {
      got.emplace_back(sim.Now(), tag);
      uint64_t id = id_of_tag[tag];
      pending.erase(std::remove(pending.begin(), pending.end(), id), pending.end());
      done.push_back(id);
      step(rng, sim.Now(), next_tag, pending, done, got_cancels, sched_h, cancel);
    };
    for (int i = 0; i < initial; ++i) pending.push_back(sched_h(start(rng, i), next_tag++));
    sim.Run();
    EXPECT_TRUE(sim.Empty());
    EXPECT_EQ(sim.events_processed(), got.size());
  }
  // Reference run.
  std::vector<std::pair<Time, uint64_t>> want;
  std::vector<int> want_cancels;
  {
    RefQueue q;
    Rng rng(seed);
    uint64_t next_tag = 0;
    std::vector<uint64_t> pending, done;
    std::map<uint64_t, uint64_t> id_of_tag;
    auto sched = [&](Time at, uint64_t tag) { return id_of_tag[tag] = q.At(at, tag); };
    auto cancel = [&](uint64_t id) { return static_cast<int>(q.Cancel(id)); };
    for (int i = 0; i < initial; ++i) pending.push_back(sched(start(rng, i), next_tag++));
    uint64_t tag;
    while (q.Next(&tag)) {
      want.emplace_back(q.Now(), tag);
      uint64_t id = id_of_tag[tag];
      pending.erase(std::remove(pending.begin(), pending.end(), id), pending.end());
      done.push_back(id);
      step(rng, q.Now(), next_tag, pending, done, want_cancels, sched, cancel);
    }
  }
  EXPECT_GT(want.size(), 1000u) << "seed " << seed;
  EXPECT_EQ(got, want) << "seed " << seed;
  EXPECT_EQ(got_cancels, want_cancels) << "seed " << seed;
}

TEST(Engine, MatchesReferenceQueue) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    ExpectMatchesReference(seed, 300, Start, [](auto&&... a) { Step(a...); });
  }
}

// Bursts due together: handlers schedule up to three events within a few ns
// of now (with probability `near`, else up to 5 ms ahead) and cancel pending
// ones, so the current bucket's run grows past its sorted limit (loaded as a
// heap, or turning into one) and shrinks again, and tombstones pile up until
// compaction in either shape.
TEST(Engine, MatchesReferenceQueueInBursts) {
  auto start = [](Rng& rng, int) { return static_cast<Time>(rng.Below(3)); };
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const double near = seed <= 4 ? 0.9 : 0.5;
    auto burst = [near](Rng& rng, Time now, uint64_t& next_tag, std::vector<uint64_t>& pending,
                        std::vector<uint64_t>& done, std::vector<int>& cancel_results, auto sched, auto cancel) {
      int n = 1 + static_cast<int>(rng.Below(3));
      for (int i = 0; i < n && next_tag < 6000; ++i) {
        Time d = rng.Bernoulli(near) ? static_cast<Time>(rng.Below(3)) : rng.Range(0, 5 * kMs);
        pending.push_back(sched(now + d, next_tag++));
      }
      while (!pending.empty() && rng.Bernoulli(0.45)) {
        size_t k = rng.Below(pending.size());
        cancel_results.push_back(cancel(pending[k]));
        pending.erase(pending.begin() + static_cast<ptrdiff_t>(k));
      }
      if (!done.empty() && rng.Bernoulli(0.1)) cancel_results.push_back(cancel(done[rng.Below(done.size())]));
    };
    ExpectMatchesReference(seed, seed % 2 ? 200 : 20, start, burst);
  }
}

}  // namespace
}  // namespace kreplay::sim
