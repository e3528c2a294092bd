// HMP placement driven by load_avg_ratio (Linaro LSK 3.10 big.LITTLE MP).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "workers/models/sched/hmp_placement.h"
#include "workers/models/sched/load_avg.h"
#include "workers/models/sched/sched_core.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;

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

// Juno r0: CPUs 0-3 LITTLE (A53), 4-5 big (A57). One task: a 100 us burst
// after its fork, 500 ms asleep, a 1 ms burst, 500 ms asleep, a 200 ms busy
// loop, 100 ms asleep, a 1 ms burst.
workload::SchedWorkload Scenario() {
  workload::SchedWorkload w;
  w.tasks.push_back(sched::testing::Task("t", 0, 1,
                         {Runtime(100 * sim::kUs), Sleep(500 * kMs), Runtime(1 * kMs), Sleep(500 * kMs),
                          Runtime(200 * kMs), Sleep(100 * kMs), Runtime(1 * kMs)},
                         "interactive"));
  return w;
}

bool Big(int cpu) { return cpu >= 4; }

model::Result RunScenario(GovernorKind gov, bool invariant, Recorder* rec, SchedOptions o = Options(Policy::kHmp, GovernorKind::kPerformance)) {
  workload::Platform p = Builtin("juno-r0");
  o.policy = Policy::kHmp;
  o.governor.kind = gov;
  o.frequency_invariant = invariant;
  auto r = RunSchedSim(p, Scenario(), o, 7, nullptr, rec);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

int64_t U(sim::Time t) { return LoadUnits(t, 32); }

// The scenario's timeline as the run reports it: when the task started
// running each time, and where.
struct Timeline {
  std::vector<std::pair<sim::Time, int>> runs;
  sim::Time forced = -1;  // the forced up-migration, if any
  sim::Time wake2 = -1;   // the second wake-up (after the 1 ms burst)
};

Timeline Read(const Recorder& rec) {
  Timeline tl;
  tl.runs = rec.runs;
  for (const auto& m : rec.migs) {
    if (m.kind == MigrationKind::kForced && tl.forced < 0) tl.forced = m.t;
  }
  // Runs: fork burst, first wake, second wake, (after a forced move) the
  // busy loop again, last wake. Run 1 lasts 1 ms, then 500 ms of sleep.
  if (tl.runs.size() >= 3) tl.wake2 = tl.runs[1].first + 1 * kMs + 500 * kMs;
  return tl;
}

// select_task_rq_fair() reads se->avg.load_avg_ratio as it was last updated
// before the sleep (dequeue_entity_load_avg()); the decay over the sleep
// happens later, in enqueue_entity_load_avg(). The expectations below replay
// the task's runnable history through the same series (performance: the
// load scale is 1024 throughout, see cpufreq_policy_callback()).
TEST(HmpModel, WakeDecisionsReadTheRatioLeftAtTheSleep) {
  Recorder rec;
  RunScenario(GovernorKind::kPerformance, true, &rec);
  Timeline tl = Read(rec);
  ASSERT_EQ(tl.runs.size(), 5u);
  // Fork boost: big.
  ASSERT_FALSE(rec.migs.empty());
  EXPECT_EQ(rec.migs[0].kind, MigrationKind::kFork);
  EXPECT_TRUE(Big(tl.runs[0].second));
  LoadDecay d;
  RunnableAvg a;
  a.InitHigh(U(0), d);
  // Runnable from the fork to the end of the 100 us burst.
  const sim::Time block1 = tl.runs[0].first + 100 * sim::kUs, wake1 = block1 + 500 * kMs;
  a.Update(U(block1), true, true, 1024, d);
  const uint32_t left1 = a.LoadRatio();
  a.Update(U(wake1), false, false, 1024, d);
  const uint32_t decayed1 = a.LoadRatio();
  EXPECT_GE(left1, 1000u);
  EXPECT_LT(decayed1, 512u);  // reading it after the decay would send the task down
  // So the first wake-up is not a down-migration: it stays on big.
  EXPECT_TRUE(Big(tl.runs[1].second));
  // Runnable from that wake-up to the end of the 1 ms burst: the ratio left
  // at the second sleep is below hmp_down_threshold, so it goes down.
  const sim::Time block2 = tl.runs[1].first + 1 * kMs;
  a.Update(U(block2), true, true, 1024, d);
  EXPECT_LT(a.LoadRatio(), 512u);
  EXPECT_FALSE(Big(tl.runs[2].second));
  bool woke_down = false;
  for (const auto& m : rec.migs) woke_down = woke_down || (m.kind == MigrationKind::kWake && Big(m.from) && !Big(m.to));
  EXPECT_TRUE(woke_down);
  // After the 200 ms loop the ratio left at the sleep is high; 100 ms of
  // sleep would decay it below 512, but the wake-up reads the value left at
  // the sleep: the last burst stays on big.
  ASSERT_GT(tl.forced, 0);
  EXPECT_TRUE(Big(tl.runs[3].second));
  const sim::Time block3 = tl.runs[3].first + 200 * kMs - (tl.forced - tl.runs[2].first);
  RunnableAvg b = a;
  b.Update(U(tl.wake2), false, false, 1024, d);
  b.Update(U(block3), true, true, 1024, d);
  EXPECT_GE(b.LoadRatio(), 900u);
  RunnableAvg decayed = b;
  decayed.Update(U(block3 + 100 * kMs), false, false, 1024, d);
  EXPECT_LT(decayed.LoadRatio(), 512u);
  EXPECT_TRUE(Big(tl.runs[4].second));
}

// hmp_force_up_migration() runs from the rebalance softirq, which a busy
// CPU's tick raises when its next balance is due (trigger_load_balance());
// the LITTLE CPU's busy interval is balance_interval 1 ms x busy_factor 64.
// The first pass that sees load_avg_ratio >= 700 moves the task up. From the
// wake-up on LITTLE the ratio follows the series at full scale.
TEST(HmpModel, ForcedUpMigrationAtTheFirstPassAfterCrossing700AtMaxOpp) {
  Recorder rec;
  RunScenario(GovernorKind::kPerformance, true, &rec);
  Timeline tl = Read(rec);
  ASSERT_EQ(tl.runs.size(), 5u);
  ASSERT_GT(tl.forced, tl.wake2);
  LoadDecay d;
  RunnableAvg a;
  a.InitHigh(U(0), d);
  a.Update(U(tl.runs[0].first + 100 * sim::kUs), true, true, 1024, d);
  a.Update(U(tl.runs[0].first + 100 * sim::kUs + 500 * kMs), false, false, 1024, d);
  a.Update(U(tl.runs[1].first + 1 * kMs), true, true, 1024, d);
  a.Update(U(tl.wake2), false, false, 1024, d);
  auto ratio_at = [&](sim::Time t) {
    RunnableAvg b = a;
    b.Update(U(t), true, true, 1024, d);
    return b.LoadRatio();
  };
  // The crossing: the first 1024-ns unit at which the ratio reaches 700.
  sim::Time lo = tl.wake2, hi = tl.wake2 + 200 * kMs;
  ASSERT_GE(ratio_at(hi), 700u);
  while (hi - lo > 1024) {
    sim::Time mid = lo + (hi - lo) / 2;
    (ratio_at(mid) >= 700u ? hi : lo) = mid;
  }
  const sim::Time crossing = hi;
  const sim::Time tick = 10 * kMs, busy_interval = 64 * kMs;
  EXPECT_GE(tl.forced, crossing - 1024);
  EXPECT_LE(tl.forced, crossing + busy_interval + tick);
  EXPECT_EQ(tl.forced % tick, 0);
  const Recorder::Mig* up = nullptr;
  for (const auto& m : rec.migs) {
    if (m.kind == MigrationKind::kForced) up = up ? up : &m;
  }
  ASSERT_NE(up, nullptr);
  EXPECT_FALSE(Big(up->from));
  EXPECT_TRUE(Big(up->to));
  // The tick that ran the pass saw >= 700.
  bool seen = false;
  for (const auto& [t, ratio] : rec.ticks) {
    if (t == tl.forced) {
      seen = true;
      EXPECT_GE(ratio, 700u);
    }
  }
  EXPECT_TRUE(seen);
  // The passes: the LITTLE CPU's first busy tick (its balance long due),
  // then every msecs_to_jiffies(1 ms x 64) = 7 jiffies. The crossing falls
  // between the first two, so the move waits for the second, although an
  // earlier tick already saw >= 700.
  sim::Time first_tick = -1;
  for (const auto& [t, ratio] : rec.ticks) {
    if (t > tl.wake2 && first_tick < 0) first_tick = t;
  }
  ASSERT_GT(first_tick, 0);
  EXPECT_EQ(tl.forced, first_tick + 7 * tick);
  bool earlier = false;
  for (const auto& [t, ratio] : rec.ticks) earlier = earlier || (t > tl.wake2 && t < tl.forced && ratio >= 700);
  EXPECT_TRUE(earlier);
}

// cpufreq_policy_callback() recognises performance and powersave by name as
// single-frequency governors and pins curr_scale at 1024: with them,
// frequency invariance changes nothing, even at powersave's lowest OPP
// (450 of 850 MHz on the A53, which would otherwise scale contributions to
// 450000 / (850000 >> 10) = 542 / 1024 and keep the ratio below 700).
TEST(HmpModel, SingleFrequencyGovernorsPinTheLoadScaleAt1024) {
  for (GovernorKind gov : {GovernorKind::kPowersave, GovernorKind::kPerformance}) {
    Recorder inv, plain;
    model::Result a = RunScenario(gov, true, &inv);
    model::Result b = RunScenario(gov, false, &plain);
    EXPECT_EQ(a.scalars.at("energy").value, b.scalars.at("energy").value) << GovernorName(gov);
    EXPECT_EQ(a.scalars.at("migrations_forced").value, 1) << GovernorName(gov);
    ASSERT_EQ(inv.ticks.size(), plain.ticks.size());
    for (size_t i = 0; i < inv.ticks.size(); ++i) EXPECT_EQ(inv.ticks[i], plain.ticks[i]);
  }
  // A governor that changes frequency is scaled: ondemand with and without
  // invariance differ.
  Recorder od_inv, od_plain;
  RunScenario(GovernorKind::kOndemand, true, &od_inv);
  RunScenario(GovernorKind::kOndemand, false, &od_plain);
  EXPECT_NE(od_inv.ticks, od_plain.ticks);
}

// Under ondemand the LITTLE cluster starts the busy loop at its lowest OPP,
// where the scale (542) caps the ratio near 542 < 700: the forced
// up-migration waits for the governor to raise the frequency, and comes
// later than at max OPP.
TEST(HmpModel, CrossesOnlyAfterGovernorRaisesFrequency) {
  Recorder rec;
  RunScenario(GovernorKind::kOndemand, true, &rec);
  Timeline tl = Read(rec);
  ASSERT_GT(tl.wake2, 0);
  ASSERT_FALSE(Big(tl.runs[2].second));
  sim::Time raise = -1;
  for (const auto& [t, opp] : rec.opps) {
    if (t > tl.wake2 && opp > 0) {
      raise = t;
      break;
    }
  }
  ASSERT_GT(raise, 0);
  ASSERT_GT(tl.forced, 0);
  EXPECT_GT(tl.forced, raise);
  for (const auto& [t, ratio] : rec.ticks) {
    if (t > tl.wake2 && t < raise) {
      EXPECT_LT(ratio, 560u) << t;
    }
  }
  // The ratio never runs ahead of the max-OPP run's at the same tick, and
  // falls behind it; the forced move comes no earlier.
  Recorder fast;
  RunScenario(GovernorKind::kPerformance, true, &fast);
  Timeline ft = Read(fast);
  ASSERT_GT(ft.forced, 0);
  ASSERT_EQ(ft.wake2, tl.wake2);
  bool behind = false;
  for (const auto& [t, ratio] : rec.ticks) {
    if (t <= tl.wake2 || t > ft.forced) continue;
    for (const auto& [ft_t, ft_ratio] : fast.ticks) {
      if (ft_t != t) continue;
      EXPECT_LE(ratio, ft_ratio) << t;
      behind = behind || ratio < ft_ratio;
    }
  }
  EXPECT_TRUE(behind);
  EXPECT_GE(tl.forced, ft.forced);
}

// hmp_next_up_delay() clears the task's last down-migration time and
// hmp_next_down_delay() its last up-migration time. With settling
// thresholds of 2,000,000 units (2.048 s), the fork boost at t = 0 stamps
// the last up-migration; the down-migration at the second wake-up (~1 s)
// clears it, so the busy loop still goes up at ~1.07 s; that clears the
// down stamp, so a later down-migration at ~2.3 s is allowed although the
// first was only ~1.3 s earlier.
TEST(HmpModel, MigrationsClearTheOtherDirectionsSettlingTime) {
  SchedOptions o = Options(Policy::kHmp, GovernorKind::kPerformance);
  o.hmp_next_up_threshold = 2000000;
  o.hmp_next_down_threshold = 2000000;
  workload::SchedWorkload w = Scenario();
  // After the loop: 500 ms asleep, a 1 ms burst, 500 ms asleep, a burst.
  auto& ph = w.tasks[0].phases;
  ph.pop_back();
  ph.pop_back();
  ph.push_back(Sleep(500 * kMs));
  ph.push_back(Runtime(1 * kMs));
  ph.push_back(Sleep(500 * kMs));
  ph.push_back(Runtime(1 * kMs));
  ph.push_back(Sleep(500 * kMs));
  ph.push_back(Runtime(1 * kMs));
  Recorder rec;
  auto r = RunSchedSim(Builtin("juno-r0"), w, o, 1, nullptr, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Recorder::Mig> moves;
  for (const auto& m : rec.migs) {
    if (m.kind != MigrationKind::kFork) moves.push_back(m);
  }
  ASSERT_EQ(moves.size(), 3u);
  EXPECT_EQ(moves[0].kind, MigrationKind::kWake);  // down at ~1 s
  EXPECT_FALSE(Big(moves[0].to));
  EXPECT_EQ(moves[1].kind, MigrationKind::kForced);  // up within 2.048 s of the fork boost
  EXPECT_TRUE(Big(moves[1].to));
  EXPECT_LT(moves[1].t, 2048 * kMs);
  EXPECT_EQ(moves[2].kind, MigrationKind::kWake);  // down within 2.048 s of the first down
  EXPECT_FALSE(Big(moves[2].to));
  EXPECT_LT(moves[2].t - moves[0].t, 2048 * kMs);
}

// idle_balance() returns before anything when rq->avg_idle is below
// sysctl_sched_migration_cost (500 us), and LSK calls hmp_idle_pull() only
// after its newidle loop found nothing. A task s pinned to big CPU 5 runs
// 1 ms and sleeps 100 us: CPU 5 goes newly idle every 1.1 ms, and its
// avg_idle (update_avg() of 100 us idle periods, from 1 ms) drops below
// 500 us after 7 of them. A heavy task h (allowed on CPU 0 and 5) starts its
// busy loop on LITTLE at 20 ms, when the gate is long closed: CPU 5 never
// idle-pulls it (a forced up-migration may, at a pass that finds CPU 5 idle).
TEST(HmpModel, IdlePullStaysBehindTheAvgIdleGate) {
  workload::SchedWorkload w;
  w.duration_ns = 200 * kMs;
  auto s = sched::testing::Task("s", 0, -1, {Runtime(1 * kMs), Sleep(100 * sim::kUs)}, "interactive");
  s.cpu_mask = 1ull << 5;
  auto h = sched::testing::Task("h", 0, -1, {Sleep(20 * kMs), Runtime(500 * kMs)}, "batch");
  h.cpu_mask = (1ull << 0) | (1ull << 5);
  w.tasks.push_back(s);
  w.tasks.push_back(h);
  struct Ticks : SchedObserver {
    int heavy_little_ticks = 0;
    void OnTick(sim::Time, int cpu, int task, uint32_t ratio) override {
      if (task == 1 && !Big(cpu) && ratio >= 700) ++heavy_little_ticks;
    }
  } obs;
  auto r = RunSchedSim(Builtin("juno-r0"), w, Options(Policy::kHmp, GovernorKind::kPerformance), 1, nullptr, &obs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scalars.at("migrations_idle_pull").value, 0);
  // h did run on LITTLE with a ratio past the threshold while CPU 5 kept
  // going newly idle.
  EXPECT_GT(obs.heavy_little_ticks, 0);
  EXPECT_GT(r->scalars.at("context_switches").value, 100);
}

// --- The HMP rules one at a time, on a core whose runqueues, running tasks
// and load averages the test sets by hand (no events run; time moves only
// when the test says so). Juno r0: CPUs 0-3 LITTLE, 4-5 big.

class HandCore final : public SchedCore {
 public:
  struct Move {
    int task, from, to;
    MigrationKind kind;
  };
  HandCore(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o)
      : SchedCore(p, w, o) {
    CfsTunables tun = ScaledCfsTunables(static_cast<int>(p.total_cpus()));
    int cpu = 0;
    for (size_t c = 0; c < p.clusters.size(); ++c) {
      ClusterRt cr;
      cr.first = cpu;
      cr.n = static_cast<int>(p.clusters[c].cpus);
      clusters_.push_back(cr);
      for (uint32_t i = 0; i < p.clusters[c].cpus; ++i, ++cpu) {
        Cpu x(tun);
        x.cluster = static_cast<int>(c);
        cpus_.push_back(std::move(x));
      }
    }
    nclusters_ = static_cast<int>(clusters_.size());
    for (size_t i = 0; i < w.tasks.size(); ++i) {
      auto t = std::make_unique<sched::Task>();
      t->SetSpec(&w.tasks[i]);
      t->index = static_cast<int>(i);
      t->se.id = static_cast<uint32_t>(i);
      t->state = TaskState::kBlocked;
      tasks_.push_back(std::move(t));
    }
  }
  void AdvanceTo(sim::Time t) { sim_.RunUntil(t); }
  // load_avg_ratio `ratio` and running share `starvation` / 1024.
  void SetLoad(int task, uint32_t ratio, uint32_t starvation = 1024) {
    RunnableAvg& a = tasks_[task]->avg;
    a.period = 47742;
    a.runnable_sum = (ratio + 0.5) * (a.period + 1) / 1024;
    a.usage_sum = (starvation + 0.5) * (a.runnable_sum + 1) / 1024;
  }
  void Running(int task, int cpu, uint32_t ratio, uint32_t starvation = 1024) {
    sched::Task* t = tasks_[task].get();
    SetLoad(task, ratio, starvation);
    Cpu& c = cpus_[cpu];
    EXPECT_EQ(c.rq.nr_running(), 0);
    t->cpu = cpu;
    t->se.vruntime = 0;
    c.rq.Enqueue(&t->se);
    c.rq.PickNext();
    c.curr = t;
    c.idle = false;
    t->state = TaskState::kRunning;
  }
  void Queued(int task, int cpu, int64_t vruntime, uint32_t ratio, uint32_t starvation = 1024) {
    sched::Task* t = tasks_[task].get();
    SetLoad(task, ratio, starvation);
    t->cpu = cpu;
    t->se.vruntime = vruntime;
    cpus_[cpu].rq.Enqueue(&t->se);
    cpus_[cpu].idle = false;
    t->state = TaskState::kRunnable;
  }
  void Sleeping(int task, int cpu, uint32_t ratio) {
    sched::Task* t = tasks_[task].get();
    SetLoad(task, ratio);
    t->cpu = cpu;
    t->state = TaskState::kBlocked;
  }
  void Migrate(sched::Task* t, int to, MigrationKind kind) override {
    moves.push_back({t->index, t->cpu, to, kind});
    Cpu& src = cpus_[t->cpu];
    if (src.curr == t) {
      src.rq.DequeueCurr();
      src.curr = nullptr;
    } else {
      src.rq.Dequeue(&t->se);
    }
    src.idle = src.rq.nr_running() == 0;
    t->cpu = to;
    t->state = TaskState::kRunnable;
    cpus_[to].rq.Enqueue(&t->se);
    cpus_[to].idle = false;
  }
  std::vector<Move> moves;
};

workload::SchedWorkload Tasks(int n, int nice = 0) {
  workload::SchedWorkload w;
  for (int i = 0; i < n; ++i) {
    std::string name = "t";
    name += std::to_string(i);  // not "t" + to_string(): GCC 12 -Wrestrict false positive
    w.tasks.push_back(sched::testing::Task(name, nice, -1, {Runtime(1 * kMs)}));
  }
  return w;
}

struct Hand {
  explicit Hand(workload::SchedWorkload tasks, SchedOptions o = Options(Policy::kHmp, GovernorKind::kPerformance))
      : platform(Builtin("juno-r0")), w(std::move(tasks)), core(platform, w, o) {
    hmp.Attach(&core);
  }
  workload::Platform platform;
  workload::SchedWorkload w;
  HandCore core;
  HmpPlacement hmp;
  PlacementPolicy& policy() { return hmp; }
};

// hmp_get_heaviest_task(): curr and at most hmp_max_tasks (5) queued tasks,
// in pick order. A heavy task sixth in the queue is not seen, fifth it is.
TEST(HmpRules, HeaviestSearchSeesCurrAndFiveQueuedTasks) {
  for (int heavy_pos : {6, 5}) {
    Hand h(Tasks(7));
    h.core.AdvanceTo(100 * kMs);
    h.core.Running(0, 0, 300);
    for (int i = 1; i <= 6; ++i) h.core.Queued(i, 0, i * kMs, i == heavy_pos ? 1000 : 300);
    // Forced up-migration pass, then the idle pull of a big CPU.
    h.policy().Tick(0);
    if (heavy_pos == 6) {
      EXPECT_TRUE(h.core.moves.empty());
      EXPECT_FALSE(h.policy().IdlePull(4));
      EXPECT_TRUE(h.core.moves.empty());
    } else {
      ASSERT_EQ(h.core.moves.size(), 1u);
      EXPECT_EQ(h.core.moves[0].task, 5);
      EXPECT_EQ(h.core.moves[0].kind, MigrationKind::kForced);
      EXPECT_TRUE(Big(h.core.moves[0].to));
    }
  }
}

// hmp_force_up_migration() walks every online CPU, whichever CPU's softirq
// runs it, and stops at the first up-migration.
TEST(HmpRules, ForcedUpMigrationWalksEveryCpuAndStopsAtTheFirst) {
  Hand h(Tasks(3));
  h.core.AdvanceTo(100 * kMs);
  h.core.Running(0, 4, 500);   // the big CPU whose tick runs the pass
  h.core.Running(1, 2, 900);   // heavy on LITTLE CPU 2
  h.core.Running(2, 3, 950);   // heavier on LITTLE CPU 3
  h.policy().Tick(4);
  ASSERT_EQ(h.core.moves.size(), 1u);
  // CPU 2 comes first in the walk; the pull by the idle big CPU 5 then
  // takes the heaviest eligible LITTLE task (hmp_idle_pull()).
  EXPECT_EQ(h.core.moves[0].to, 5);
  EXPECT_EQ(h.core.moves[0].task, 2);
  EXPECT_EQ(h.core.moves[0].kind, MigrationKind::kForced);
}

// hmp_offload_down() is given hmp_get_lightest_task(): the lightest of curr
// and five queued tasks, here a waiting task rather than the running one.
TEST(HmpRules, OffloadMovesTheLightestOfCurrAndFiveQueued) {
  Hand h(Tasks(4));
  h.core.AdvanceTo(100 * kMs);
  h.core.Running(0, 4, 1000, /*starvation=*/1000);
  h.core.Queued(1, 4, 1 * kMs, 600, /*starvation=*/500);
  h.core.Queued(2, 4, 2 * kMs, 800, 500);
  h.core.Running(3, 5, 900);  // no idle big CPU
  h.policy().Tick(4);
  ASSERT_EQ(h.core.moves.size(), 1u);
  EXPECT_EQ(h.core.moves[0].task, 1);
  EXPECT_EQ(h.core.moves[0].from, 4);
  EXPECT_EQ(h.core.moves[0].to, 0);
  EXPECT_EQ(h.core.moves[0].kind, MigrationKind::kOffload);
  // The lightest must be starving (running share <= 768 / 1024) to go.
  Hand g(Tasks(4));
  g.core.AdvanceTo(100 * kMs);
  g.core.Running(0, 4, 1000, 500);
  g.core.Queued(1, 4, 1 * kMs, 600, /*starvation=*/900);
  g.core.Running(3, 5, 900);
  g.policy().Tick(4);
  EXPECT_TRUE(g.core.moves.empty());
}

// hmp_idle_pull() has no settling-time and no priority check: a nice 5 task
// with the priority filter on, moved up 1 ms ago, is pulled all the same.
TEST(HmpRules, IdlePullChecksNeitherSettlingTimeNorPriority) {
  SchedOptions o = Options(Policy::kHmp, GovernorKind::kPerformance);
  o.hmp_prio_filter = true;
  Hand h(Tasks(1, /*nice=*/5), o);
  h.core.AdvanceTo(100 * kMs);
  ASSERT_TRUE(Big(h.policy().SelectForkCpu(h.core.task(0), 0)));  // stamps an up-migration now
  h.core.AdvanceTo(101 * kMs);
  h.core.Running(0, 1, 800);
  EXPECT_TRUE(h.policy().IdlePull(4));
  ASSERT_EQ(h.core.moves.size(), 1u);
  EXPECT_EQ(h.core.moves[0].kind, MigrationKind::kIdlePull);
  EXPECT_EQ(h.core.moves[0].to, 4);
  // Eligibility is load_avg_ratio >= hmp_up_threshold (700 is enough).
  Hand g(Tasks(1));
  g.core.AdvanceTo(100 * kMs);
  g.core.Running(0, 1, 700);
  EXPECT_TRUE(g.policy().IdlePull(4));
  Hand f(Tasks(1));
  f.core.AdvanceTo(100 * kMs);
  f.core.Running(0, 1, 699);
  EXPECT_FALSE(f.policy().IdlePull(4));
}

// hmp_up_migration(): ((now - last up-migration) >> 10) < hmp_next_up_threshold
// (4096 by default) blocks it: 4096 x 1024 ns = 4.194304 ms exactly.
TEST(HmpRules, SettlingTimeIsExactly4096Units) {
  Hand h(Tasks(1));
  const sim::Time t0 = 100 * kMs;
  h.core.AdvanceTo(t0);
  ASSERT_TRUE(Big(h.policy().SelectForkCpu(h.core.task(0), 0)));
  h.core.Sleeping(0, 1, 900);
  h.core.AdvanceTo(t0 + 4096 * 1024 - 1);
  EXPECT_FALSE(Big(h.policy().SelectWakeCpu(h.core.task(0), 1)));
  h.core.AdvanceTo(t0 + 4096 * 1024);
  EXPECT_TRUE(Big(h.policy().SelectWakeCpu(h.core.task(0), 1)));
}

// hmp_next_up_delay() clears the last down-migration time, and
// hmp_next_down_delay() the last up-migration time: settling applies only
// within one direction.
TEST(HmpRules, NextDelaysClearTheOtherDirection) {
  Hand h(Tasks(1));
  const sim::Time t0 = 100 * kMs;
  h.core.AdvanceTo(t0);
  int big = h.policy().SelectForkCpu(h.core.task(0), 0);  // up at t0
  ASSERT_TRUE(Big(big));
  // 1 ms later: down at wake-up (ratio 100 < 512; never moved down before).
  h.core.AdvanceTo(t0 + 1 * kMs);
  h.core.Sleeping(0, big, 100);
  int little = h.policy().SelectWakeCpu(h.core.task(0), big);
  ASSERT_FALSE(Big(little));
  // 2 ms after the fork boost: up again, since the down cleared it.
  h.core.AdvanceTo(t0 + 2 * kMs);
  h.core.Sleeping(0, little, 900);
  int up = h.policy().SelectWakeCpu(h.core.task(0), little);
  EXPECT_TRUE(Big(up));
  // 2.5 ms: from LITTLE again (moved there by hand), up is blocked: 0.5 ms
  // after the last up-migration (same direction).
  h.core.AdvanceTo(t0 + 2500 * sim::kUs);
  h.core.Sleeping(0, little, 900);
  EXPECT_FALSE(Big(h.policy().SelectWakeCpu(h.core.task(0), little)));
  // 3 ms: down again, 2 ms after the first down: the up cleared it.
  h.core.AdvanceTo(t0 + 3 * kMs);
  h.core.Sleeping(0, up, 100);
  EXPECT_FALSE(Big(h.policy().SelectWakeCpu(h.core.task(0), up)));
  // 3.5 ms: from big again (by hand), down is blocked: 0.5 ms after the last
  // down-migration.
  h.core.AdvanceTo(t0 + 3500 * sim::kUs);
  h.core.Sleeping(0, up, 100);
  EXPECT_TRUE(Big(h.policy().SelectWakeCpu(h.core.task(0), up)));
}

// hmp_domain_min_load(): any runnable load makes a CPU "1023"; among equals
// the CPU least recently targeted by an HMP migration wins, then the lowest.
TEST(HmpRules, MinLoadPrefersIdleThenTheLeastRecentlyTargetedCpu) {
  Hand h(Tasks(4));
  h.core.AdvanceTo(100 * kMs);
  EXPECT_EQ(h.policy().SelectForkCpu(h.core.task(0), 0), 4);  // both idle, never targeted: the first
  h.core.Running(0, 4, 1000);
  h.core.AdvanceTo(101 * kMs);
  EXPECT_EQ(h.policy().SelectForkCpu(h.core.task(1), 0), 5);  // the idle one
  h.core.Running(1, 5, 1000);
  h.core.Queued(2, 4, 1 * kMs, 1000);  // CPU 4 has more tasks, but was targeted longer ago
  h.core.AdvanceTo(102 * kMs);
  EXPECT_EQ(h.policy().SelectForkCpu(h.core.task(3), 0), 4);
}

}  // namespace
}  // namespace kreplay::sched
