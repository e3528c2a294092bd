// Tests for EevdfRq/EevdfPick. Every expectation is computed here from the
// rule it checks (Documentation/scheduler/sched-eevdf.rst, the fair.c
// functions named in eevdf_rq.h), never read back from the model.
#include "workers/models/sched/eevdf_rq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "workers/models/sched/eevdf_pick.h"

namespace kreplay::sched {
namespace {

constexpr int64_t kMs = sim::kMs;
constexpr int64_t kUs = sim::kUs;
// Exact sums for the reference computations (GCC/Clang extension).
__extension__ typedef __int128 I128;

EevdfTraits Traits(const char* version, int ncpus = 6) {
  StatusOr<EevdfTraits> t = MainlineEevdfTraits(version, ncpus);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

// sum w_i v_i and sum w_i over curr and the queue, in 128 bits.
struct Sums {
  I128 wv = 0, w = 0;
};
Sums SumsOf(const EevdfRq& rq) {
  Sums t;
  auto add = [&](const EevdfEntity* e) {
    t.wv += static_cast<I128>(e->vruntime) * e->weight;
    t.w += e->weight;
  };
  if (rq.curr()) add(rq.curr());
  for (int i = 0; i < rq.queued(); ++i) add(rq.queued_at(i));
  return t;
}
// V = sum w_i v_i / sum w_i, floored (avg_vruntime()), from scratch.
int64_t ExpectedV(const EevdfRq& rq) {
  Sums t = SumsOf(rq);
  if (t.w == 0) return rq.min_vruntime();
  I128 q = t.wv / t.w;
  if (t.wv % t.w != 0 && t.wv < 0) --q;  // floor
  return static_cast<int64_t>(q);
}
uint64_t TotalWeight(const EevdfRq& rq) { return static_cast<uint64_t>(SumsOf(rq).w); }
// lag_i >= 0 <=> v_i <= V, tested exactly: v_i * W <= sum w_j v_j.
bool ExpectedEligible(const EevdfRq& rq, const EevdfEntity* se) {
  Sums t = SumsOf(rq);
  return static_cast<I128>(se->vruntime) * t.w <= t.wv;
}

int64_t Abs(int64_t x) { return x < 0 ? -x : x; }

void Fork(EevdfRq& rq, EevdfEntity* se) {
  rq.PlaceEntity(se, /*initial=*/true);
  rq.Enqueue(se);
}

TEST(EevdfTraits, DefaultsPerVersion) {
  // base slice 0.75 ms x (1 + ilog2(min(ncpus, 8))): x3 at 6 CPUs.
  EevdfTraits t66 = Traits("6.6");
  EXPECT_EQ(t66.normalized_base_slice, 750 * kUs);
  EXPECT_EQ(t66.base_slice, 2250 * kUs);
  EXPECT_EQ(t66.tick, 4 * kMs);  // HZ=250
  EXPECT_TRUE(t66.features.place_lag);
  EXPECT_TRUE(t66.features.place_deadline_initial);
  EXPECT_TRUE(t66.features.run_to_parity);
  EXPECT_FALSE(t66.features.preempt_short);
  EXPECT_FALSE(t66.features.delay_dequeue);
  EXPECT_FALSE(t66.features.delay_zero);
  EXPECT_FALSE(t66.features.place_rel_deadline);
  EXPECT_FALSE(t66.custom_slice);
  EXPECT_EQ(t66.lag_clamp, EevdfLagClamp::kTwiceSliceOrTick);
  EXPECT_EQ(t66.protect, EevdfProtect::kUntilDeadline);
  EXPECT_EQ(t66.short_wakeup, EevdfShortWakeup::kNone);

  EevdfTraits t612 = Traits("v6.12");
  EXPECT_EQ(t612.base_slice, 2250 * kUs);
  EXPECT_TRUE(t612.features.preempt_short);
  EXPECT_TRUE(t612.features.delay_dequeue);
  EXPECT_TRUE(t612.features.delay_zero);
  EXPECT_TRUE(t612.features.place_rel_deadline);
  EXPECT_TRUE(t612.custom_slice);
  EXPECT_EQ(t612.lag_clamp, EevdfLagClamp::kTwiceSliceOrTick);
  EXPECT_EQ(t612.short_wakeup, EevdfShortWakeup::kCancelThenPick);

  // 0.75 ms until 6.14, 0.70 ms from 6.15, still scaled: x4 at 8+ CPUs.
  EXPECT_EQ(Traits("6.14", 8).base_slice, 3000 * kUs);
  EXPECT_EQ(Traits("6.15", 8).base_slice, 2800 * kUs);
  EXPECT_EQ(Traits("6.15", 1).base_slice, 700 * kUs);
  EXPECT_EQ(Traits("6.15", 64).normalized_base_slice, 700 * kUs);

  for (const char* v : {"6.17", "6.18"}) {
    EevdfTraits t = Traits(v);
    EXPECT_EQ(t.lag_clamp, EevdfLagClamp::kMaxSlicePlusTick) << v;
    EXPECT_EQ(t.protect, EevdfProtect::kMinSlice) << v;
    EXPECT_EQ(t.short_wakeup, EevdfShortWakeup::kPickUnprotected) << v;
  }
  EXPECT_EQ(Traits("6.16").lag_clamp, EevdfLagClamp::kTwiceSliceOrTick);
  EXPECT_EQ(MainlineEevdfTraits("6.6", 4, 1000)->tick, 1 * kMs);
}

TEST(EevdfTraits, RejectsUnknownVersions) {
  for (const char* v : {"6.5", "5.15", "3.10", "6.19", "7.0", "6.12.3", "six", "", "6.", ".6", "6.6x"}) {
    StatusOr<EevdfTraits> t = MainlineEevdfTraits(v, 4);
    ASSERT_FALSE(t.ok()) << v;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << v;
    EXPECT_NE(t.status().message().find(std::string("'") + v + "'"), std::string::npos) << t.status().ToString();
  }
  EXPECT_FALSE(MainlineEevdfTraits("6.6", 0).ok());
}

TEST(EevdfTraits, FeatureOfALaterReleaseIsInvalid) {
  EevdfTraits t = Traits("6.6");
  t.features.delay_dequeue = true;
  Status s = t.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("DELAY_DEQUEUE"), std::string::npos);
  t = Traits("6.12");
  t.features.delay_dequeue = false;  // switching a feature off is always allowed
  EXPECT_TRUE(t.Validate().ok());
}

// __setparam_fair(): sched_runtime is the slice, clamped to [0.1, 100] ms;
// before 6.12 a fair task's sched_runtime is ignored.
TEST(EevdfRq, CustomSliceFromSchedRuntime) {
  EevdfRq rq612(Traits("6.12"));
  EevdfEntity e;
  rq612.SetSchedRuntime(&e, 10 * kUs);
  EXPECT_TRUE(e.custom_slice);
  EXPECT_EQ(e.slice, 100 * kUs);
  rq612.SetSchedRuntime(&e, 1000 * kMs);
  EXPECT_EQ(e.slice, 100 * kMs);
  rq612.SetSchedRuntime(&e, 0);
  EXPECT_FALSE(e.custom_slice);
  EXPECT_EQ(e.slice, 2250 * kUs);

  EevdfRq rq66(Traits("6.6"));
  EevdfEntity f;
  rq66.SetSchedRuntime(&f, 300 * kUs);
  EXPECT_FALSE(f.custom_slice);
  rq66.PlaceEntity(&f, false);
  EXPECT_EQ(f.slice, 2250 * kUs);
}

// A new task has lag 0, so it starts at V, and PLACE_DEADLINE_INITIAL gives
// it half a slice: deadline = V + (slice * 1024 / w) / 2.
TEST(EevdfRq, NewTaskStartsAtVWithHalfASlice) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    EevdfRq rq(Traits(v));
    EevdfEntity a{1, 1024}, b{2, 2048}, c{3, 335};
    Fork(rq, &a);
    Fork(rq, &b);
    ASSERT_NE(rq.PickNext(), nullptr);
    rq.UpdateCurr(3 * kMs);
    rq.PutPrev();
    rq.PickNext();
    rq.UpdateCurr(1 * kMs);
    int64_t V = ExpectedV(rq);
    EXPECT_EQ(rq.AvgVruntime(), V) << v;
    rq.PlaceEntity(&c, /*initial=*/true);
    EXPECT_EQ(c.vruntime, V) << v;
    int64_t vslice = rq.traits().base_slice * 1024 / 335;
    EXPECT_EQ(c.deadline, V + vslice / 2) << v;
    // Without PLACE_DEADLINE_INITIAL: a whole slice.
    EevdfTraits t = Traits(v);
    t.features.place_deadline_initial = false;
    EevdfRq rq2(t);
    EevdfEntity d{4, 335};
    rq2.PlaceEntity(&d, true);
    EXPECT_EQ(d.deadline, d.vruntime + vslice) << v;
  }
}

