// HMP placement driven by load_avg_ratio (Linaro LSK 3.10 big.LITTLE MP).
#include <gtest/gtest.h>

#include <cmath>

#include "workers/models/sched/load_avg.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;
// The tracker's period: 1024 units of 1024 ns (the kernel's "us" is now >> 10).
constexpr int64_t kPeriodNs = 1024 * 1024;

TEST(RunnableAvg, FromZeroFollowsGeometricSeries) {
  LoadDecay d;
  EXPECT_NEAR(d.Pow(32), 0.5, 1e-12);
  RunnableAvg a;
  a.InitZero(0);
  // Long idle so that period is saturated, then run for n whole periods.
  a.Update(1024 * 1024, false, false, 1024, d);
  for (int n : {10, 32, 54}) {
    RunnableAvg b = a;
    b.Update(1024 * 1024 + 1024 * n, true, true, 1024, d);
    EXPECT_NEAR(b.LoadRatio(), 1024.0 * (1.0 - std::pow(0.5, n / 32.0)), 2.0) << n;
  }
  // Half the contribution at half the frequency.
  RunnableAvg c = a;
  c.Update(1024 * 1024 + 1024 * 2000, true, true, 512, d);
  EXPECT_NEAR(c.LoadRatio(), 512.0, 2.0);
}

TEST(RunnableAvg, NewTaskStartsHighAndHalvesIn32Periods) {
  LoadDecay d;
  RunnableAvg a;
  a.InitHigh(0);
  EXPECT_GE(a.LoadRatio(), 1023u);
  a.Update(32 * 1024, false, false, 1024, d);
  // Half the runnable history is left; the period total at a period boundary
  // sits about one half-period short of LOAD_AVG_MAX, so slightly above 512.
  EXPECT_GE(a.LoadRatio(), 512u);
  EXPECT_LE(a.LoadRatio(), 520u);
}

struct Recorder : SchedObserver {
  struct Mig {
    sim::Time t;
    int from, to;
    MigrationKind kind;
  };
  std::vector<Mig> migs;
  std::vector<std::pair<sim::Time, int>> runs;  // (time, cpu)
  std::vector<std::pair<sim::Time, uint32_t>> ticks;
  std::vector<std::pair<sim::Time, int>> opps;  // cluster 0 only
  void OnMigration(sim::Time t, int, int from, int to, MigrationKind k) override { migs.push_back({t, from, to, k}); }
  void OnRun(sim::Time t, int cpu, int) override { runs.emplace_back(t, cpu); }
  void OnTick(sim::Time t, int, int, uint32_t r) override { ticks.emplace_back(t, r); }
  void OnOpp(sim::Time t, int cluster, int opp) override {
    if (cluster == 0) opps.emplace_back(t, opp);
  }
};

// Juno r0: CPUs 0-3 LITTLE (A53), 4-5 big (A57). The task: a short burst,
// 500 ms asleep (so it has existed >= 400 ms and its load is ~0), a 200 ms
// busy loop, 100 ms asleep, then a short burst.
workload::SchedWorkload Scenario() {
  workload::SchedWorkload w;
  w.tasks.push_back(Task("t", 0, 1,
                         {Runtime(100 * sim::kUs), Sleep(500 * kMs), Runtime(200 * kMs), Sleep(100 * kMs),
                          Runtime(1 * kMs)},
                         "interactive"));
  return w;
}

bool Big(int cpu) { return cpu >= 4; }

