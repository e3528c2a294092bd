// The deadline entity's arithmetic and the per-CPU deadline runqueue alone,
// with the numbers worked out here from kernel/sched/deadline.c (the
// products and shifts as the kernel does them), never read back from the code.
#include "workers/models/sched/dl_rq.h"

#include <gtest/gtest.h>

namespace kreplay::sched {
namespace {

constexpr int64_t kMs = 1'000'000;

DlEntity Entity(int64_t runtime, int64_t deadline, int64_t period) {
  DlEntity e;
  e.SetParams(runtime, deadline, period);
  return e;
}

TEST(DlArithmetic, BandwidthsAreToRatioInBwShiftFixedPoint) {
  // to_ratio(100 ms, 10 ms) = 10e6 << 20 / 100e6 = 104857.6, truncated.
  DlEntity e = Entity(10 * kMs, 30 * kMs, 100 * kMs);
  EXPECT_EQ(e.dl_bw, 104857u);
  EXPECT_EQ(e.dl_density, 349525u);  // to_ratio(30 ms, 10 ms) = 349525.33
  EXPECT_FALSE(e.Implicit());
  // A period of 0 is the deadline (__checkparam_dl()).
  EXPECT_EQ(Entity(10 * kMs, 40 * kMs, 0).dl_period, 40 * kMs);
  // The root domain's default limit: 950000 us of every 1000000 us.
  EXPECT_EQ(DlGlobalBw(), 996147u);
}

TEST(DlArithmetic, OverflowComparesInMicrosecondUnitsAsTheKernel) {
  // 10/100 ms, deadline 100 ms, 5 ms left.
  DlEntity e = Entity(10 * kMs, 100 * kMs, 100 * kMs);
  e.deadline = 100 * kMs;
  e.runtime = 5 * kMs;
  // now 60: 5 / 40 > 0.1. now 40: 5 / 60 < 0.1.
  EXPECT_TRUE(DlEntityOverflow(e, 60 * kMs));
  EXPECT_FALSE(DlEntityOverflow(e, 40 * kMs));
  // now 50: exactly 0.1; in 1024-ns units left = 97656 x 4882 = 476756592,
  // right = 48828 x 9765 = 476805420: right is not before left, no overflow.
  EXPECT_FALSE(DlEntityOverflow(e, 50 * kMs));
}

TEST(DlArithmetic, UpdateDlEntityKeepsRenewsOrRevises) {
  DlEntity e = Entity(10 * kMs, 100 * kMs, 100 * kMs);
  e.deadline = 100 * kMs;
  e.runtime = 5 * kMs;
  UpdateDlEntity(&e, 40 * kMs);  // no overflow: kept
  EXPECT_EQ(e.deadline, 100 * kMs);
  EXPECT_EQ(e.runtime, 5 * kMs);
  UpdateDlEntity(&e, 60 * kMs);  // overflow: a new period from now
  EXPECT_EQ(e.deadline, 160 * kMs);
  EXPECT_EQ(e.runtime, 10 * kMs);
  e.deadline = 100 * kMs;
  e.runtime = 9 * kMs;
  UpdateDlEntity(&e, 150 * kMs);  // the deadline has passed: a new period
  EXPECT_EQ(e.deadline, 250 * kMs);
  EXPECT_EQ(e.runtime, 10 * kMs);
  // Constrained (10/30/100 ms), deadline 30 ms, 5 ms left at 20 ms:
  // left = 29296 x 4882 = 143023072 > right = 9765 x 9765 = 95355225, an
  // overflow before the deadline: update_dl_revised_wakeup() keeps the
  // deadline and gives density x laxity = 349525 x 10e6 >> 20 = 3333330 ns.
  DlEntity c = Entity(10 * kMs, 30 * kMs, 100 * kMs);
  c.deadline = 30 * kMs;
  c.runtime = 5 * kMs;
  UpdateDlEntity(&c, 20 * kMs);
  EXPECT_EQ(c.deadline, 30 * kMs);
  EXPECT_EQ(c.runtime, 3333330);
  // Woken at 50 ms, past its deadline (30) and before its next period
  // (30 - 30 + 100 = 100): dl_check_constrained_dl() throttles it.
  EXPECT_EQ(DlNextPeriod(c), 100 * kMs);
  EXPECT_TRUE(DlConstrainedWakeThrottles(c, 50 * kMs));
  EXPECT_FALSE(DlConstrainedWakeThrottles(c, 100 * kMs));
  EXPECT_FALSE(DlConstrainedWakeThrottles(c, 20 * kMs));
  EXPECT_FALSE(DlConstrainedWakeThrottles(Entity(10 * kMs, 100 * kMs, 100 * kMs), 150 * kMs));  // implicit
}

TEST(DlArithmetic, ReplenishAddsPeriodsUntilRuntimeIsPositive) {
  DlEntity e = Entity(10 * kMs, 50 * kMs, 50 * kMs);
  e.deadline = 50 * kMs;
  e.runtime = -2 * kMs;  // a tick of overrun
  e.throttled = true;
  ReplenishDlEntity(&e, 50 * kMs);
  EXPECT_EQ(e.deadline, 100 * kMs);
  EXPECT_EQ(e.runtime, 8 * kMs);
  EXPECT_FALSE(e.throttled);
  e.deadline = 50 * kMs;
  e.runtime = -15 * kMs;  // more than a period's runtime: two periods
  ReplenishDlEntity(&e, 50 * kMs);
  EXPECT_EQ(e.deadline, 150 * kMs);
  EXPECT_EQ(e.runtime, 5 * kMs);
  e.deadline = 50 * kMs;
  e.runtime = -2 * kMs;
  ReplenishDlEntity(&e, 120 * kMs);  // deadline 100 still past: restart from now
  EXPECT_EQ(e.deadline, 170 * kMs);
  EXPECT_EQ(e.runtime, 10 * kMs);
}

TEST(DlArithmetic, ZeroLagScalingAndFit) {
  DlEntity e = Entity(10 * kMs, 100 * kMs, 100 * kMs);
  e.deadline = 100 * kMs;
  e.runtime = 5 * kMs;
  EXPECT_EQ(DlZeroLagTime(e), 50 * kMs);  // 100 - 5 x 100 / 10
  // cap_scale() twice: 10 ms at freq_cap 1024 on capacity 512 is 5 ms;
  // at half frequency on capacity 1024 too; 446 of 1024 truncates.
  EXPECT_EQ(DlScaledDelta(10 * kMs, 1024, 512), 5 * kMs);
  EXPECT_EQ(DlScaledDelta(10 * kMs, 512, 1024), 5 * kMs);
  EXPECT_EQ(DlScaledDelta(1000, 1024, 446), 435);  // 446000 >> 10
  // dl_task_fits_capacity(): cap_scale(100 ms, 512) = 50 ms.
  EXPECT_TRUE(DlTaskFitsCapacity(e, 512));
  DlEntity big = Entity(60 * kMs, 100 * kMs, 100 * kMs);
  EXPECT_FALSE(DlTaskFitsCapacity(big, 512));
  EXPECT_TRUE(DlTaskFitsCapacity(big, 1024));
  // __dl_overflow(): 996147 x capacity >> 10 against the total.
  EXPECT_FALSE(DlOverflow(0, 996147, 1024));
  EXPECT_TRUE(DlOverflow(0, 996148, 1024));
  EXPECT_TRUE(DlOverflow(996147, 1, 1024));
  EXPECT_FALSE(DlOverflow(996147, 996147, 2048));
}

TEST(DlRq, OrdersByDeadlineThenEnqueueOrder) {
  DlRq rq;
  DlEntity a, b, c, d;
  a.id = 0, b.id = 1, c.id = 2, d.id = 3;
  a.deadline = 30;
  b.deadline = 10;
  c.deadline = 20;
  d.deadline = 10;  // equal to b, queued after it: to its right
  for (DlEntity* e : {&a, &b, &c, &d}) rq.Enqueue(e);
  ASSERT_EQ(rq.nr_running(), 4);
  EXPECT_EQ(rq.queue(), (std::vector<DlEntity*>{&b, &d, &c, &a}));
  EXPECT_EQ(rq.PickNext(), &b);
  EXPECT_EQ(rq.earliest(), 10);
  EXPECT_EQ(rq.EarliestPushable(&b), &d);  // b runs: d is earliest_dl.next
  rq.Dequeue(&b);
  EXPECT_TRUE(rq.IsLeftmost(&d));
  EXPECT_FALSE(b.on_rq);
  rq.Enqueue(&b);  // requeued behind d now
  EXPECT_EQ(rq.PickNext(), &d);
  rq.AddRunningBw(100);
  rq.AddRunningBw(50);
  rq.SubRunningBw(100);
  EXPECT_EQ(rq.running_bw(), 50u);
}

}  // namespace
}  // namespace kreplay::sched
