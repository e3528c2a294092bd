#include "workers/models/sched/cfs_rq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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

// 3.10 moves min_vruntime only in update_curr() and at the end of
// dequeue_entity() (update_min_vruntime(): min(curr, leftmost), never
// backwards). set_next_entity() does not call it, so picking a task leaves
// min_vruntime where it was instead of advancing it to the next leftmost.
TEST(CfsRq, PickingDoesNotAdvanceMinVruntime) {
  CfsRq rq(ScaledCfsTunables(1));
  SchedEntity a{1}, b{2};
  a.vruntime = 2 * kMs;
  b.vruntime = 12 * kMs;
  rq.Enqueue(&a);
  rq.Enqueue(&b);
  // __enqueue_entity() leaves it alone too.
  EXPECT_EQ(rq.min_vruntime(), 0);
  ASSERT_EQ(rq.PickNext(), &a);
  EXPECT_EQ(rq.min_vruntime(), 0);
  // update_curr(): min(curr 2 ms + 1 ms, leftmost 12 ms).
  rq.UpdateCurr(1 * kMs);
  EXPECT_EQ(rq.min_vruntime(), 3 * kMs);
  // put_prev_entity() does not update it either.
  rq.PutPrev();
  EXPECT_EQ(rq.min_vruntime(), 3 * kMs);
  ASSERT_EQ(rq.PickNext(), &a);
  EXPECT_EQ(rq.min_vruntime(), 3 * kMs);
}

// dequeue_entity() of the running task updates min_vruntime while
// cfs_rq->curr is still set: in 3.10 the sleeper's own vruntime counts; in
// mainline (update_min_vruntime() checks curr->on_rq, which dequeue_entity()
// has cleared) it does not, so the leftmost alone sets it.
TEST(CfsRq, DequeueOfCurrUpdatesWithCurrStillSet) {
  {
    CfsTunables t = ScaledCfsTunables(1);
    t.rules.curr_on_rq_only = true;
    CfsRq rq(t);
    SchedEntity a{1}, b{2};
    b.vruntime = 20 * kMs;
    rq.Enqueue(&a);
    rq.Enqueue(&b);
    ASSERT_EQ(rq.PickNext(), &a);
    rq.UpdateCurr(5 * kMs);
    rq.DequeueCurr();
    EXPECT_EQ(rq.min_vruntime(), 20 * kMs);
  }
  CfsRq rq(ScaledCfsTunables(1));
  SchedEntity a{1}, b{2};
  b.vruntime = 20 * kMs;
  rq.Enqueue(&a);
  rq.Enqueue(&b);
  ASSERT_EQ(rq.PickNext(), &a);
  rq.UpdateCurr(5 * kMs);
  ASSERT_EQ(rq.min_vruntime(), 5 * kMs);
  rq.DequeueCurr();
  EXPECT_EQ(rq.min_vruntime(), 5 * kMs);  // min(curr 5 ms, leftmost 20 ms), not 20 ms
  EXPECT_EQ(rq.curr(), nullptr);
  // Dequeuing a queued entity updates it as well (leftmost only now).
  rq.Dequeue(&b);
  EXPECT_EQ(rq.min_vruntime(), 5 * kMs);
  SchedEntity c{3};
  c.vruntime = 30 * kMs;
  rq.Enqueue(&c);
  SchedEntity d{4};
  d.vruntime = 40 * kMs;
  rq.Enqueue(&d);
  rq.Dequeue(&d);
  EXPECT_EQ(rq.min_vruntime(), 30 * kMs);
}

TEST(CfsRq, FirstQueuedFollowsPickOrder) {
  CfsRq rq(ScaledCfsTunables(1));
  std::vector<SchedEntity> es(20);
  for (int i = 0; i < 20; ++i) {
    es[i].id = static_cast<uint32_t>(i);
    es[i].vruntime = (i * 7) % 20 / 2;  // pairs of equal vruntimes: ties by id
    rq.Enqueue(&es[i]);
  }
  SchedEntity* first[CfsRq::kMaxFirstQueued];
  ASSERT_EQ(rq.FirstQueued(5, first), 5);
  std::vector<SchedEntity*> sorted;
  for (auto& e : es) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const SchedEntity* a, const SchedEntity* b) {
    return a->vruntime != b->vruntime ? a->vruntime < b->vruntime : a->id < b->id;
  });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(first[i], sorted[i]) << i;
  CfsRq small(ScaledCfsTunables(1));
  SchedEntity lone{99};
  small.Enqueue(&lone);
  EXPECT_EQ(small.FirstQueued(5, first), 1);
  EXPECT_EQ(first[0], &lone);
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