// Lag is conserved: sum_i w_i (V - v_i) = W V - sum w_i v_i, in (-W, 0]
// because V is the floored weighted average. Two always-runnable tasks then
// share the CPU w1:w2, each within one request (slice) plus one tick of its
// ideal share (EEVDF: -r_max < lag < max(r_max, q)).
TEST(EevdfRq, WeightedShareAndZeroLagSum) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    EevdfRq rq(Traits(v));
    EevdfEntity a{1, NiceToWeight(0)}, b{2, NiceToWeight(5)};
    Fork(rq, &a);
    Fork(rq, &b);
    rq.PickNext();
    const int64_t step = 1 * kMs;  // HZ=1000 ticks
    const int64_t total = 10000 * kMs;
    int64_t worst = 0;
    for (int64_t t = 0; t < total; t += step) {
      rq.UpdateCurr(step);
      if (rq.TickPreempt()) {
        rq.PutPrev();
        rq.PickNext();
      }
      I128 W = TotalWeight(rq);
      I128 lagsum = W * rq.AvgVruntime() - (static_cast<I128>(a.vruntime) * a.weight +
                                                static_cast<I128>(b.vruntime) * b.weight);
      ASSERT_LE(lagsum, 0) << v;
      ASSERT_GT(lagsum, -W) << v;
      int64_t ran = t + step;
      int64_t ideal_a = static_cast<int64_t>(static_cast<I128>(ran) * a.weight / (a.weight + b.weight));
      worst = std::max(worst, Abs(a.sum_exec - ideal_a));
    }
    EXPECT_EQ(a.sum_exec + b.sum_exec, total) << v;
    EXPECT_LE(worst, rq.traits().base_slice + step) << v;
    int64_t ideal_a = total * a.weight / (a.weight + b.weight);
    EXPECT_LE(Abs(a.sum_exec - ideal_a), rq.traits().base_slice + step) << v;
  }
}