model::Result RunScenario(GovernorKind gov, bool invariant, Recorder* rec) {
  workload::Platform p = Builtin("juno-r0");
  SchedOptions o = Options(Policy::kHmp, gov);
  o.frequency_invariant = invariant;
  auto r = RunSchedSim(p, Scenario(), o, 7, nullptr, rec);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

// Time the busy loop starts being runnable: the wake-up after the long sleep.
sim::Time WakeOnLittle(const Recorder& rec) {
  for (const auto& m : rec.migs) {
    if (m.kind == MigrationKind::kWake && Big(m.from) && !Big(m.to)) return m.t;
  }
  return -1;
}

TEST(HmpModel, UpMigratesAfterCrossing700AtMaxOpp) {
  Recorder rec;
  RunScenario(GovernorKind::kPerformance, true, &rec);
  // Forked onto big (fork boost), then woken on LITTLE with a decayed load.
  ASSERT_FALSE(rec.migs.empty());
  EXPECT_EQ(rec.migs[0].kind, MigrationKind::kFork);
  EXPECT_TRUE(Big(rec.migs[0].to));
  sim::Time wake = WakeOnLittle(rec);
  ASSERT_GE(wake, 500 * kMs);
  // Runnable from the wake-up (waiting through the idle exit counts too): the
  // ratio reaches 700 after n = 32 * log2(1024 / 324) = 53.15 periods of
  // 1.048576 ms (55.7 ms). The forced migration is at the first tick after.
  const double n = 32.0 * std::log2(1024.0 / 324.0);
  const sim::Time crossing = wake + static_cast<sim::Time>(n * kPeriodNs);
  const sim::Time tick = 10 * kMs;  // HZ 100
  const Recorder::Mig* up = nullptr;
  for (const auto& m : rec.migs) {
    if (m.t > wake && m.kind == MigrationKind::kForced) {
      up = &m;
      break;
    }
  }
  ASSERT_NE(up, nullptr);
  EXPECT_TRUE(Big(up->to));
  EXPECT_GE(up->t, crossing - kPeriodNs);
  EXPECT_LE(up->t, crossing + tick + kPeriodNs);
  // It is the first tick that saw >= 700: earlier ticks saw less.
  for (const auto& [t, ratio] : rec.ticks) {
    if (t > wake && t < up->t) {
      EXPECT_LT(ratio, 700u) << t;
    }
    if (t == up->t) {
      EXPECT_GE(ratio, 700u);
    }
  }
}

TEST(HmpModel, LowestOppWithInvarianceNeverCrosses) {
  Recorder rec;
  RunScenario(GovernorKind::kPowersave, true, &rec);
  // 450 / 850 MHz caps the ratio near 1024 * 0.53 = 542 < 700.
  for (const auto& m : rec.migs) EXPECT_NE(m.kind, MigrationKind::kForced);
  for (const auto& [t, ratio] : rec.ticks) EXPECT_LT(ratio, 560u);
  // Without frequency invariance the same run does cross.
  Recorder rec2;
  RunScenario(GovernorKind::kPowersave, false, &rec2);
  bool forced = false;
  for (const auto& m : rec2.migs) forced = forced || m.kind == MigrationKind::kForced;
  EXPECT_TRUE(forced);
}

TEST(HmpModel, CrossesOnlyAfterGovernorRaisesFrequency) {
  Recorder rec;
  RunScenario(GovernorKind::kOndemand, true, &rec);
  sim::Time wake = WakeOnLittle(rec);
  ASSERT_GT(wake, 0);
  sim::Time raise = -1;
  for (const auto& [t, opp] : rec.opps) {
    if (t > wake && opp > 0) {
      raise = t;
      break;
    }
  }
  ASSERT_GT(raise, 0);
  sim::Time up = -1;
  for (const auto& m : rec.migs) {
    if (m.t > wake && m.kind == MigrationKind::kForced) {
      up = m.t;
      break;
    }
  }
  ASSERT_GT(up, 0);
  EXPECT_GT(up, raise);
  // Later than at max OPP from the start.
  Recorder fast;
  RunScenario(GovernorKind::kPerformance, true, &fast);
  sim::Time fast_up = -1;
  for (const auto& m : fast.migs) {
    if (m.t > WakeOnLittle(fast) && m.kind == MigrationKind::kForced && fast_up < 0) fast_up = m.t;
  }
  EXPECT_GT(up - wake, fast_up - WakeOnLittle(fast));
}

TEST(HmpModel, WakesOnLittleOnceLoadDecaysBelow512) {
  Recorder rec;
  RunScenario(GovernorKind::kPerformance, true, &rec);
  // The last burst starts after the 100 ms sleep that follows the busy loop;
  // 100 ms of sleep decays ~1024 to ~130 < 512.
  ASSERT_FALSE(rec.runs.empty());
  auto last = rec.runs.back();
  EXPECT_GT(last.first, 800 * kMs);
  EXPECT_FALSE(Big(last.second));
  // And the run before that (the busy loop, after its forced up-migration)
  // was on big.
  ASSERT_GE(rec.runs.size(), 2u);
  EXPECT_TRUE(Big(rec.runs[rec.runs.size() - 2].second));
}

}  // namespace
}  // namespace kreplay::sched