// The review's scenario: one CPU (latency 6 ms, wakeup granularity 1 ms),
// two nice-0 hogs switching at the 10 ms ticks, and a task that runs 1 ms
// every 17.3 ms. Under 3.10's rules its wake-up finds min_vruntime at the
// running hog's vruntime (set_next_entity() does not advance it, update_curr()
// brings it up to now), place_entity() credits it latency / 2 = 3 ms below
// that, and check_preempt_wakeup() (update_curr() first) sees a 3 ms lead
// > 1 ms: it preempts at the wake-up. With min_vruntime run ahead to the
// waiting hog's vruntime it would wait for the next tick (p99 ~10 ms).
TEST(CfsModel, LongSleeperPreemptsAtWakeUpNotAtTheNextTick) {
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.tasks.push_back(Task("a", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("b", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("p", 0, -1, {Runtime(1 * kMs), Timer(17300 * sim::kUs)}, "periodic"));
  auto r = RunSchedSim(FlatPlatform(1), w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Well below one tick (10 ms); the flat platform's idle exit costs nothing
  // and the CPU is never idle, so a preemption at wake-up is 0 us.
  EXPECT_LT(r->scalars.at("task.p.wakeup_latency_p99_us").value, 100.0);
  EXPECT_GT(r->scalars.at("task.p.cpu_time_ms").value, 500.0);  // ~578 activations of 1 ms
}

// enqueue_entity() and check_preempt_wakeup() both call update_curr() first,
// so a wake-up is placed and judged against the running task's vruntime as
// of now. One CPU: a hog from t = 0 (START_DEBIT: vruntime 6 ms), and a task
// s forked at 12 ms that sleeps until 20 ms (after the 20 ms tick has brought
// the hog up to date), runs 2.5 ms and sleeps 1 ms.
//   t = 20: hog at 26 ms; s placed at 26 - 3 = 23, lead 3 > 1: preempts;
//           runs to 22.5 (vruntime 25.5); min_vruntime stays 26; the hog
//           runs again.
//   t = 23.5: update_curr(): hog at 27 ms. s keeps 25.5 (max(25.5, 27 - 3));
//           lead 1.5 ms > 1 ms: preempts at once. Without the update the
//           hog would still read 26 ms, a lead of 0.5 ms: no preemption, and
//           s would wait for the 30 ms tick.
TEST(CfsModel, WakeUpUpdatesTheRunningTaskBeforePlacementAndPreemptCheck) {
  workload::SchedWorkload w;
  w.duration_ns = 60 * kMs;
  w.tasks.push_back(Task("hog", 0, -1, {Runtime(1 * sim::kSec)}));
  auto s = Task("s", 0, 1, {Sleep(8 * kMs), Runtime(2500 * sim::kUs), Sleep(1 * kMs), Runtime(100 * sim::kUs)},
                "interactive");
  s.delay_ns = 12 * kMs;
  w.tasks.push_back(s);
  struct Runs : SchedObserver {
    std::vector<std::pair<sim::Time, int>> runs;
    void OnRun(sim::Time t, int, int task) override { runs.emplace_back(t, task); }
  } obs;
  auto r = RunSchedSim(FlatPlatform(1), w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr, &obs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<sim::Time> s_runs;
  for (const auto& [t, task] : obs.runs) {
    if (task == 1) s_runs.push_back(t);
  }
  ASSERT_EQ(s_runs.size(), 2u);
  EXPECT_EQ(s_runs[0], 20 * kMs);
  EXPECT_EQ(s_runs[1], 23500 * sim::kUs);
}

// find_idlest_group(): the local group is kept only while
// 100 * this_load < imbalance * min_load with
// imbalance = 100 + (imbalance_pct - 100) / 2 = 112 for 125, not 125.
// Two clusters of two equal CPUs (cpu_power 1024 each); pinned nice-0 hogs:
// CPUs 0 and 1 three each, CPU 2 three, CPU 3 two. A task forked on CPU 0:
// DIE: local 6144 * 1024 / 2048 = 3072 vs 2560; 100 * 3072 >= 112 * 2560,
// so cluster 1, and find_idlest_cpu() gives CPU 3 (2048 < 3072); at MC of
// CPU 3, 100 * 2048 < 112 * 3072 keeps it. (With 125: 307200 < 320000 would
// have kept the task in cluster 0.)
workload::Platform TwoEqualClusters() {
  workload::Platform p = FlatPlatform(2);
  workload::Cluster c1 = p.clusters[0];
  c1.name = "c1";
  p.clusters.push_back(c1);
  p.name = "two-equal";
  return p;
}

int ForkedCpu(const workload::Platform& p, const std::vector<int>& hogs_per_cpu) {
  workload::SchedWorkload w;
  w.duration_ns = 100 * kMs;
  for (int cpu = 0; cpu < static_cast<int>(hogs_per_cpu.size()); ++cpu) {
    for (int i = 0; i < hogs_per_cpu[cpu]; ++i) {
      std::string name = "hog";
      name += std::to_string(cpu);
      name += "_";
      name += std::to_string(i);
      auto t = Task(name, 0, -1, {Runtime(1 * sim::kSec)});
      t.cpu_mask = 1ull << cpu;
      w.tasks.push_back(t);
    }
  }
  auto probe = Task("probe", 0, 1, {Runtime(1 * kMs)});
  probe.delay_ns = 50 * kMs;
  w.tasks.push_back(probe);
  const int probe_index = static_cast<int>(w.tasks.size()) - 1;
  struct Forks : SchedObserver {
    int task = -1, to = -2;
    void OnMigration(sim::Time, int t, int, int dest, MigrationKind k) override {
      if (t == task && k == MigrationKind::kFork) to = dest;
    }
    void OnRun(sim::Time, int cpu, int t) override {
      if (t == task && to == -2) to = cpu;  // no migration recorded: it stayed on CPU 0
    }
  } obs;
  obs.task = probe_index;
  auto r = RunSchedSim(p, w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr, &obs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return obs.to;
}

TEST(CfsPlacement, ForkUsesHalfTheImbalancePctAtEachLevel) {
  EXPECT_EQ(ForkedCpu(TwoEqualClusters(), {3, 3, 3, 2}), 3);
  // MC alone (one cluster): CPU 0 nine hogs, CPU 1 eight: 900 >= 112 * 8,
  // so CPU 1 (125 would have kept CPU 0: 900 < 1000).
  EXPECT_EQ(ForkedCpu(FlatPlatform(2), {9, 8}), 1);
  // Within 112 %: CPU 0 nine, CPU 1 nine: 900 < 1008 keeps CPU 0.
  EXPECT_EQ(ForkedCpu(FlatPlatform(2), {9, 9}), 0);
}

}  // namespace
}  // namespace kreplay::sched