// update_deadline(): once vruntime reaches the deadline the deadline moves
// to vruntime + slice * 1024 / w and, with others queued, the tick
// reschedules; alone, the deadline is renewed without a reschedule.
TEST(EevdfRq, TickReschedulesAtTheDeadline) {
  EevdfRq rq(Traits("6.6"));
  EevdfEntity a{1}, b{2};
  Fork(rq, &a);  // V = 0: deadline 0 + 2.25 ms / 2
  ASSERT_EQ(rq.PickNext(), &a);
  rq.UpdateCurr(1200 * kUs);  // past 1.125 ms, alone
  EXPECT_FALSE(rq.TickPreempt());
  EXPECT_EQ(a.deadline, 1200 * kUs + 2250 * kUs);
  Fork(rq, &b);
  rq.UpdateCurr(1000 * kUs);  // v = 2.2 ms < 3.45 ms
  EXPECT_FALSE(rq.TickPreempt());
  rq.UpdateCurr(1300 * kUs);  // v = 3.5 ms >= 3.45 ms
  EXPECT_TRUE(rq.TickPreempt());
  EXPECT_EQ(a.deadline, 3500 * kUs + 2250 * kUs);
  rq.PutPrev();
  EXPECT_FALSE(rq.TickPreempt());
}

// The earliest deadline is not picked while its entity is owed no service
// (v_i > V): eligibility first, then the deadline.
TEST(EevdfRq, IneligibleEntityIsNotPicked) {
  EevdfRq rq(Traits("6.6"));
  EevdfEntity a{1}, b{2};
  a.vruntime = 0;
  a.deadline = 10 * kMs;
  b.vruntime = 4 * kMs;  // V = 2 ms: b has negative lag
  b.deadline = 5 * kMs;
  rq.Enqueue(&a);
  rq.Enqueue(&b);
  ASSERT_FALSE(ExpectedEligible(rq, &b));
  EXPECT_FALSE(rq.Eligible(&b));
  EXPECT_EQ(rq.PickNext(), &a);
}

