#include "workers/models/sched/cfs_rq.h"

#include <gtest/gtest.h>

#include "workers/models/sched/platforms/platforms.h"
#include "workers/models/sched/sched_sim.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;

TEST(CfsWeights, KernelTable) {
  EXPECT_EQ(NiceToWeight(0), 1024u);
  EXPECT_EQ(NiceToWeight(5), 335u);
  EXPECT_EQ(NiceToWeight(-20), 88761u);
  EXPECT_EQ(NiceToWeight(19), 15u);
}

TEST(CfsTunables, LogScalingWithCpuCount) {
  EXPECT_EQ(TunableScaleFactor(1), 1);
  EXPECT_EQ(TunableScaleFactor(2), 2);
  EXPECT_EQ(TunableScaleFactor(4), 3);
  EXPECT_EQ(TunableScaleFactor(7), 3);
  EXPECT_EQ(TunableScaleFactor(8), 4);
  EXPECT_EQ(TunableScaleFactor(64), 4);
  CfsTunables t = ScaledCfsTunables(6);
  EXPECT_EQ(t.latency, 18 * kMs);
  EXPECT_EQ(t.min_granularity, 2250 * sim::kUs);
  EXPECT_EQ(t.wakeup_granularity, 3 * kMs);
  EXPECT_EQ(t.nr_latency, 8);
  EXPECT_EQ(ScaledCfsTunables(6, 10 * kMs).latency, 10 * kMs);
}

// A long sleeper wakes at min_vruntime - latency/2: 6 ms x 3 / 2 = 9 ms on
// Juno r0 (6 CPUs) and TC2 (5 CPUs); a short sleeper keeps its vruntime.
TEST(CfsRq, SleeperCreditOnJunoAndTc2) {
  for (const char* name : {"juno-r0", "tc2"}) {
    workload::Platform p = Builtin(name);
    CfsRq rq(ScaledCfsTunables(static_cast<int>(p.total_cpus())));
    SchedEntity hog{1};
    rq.Enqueue(&hog);
    ASSERT_EQ(rq.PickNext(), &hog);
    rq.UpdateCurr(100 * kMs);
    ASSERT_EQ(rq.min_vruntime(), 100 * kMs);
    SchedEntity sleeper{2};
    sleeper.vruntime = 3 * kMs;
    rq.PlaceEntity(&sleeper, /*initial=*/false);
    EXPECT_EQ(sleeper.vruntime, 100 * kMs - 9 * kMs) << name;
    SchedEntity short_sleeper{3};
    short_sleeper.vruntime = 95 * kMs;
    rq.PlaceEntity(&short_sleeper, false);
    EXPECT_EQ(short_sleeper.vruntime, 95 * kMs) << name;
  }
}

// START_DEBIT: a new nice-0 task joining one nice-0 task owes its slice:
// period 18 ms (2 <= nr_latency) x 1024 / 2048 = 9 ms of vruntime.
TEST(CfsRq, StartDebit) {
  CfsRq rq(ScaledCfsTunables(6));
  SchedEntity a{1};
  rq.Enqueue(&a);
  rq.PickNext();
  rq.UpdateCurr(40 * kMs);
  SchedEntity fresh{2};
  rq.PlaceEntity(&fresh, /*initial=*/true);
  EXPECT_EQ(fresh.vruntime, 40 * kMs + 9 * kMs);
}

TEST(CfsRq, WakeupPreemptionUsesWakeeScaledGranularity) {
  CfsRq rq(ScaledCfsTunables(6));  // wakeup_granularity 3 ms
  SchedEntity curr{1};
  rq.Enqueue(&curr);
  rq.PickNext();
  rq.UpdateCurr(20 * kMs);
  SchedEntity w{2};
  w.vruntime = 20 * kMs - 3 * kMs;  // exactly the granularity: no preemption
  EXPECT_FALSE(rq.WakeupPreempt(&w));
  w.vruntime -= 1;
  EXPECT_TRUE(rq.WakeupPreempt(&w));
  // A nice-5 wakee needs 3 ms x 1024 / 335 = 9.17 ms of lead.
  SchedEntity light{3, NiceToWeight(5)};
  light.vruntime = 20 * kMs - 9 * kMs;
  EXPECT_FALSE(rq.WakeupPreempt(&light));
  light.vruntime = 20 * kMs - 9200 * sim::kUs;
  EXPECT_TRUE(rq.WakeupPreempt(&light));
}

TEST(CfsRq, TickPreemptAfterSliceNotBeforeMinGranularity) {
  CfsRq rq(ScaledCfsTunables(6));
  SchedEntity a{1}, b{2};
  rq.Enqueue(&a);
  rq.Enqueue(&b);
  ASSERT_EQ(rq.PickNext(), &a);  // equal vruntime: lower id first
  EXPECT_EQ(rq.Slice(&a), 9 * kMs);
  rq.UpdateCurr(2 * kMs);  // < min_granularity 2.25 ms
  EXPECT_FALSE(rq.TickPreempt());
  rq.UpdateCurr(7 * kMs + 1);  // 9 ms + 1 ns > slice
  EXPECT_TRUE(rq.TickPreempt());
  rq.PutPrev();
  EXPECT_EQ(rq.PickNext(), &b);
  EXPECT_EQ(rq.nr_running(), 2);
  EXPECT_EQ(rq.load(), 2048u);
}

TEST(CfsRq, HeapOrdersManyEntitiesAndSupportsArbitraryDequeue) {
  CfsRq rq(ScaledCfsTunables(1));
  std::vector<SchedEntity> es(50);
  for (int i = 0; i < 50; ++i) {
    es[i].id = static_cast<uint32_t>(i);
    es[i].vruntime = (i * 37) % 50;
    rq.Enqueue(&es[i]);
  }
  rq.Dequeue(&es[10]);  // vruntime (370 % 50) = 20
  int64_t last = -1;
  for (int i = 0; i < 49; ++i) {
    SchedEntity* se = rq.PickNext();
    ASSERT_NE(se, nullptr);
    EXPECT_GT(se->vruntime, last);
    EXPECT_NE(se->vruntime, 20);
    last = se->vruntime;
    rq.DequeueCurr();
  }
  EXPECT_EQ(rq.PickNext(), nullptr);
}

// Ten simulated seconds of two CPU hogs on one CPU.
model::Result RunTwoHogs(int nice_a, int nice_b) {
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.tasks.push_back(Task("a", nice_a, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("b", nice_b, -1, {Runtime(1 * sim::kSec)}));
  workload::Platform p = FlatPlatform(1);
  auto r = RunSchedSim(p, w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

TEST(CfsModel, TwoNiceZeroHogsShareEqually) {
  model::Result r = RunTwoHogs(0, 0);
  double a = r.scalars.at("task.a.cpu_time_ms").value, b = r.scalars.at("task.b.cpu_time_ms").value;
  EXPECT_NEAR(a + b, 10000.0, 1.0);  // the CPU never idles
  EXPECT_NEAR(a / b, 1.0, 0.01);
}

TEST(CfsModel, NiceFiveGetsWeightShare) {
  model::Result r = RunTwoHogs(0, 5);
  double a = r.scalars.at("task.a.cpu_time_ms").value, b = r.scalars.at("task.b.cpu_time_ms").value;
  const double expected = 1024.0 / 335.0;  // 3.057
  EXPECT_NEAR(a / b, expected, 0.01 * expected);
  EXPECT_GT(r.scalars.at("context_switches").value, 100);  // really time-shared
}

}  // namespace
}  // namespace kreplay::sched