// Random placements, runs, sleeps and wake-ups: every pick is eligible and
// has the earliest deadline among eligible entities (ties allowed).
TEST(EevdfRq, RandomPicksAreEarliestEligibleDeadline) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    EevdfRq rq(Traits(v, 4));
    std::mt19937_64 rng(42);
    std::vector<EevdfEntity> es(12);
    std::vector<bool> asleep(es.size(), true);
    for (size_t i = 0; i < es.size(); ++i) {
      es[i].id = static_cast<uint32_t>(i);
      es[i].weight = NiceToWeight(static_cast<int>(rng() % 11) - 5);
      rq.SetSchedRuntime(&es[i], (rng() % 2) ? static_cast<int64_t>(rng() % (5 * kMs)) : 0);
    }
    for (int step = 0; step < 20000; ++step) {
      int op = static_cast<int>(rng() % 4);
      size_t i = rng() % es.size();
      if (op == 0 && asleep[i] && !es[i].on_rq) {
        rq.PlaceEntity(&es[i], es[i].sum_exec == 0);
        rq.Enqueue(&es[i]);
        asleep[i] = false;
        if (rq.curr()) rq.WakeupPreempt(&es[i]);
      } else if (op == 0 && asleep[i] && es[i].delayed) {
        rq.Requeue(&es[i]);
        asleep[i] = false;
        if (rq.curr()) rq.WakeupPreempt(&es[i]);
      } else if (op == 1 && rq.curr()) {
        rq.UpdateCurr(static_cast<int64_t>(rng() % (3 * kMs)) + 1);
      } else if (op == 2 && rq.curr()) {
        asleep[rq.curr()->id] = true;
        rq.DequeueCurr(true);
      } else if (op == 3 && rq.curr()) {
        rq.PutPrev();
      }
      if (!rq.curr() && rq.queued() > 0) {
        EevdfEntity* p = rq.PickEevdf();
        ASSERT_TRUE(ExpectedEligible(rq, p)) << v << " step " << step;
        for (int k = 0; k < rq.queued(); ++k) {
          const EevdfEntity* e = rq.queued_at(k);
          if (ExpectedEligible(rq, e)) {
            ASSERT_LE(p->deadline, e->deadline) << v << " step " << step;
          }
        }
        rq.PickNext();
      }
      ASSERT_EQ(rq.AvgVruntime(), ExpectedV(rq)) << v << " step " << step;
    }
  }
}

// PLACE_LAG: a dequeued entity keeps its lag vl = V - v (clamped) and is
// placed at V - vl * (W + w) / W, so that after it joins V' - v = vl again.
TEST(EevdfRq, PlaceLagKeepsLagAcrossSleep) {
  EevdfRq rq(Traits("6.6"));
  EevdfEntity a{1}, b{2}, c{3, 2048};
  Fork(rq, &a);
  Fork(rq, &b);
  Fork(rq, &c);
  ASSERT_NE(rq.PickNext(), &b);
  rq.UpdateCurr(1 * kMs);  // another runs, b waits: b is owed service
  int64_t V = ExpectedV(rq);
  int64_t expect_lag = V - b.vruntime;
  ASSERT_GT(expect_lag, 0);
  int64_t limit = std::max<int64_t>(2 * 2250 * kUs, 4 * kMs);  // calc_delta_fair(max(2 slice, TICK)), w = 1024
  ASSERT_LT(expect_lag, limit);
  rq.Dequeue(&b);  // leaves (6.6: no delayed dequeue, no relative deadline)
  EXPECT_EQ(b.vlag, expect_lag);
  rq.UpdateCurr(2 * kMs);
  int64_t V2 = ExpectedV(rq);
  int64_t W = static_cast<int64_t>(TotalWeight(rq));
  rq.PlaceEntity(&b, false);
  EXPECT_EQ(b.vruntime, V2 - expect_lag * (W + 1024) / W);
  rq.Enqueue(&b);
  EXPECT_LE(Abs((ExpectedV(rq) - b.vruntime) - expect_lag), 1);
  // Without PLACE_LAG it would start at V.
  EevdfTraits t = Traits("6.6");
  t.features.place_lag = false;
  EevdfRq rq2(t);
  EevdfEntity x{1}, y{2};
  Fork(rq2, &x);
  y.vlag = 1 * kMs;
  rq2.PlaceEntity(&y, false);
  EXPECT_EQ(y.vruntime, ExpectedV(rq2));
}

// update_entity_lag() clamp: +-calc_delta_fair(max(2 slice, TICK_NSEC))
// until 6.16, +-calc_delta_fair(max slice on the queue + TICK_NSEC) from
// 6.17.
TEST(EevdfRq, LagClampPerVersion) {
  struct Case {
    const char* v;
    int64_t limit;
  };
  // 6 CPUs, HZ=250: 6.6 slice 2.25 ms -> max(4.5, 4) = 4.5 ms;
  // 6.18 slice 2.1 ms -> 2.1 + 4 = 6.1 ms.
  for (Case c : {Case{"6.6", 4500 * kUs}, Case{"6.18", 6100 * kUs}}) {
    EevdfRq rq(Traits(c.v));
    EevdfEntity a{1}, x{2};
    Fork(rq, &a);
    Fork(rq, &x);
    ASSERT_EQ(rq.PickNext(), &a);
    rq.UpdateCurr(100 * kMs);  // x's lag is about 50 ms
    ASSERT_GT(ExpectedV(rq) - x.vruntime, c.limit);
    rq.Dequeue(&x);
    EXPECT_EQ(x.vlag, c.limit) << c.v;
  }
}

// Wake-up preemption: the wakee preempts when pick_eevdf() would pick it.
// 6.6 RUN_TO_PARITY keeps an eligible curr until its deadline is renewed.
TEST(EevdfRq, RunToParityProtectsCurrIn66) {
  for (bool parity : {true, false}) {
    EevdfTraits t = Traits("6.6");
    t.features.run_to_parity = parity;
    EevdfRq rq(t);
    EevdfEntity a{1};
    EevdfEntity w{2, NiceToWeight(-10)};
    Fork(rq, &a);  // deadline 1.125 ms
    ASSERT_EQ(rq.PickNext(), &a);
    rq.UpdateCurr(500 * kUs);
    rq.PlaceEntity(&w, false);  // lag 0: v = V = 0.5 ms
    rq.Enqueue(&w);
    // w's deadline 0.5 ms + 2.25 ms * 1024 / 9548 is earlier than a's, both
    // are eligible (v = V).
    ASSERT_LT(w.deadline, a.deadline);
    ASSERT_TRUE(ExpectedEligible(rq, &a));
    EXPECT_EQ(rq.WakeupPreempt(&w), !parity) << "RUN_TO_PARITY " << parity;
  }
}

// PREEMPT_SHORT (6.12+): an eligible wakee with a shorter slice and an
// earlier deadline preempts a protected curr; 6.6 has no custom slices and
// RUN_TO_PARITY protects curr.
TEST(EevdfRq, ShortSliceWakeeCutsProtection) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    EevdfRq rq(Traits(v));
    EevdfEntity a{1}, w{2};
    rq.SetSchedRuntime(&a, 3 * kMs);
    rq.SetSchedRuntime(&w, 100 * kUs);
    Fork(rq, &a);
    ASSERT_EQ(rq.PickNext(), &a);
    rq.UpdateCurr(500 * kUs);
    rq.PlaceEntity(&w, false);
    rq.Enqueue(&w);
    bool has_short = Traits(v).features.preempt_short;
    if (has_short) {
      // 0.5 ms + 0.1 ms < 0.5 * 3 ms: earlier deadline, and eligible.
      ASSERT_LT(w.deadline, a.deadline);
    }
    EXPECT_EQ(rq.WakeupPreempt(&w), has_short) << v;
    if (has_short) {
      rq.PutPrev();
      EXPECT_EQ(rq.PickNext(), &w) << v;
    }
  }
}

// DELAY_DEQUEUE (6.12+): an ineligible task going to sleep stays queued
// (counted in nr_running, not in nr_runnable) until pick_eevdf() selects
// it, which dequeues it; DELAY_ZERO then clips its positive lag to 0.
TEST(EevdfRq, DelayedDequeueUntilPicked) {
  EevdfRq rq(Traits("6.12"));
  std::vector<EevdfEntity*> blocked;
  rq.set_blocked_hook([](void* ctx, EevdfEntity* se) { static_cast<std::vector<EevdfEntity*>*>(ctx)->push_back(se); },
                      &blocked);
  EevdfEntity a{1}, b{2};
  Fork(rq, &a);
  Fork(rq, &b);
  ASSERT_EQ(rq.PickNext(), &a);
  rq.UpdateCurr(2 * kMs);  // V = 1 ms < v_a = 2 ms
  ASSERT_FALSE(ExpectedEligible(rq, &a));
  EXPECT_FALSE(rq.DequeueCurr(/*sleep=*/true));
  EXPECT_TRUE(a.delayed);
  EXPECT_EQ(rq.nr_running(), 2);
  EXPECT_EQ(rq.nr_runnable(), 1);
  EXPECT_EQ(rq.load(), 2048u);
  ASSERT_EQ(rq.PickNext(), &b);
  rq.UpdateCurr(3 * kMs);  // v_b = 3 ms, V = 2.5 ms: a is eligible now, b is not
  ASSERT_TRUE(ExpectedEligible(rq, &a));
  rq.PutPrev();
  EXPECT_EQ(rq.PickNext(), &b);  // a was chosen first and dequeued instead
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0], &a);
  EXPECT_FALSE(a.on_rq);
  EXPECT_FALSE(a.delayed);
  EXPECT_EQ(a.vlag, 0);  // it had 0.5 ms of positive lag
  EXPECT_EQ(rq.nr_running(), 1);
  EXPECT_EQ(rq.load(), 1024u);

  // 6.6: the same sleep leaves at once with its negative lag.
  EevdfRq rq66(Traits("6.6"));
  EevdfEntity c{1}, d{2};
  Fork(rq66, &c);
  Fork(rq66, &d);
  rq66.PickNext();
  rq66.UpdateCurr(2 * kMs);
  EXPECT_TRUE(rq66.DequeueCurr(true));
  EXPECT_EQ(c.vlag, 1 * kMs - 2 * kMs);
  EXPECT_EQ(rq66.nr_running(), 1);
}

// requeue_delayed_entity(): a delayed task woken while still owing service
// keeps its place; woken after it became owed service, DELAY_ZERO re-places
// it at lag 0 (v = V of the others).
TEST(EevdfRq, WakeOfDelayedEntityRequeues) {
  for (bool became_eligible : {false, true}) {
    EevdfRq rq(Traits("6.12"));
    EevdfEntity a{1}, b{2};
    Fork(rq, &a);
    Fork(rq, &b);
    rq.PickNext();
    rq.UpdateCurr(2 * kMs);
    ASSERT_FALSE(rq.DequeueCurr(true));
    ASSERT_EQ(rq.PickNext(), &b);
    rq.UpdateCurr(became_eligible ? 3 * kMs : 1 * kMs);  // V = 2.5 ms or 1.5 ms
    int64_t v_before = a.vruntime;
    bool eligible = ExpectedEligible(rq, &a);
    ASSERT_EQ(eligible, became_eligible);
    rq.Requeue(&a);
    EXPECT_FALSE(a.delayed);
    EXPECT_EQ(rq.nr_runnable(), 2);
    if (became_eligible) {
      EXPECT_EQ(a.vruntime, b.vruntime);  // V of curr b alone
      EXPECT_EQ(a.deadline, b.vruntime + 2250 * kUs);
    } else {
      EXPECT_EQ(a.vruntime, v_before);
      EXPECT_FALSE(rq.WakeupPreempt(&a));  // not eligible: not picked
    }
  }
}

// PLACE_REL_DEADLINE (6.12+): a migrating entity keeps deadline - vruntime.
TEST(EevdfRq, MigrationKeepsRelativeDeadline) {
  EevdfRq src(Traits("6.12")), dst(Traits("6.12"));
  EevdfEntity a{1}, b{2}, c{3};
  Fork(src, &a);
  Fork(src, &b);
  src.PickNext();
  src.UpdateCurr(1 * kMs);
  int64_t rel = b.deadline - b.vruntime;
  src.Dequeue(&b);
  Fork(dst, &c);
  dst.PickNext();
  dst.UpdateCurr(7 * kMs);
  dst.PlaceEntity(&b, false);
  EXPECT_EQ(b.deadline - b.vruntime, rel);
}

TEST(EevdfPick, PolicyForwardsToTheRunqueue) {
  EevdfPick pick;
  EXPECT_EQ(pick.base(), KernelBase::kMainline);
  EXPECT_STREQ(pick.name(), "eevdf");
  EevdfRq rq(Traits("6.18"));
  EevdfEntity a{1}, b{2};
  pick.PlaceEntity(rq, &a, true);
  rq.Enqueue(&a);
  EXPECT_EQ(pick.PickNext(rq), &a);
  pick.PlaceEntity(rq, &b, true);
  rq.Enqueue(&b);
  EXPECT_FALSE(pick.WakeupPreempt(rq, &b));  // equal slices: a is protected
  rq.UpdateCurr(5 * kMs);
  EXPECT_TRUE(pick.TickPreempt(rq));
}

}  // namespace
}  // namespace kreplay::sched

namespace kreplay::sched {
namespace {

// A migration dequeues a queued entity from among others (6.12+:
// PLACE_REL_DEADLINE keeps its deadline relative to its vruntime). The
// queue is ordered by the absolute deadline, so the entity must leave it
// before its deadline is made relative; the others stay in pick order.
TEST(EevdfRq, DequeueOfAQueuedEntityKeepsItsDeadlineRelative) {
  EevdfRq rq(Traits("6.12", 1));
  EevdfEntity e[4];
  for (uint32_t i = 0; i < 4; ++i) {
    e[i].id = i;
    rq.PlaceEntity(&e[i], /*initial=*/true);
    rq.Enqueue(&e[i]);
  }
  ASSERT_EQ(rq.PickNext(), &e[0]);
  rq.UpdateCurr(3 * sim::kMs);
  rq.PutPrev();
  // Queue now e1, e2, e3 (deadline 375 us), e0 (renewed later).
  const int64_t d2 = e[2].deadline, v2 = e[2].vruntime;
  rq.Dequeue(&e[2]);
  EXPECT_TRUE(e[2].rel_deadline);
  EXPECT_EQ(e[2].deadline, d2 - v2);
  ASSERT_EQ(rq.queued(), 3);
  EXPECT_EQ(rq.queued_at(0), &e[1]);
  EXPECT_EQ(rq.queued_at(1), &e[3]);
  EXPECT_EQ(rq.queued_at(2), &e[0]);
  rq.Dequeue(&e[3]);  // the last of the equal deadlines, then the others
  rq.Dequeue(&e[0]);
  rq.Dequeue(&e[1]);
  EXPECT_EQ(rq.nr_running(), 0);
}

}  // namespace
}  // namespace kreplay::sched
