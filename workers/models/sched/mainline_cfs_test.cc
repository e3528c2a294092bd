// sched.cfs on the mainline base (kernel_version 5.15 .. 6.5): the CFS rules
// that changed after 3.10, and full runs, with expectations computed here
// from fair.c, pelt.c and the sysctl defaults of the releases named, never
// from the model's output.
#include <gtest/gtest.h>

#include <cmath>

#include "services/model/params.h"
#include "workers/models/sched/cfs_rq.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using testing::FlatPlatform;
using testing::Runtime;
using testing::Task;
using testing::Timer;
constexpr int64_t kMs = sim::kMs;
constexpr int64_t kUs = sim::kUs;

CfsTunables Mainline(int ncpus, const char* release) {
  CfsTunables t = ScaledCfsTunables(ncpus);
  t.rules = MainlineCfsRules(*ParseMainlineCfsVersion(release));
  return t;
}

TEST(MainlineCfsRules, FollowTheRelease) {
  CfsRules r515 = MainlineCfsRules(*ParseMainlineCfsVersion("5.15"));
  EXPECT_TRUE(r515.curr_on_rq_only && r515.base_slice && r515.idle_entities);
  EXPECT_FALSE(r515.tick_slice_capped);
  EXPECT_FALSE(MainlineCfsRules(*ParseMainlineCfsVersion("6.2")).tick_slice_capped);
  EXPECT_TRUE(MainlineCfsRules(*ParseMainlineCfsVersion("6.3")).tick_slice_capped);
  EXPECT_TRUE(MainlineCfsRules(*ParseMainlineCfsVersion("6.5")).tick_slice_capped);
  // The range: EEVDF from 6.6, not modelled before 5.15, no 5.20.
  for (const char* bad : {"6.6", "6.12", "5.10", "4.19", "5.20", "6", "6.1.5", "3.10"}) {
    EXPECT_FALSE(ParseMainlineCfsVersion(bad).ok()) << bad;
  }
  EXPECT_NE(ParseMainlineCfsVersion("6.6").status().message().find("sched.eevdf"), std::string::npos);
}

// sched_slice() with BASE_SLICE: at least min_granularity. One CPU (6 ms
// latency, 0.75 ms min_granularity): three nice-0 tasks and a nice-19 one
// (weight 15); the latter's share of the period is 6 ms x 15 / 3087 =
// 29.15 us, raised to 0.75 ms.
TEST(MainlineCfsRq, BaseSliceFloorsTheSliceAtMinGranularity) {
  for (bool mainline : {false, true}) {
    CfsRq rq(mainline ? Mainline(1, "6.1") : ScaledCfsTunables(1));
    SchedEntity n0[3] = {{1}, {2}, {3}};
    SchedEntity light{4};
    light.weight = NiceToWeight(19);
    for (SchedEntity& e : n0) rq.Enqueue(&e);
    rq.Enqueue(&light);
    const int64_t share = 6 * kMs * 15 / (3 * 1024 + 15);
    EXPECT_EQ(rq.Slice(&light), mainline ? 750 * kUs : share) << mainline;
    EXPECT_EQ(rq.Slice(&n0[0]), 6 * kMs * 1024 / (3 * 1024 + 15)) << mainline;  // above the floor either way
  }
}

// A SCHED_IDLE entity's floor is sysctl_sched_idle_min_granularity (0.75 ms,
// not CPU-scaled) beside normal entities; a light normal one's is
// min_granularity, 0.75 ms x 3 = 2.25 ms at 4 CPUs. Latency there is 18 ms:
// the idle entity's share is 18 ms x 3 / 1042 = 51.8 us, the nice-19 one's
// 18 ms x 15 / 1042 = 259 us.
TEST(MainlineCfsRq, IdleEntitiesGetTheIdleFloor) {
  CfsRq rq(Mainline(4, "6.1"));
  SchedEntity normal{1}, idle{2}, light{3};
  idle.weight = 3;
  idle.idle = true;
  light.weight = NiceToWeight(19);
  rq.Enqueue(&normal);
  rq.Enqueue(&idle);
  rq.Enqueue(&light);
  EXPECT_EQ(rq.Slice(&idle), 750 * kUs);
  EXPECT_EQ(rq.Slice(&light), 2250 * kUs);
}

// place_entity(): a waking SCHED_IDLE entity is credited min_granularity / 2
// (GENTLE_FAIR_SLEEPERS), a normal one latency / 2. One CPU: 0.375 ms vs
// 3 ms below min_vruntime.
TEST(MainlineCfsRq, IdleSleeperCreditIsHalfMinGranularity) {
  for (bool mainline : {false, true}) {
    CfsRq rq(mainline ? Mainline(1, "6.1") : ScaledCfsTunables(1));
    SchedEntity a{1};
    rq.Enqueue(&a);
    ASSERT_EQ(rq.PickNext(), &a);
    rq.UpdateCurr(10 * kMs);
    ASSERT_EQ(rq.min_vruntime(), 10 * kMs);
    SchedEntity normal{2}, idle{3};
    idle.weight = 3;
    idle.idle = true;
    rq.PlaceEntity(&normal, /*initial=*/false);
    rq.PlaceEntity(&idle, /*initial=*/false);
    EXPECT_EQ(normal.vruntime, 7 * kMs) << mainline;
    EXPECT_EQ(idle.vruntime, mainline ? 10 * kMs - 375 * kUs : 7 * kMs) << mainline;
  }
}

// check_preempt_tick() from 6.3: the ideal runtime is at most sched_latency.
// One CPU: a nice -20 task (88761) and eight nice-19 ones (15): nine runnable
// tasks > sched_nr_latency, so the period is 9 x 0.75 = 6.75 ms and the
// heavy task's slice 6.75 ms x 88761 / 88881 = 6.74 ms. After 6.5 ms of
// running (the others far behind in vruntime order, so the vruntime test
// does not fire) 6.2 lets it go on, 6.3 preempts (6.5 > 6 ms).
TEST(MainlineCfsRq, From63TheTickCapsTheIdealRuntimeAtLatency) {
  for (const char* release : {"6.2", "6.3"}) {
    CfsRq rq(Mainline(1, release));
    SchedEntity heavy{0};
    heavy.weight = NiceToWeight(-20);
    SchedEntity light[8];
    for (int i = 0; i < 8; ++i) {
      light[i].id = static_cast<uint32_t>(i + 1);
      light[i].weight = NiceToWeight(19);
      light[i].vruntime = 1000 * kMs;
      rq.Enqueue(&light[i]);
    }
    rq.Enqueue(&heavy);
    ASSERT_EQ(rq.PickNext(), &heavy);
    ASSERT_GT(rq.Slice(&heavy), 6 * kMs);
    rq.UpdateCurr(6500 * kUs);
    EXPECT_EQ(rq.TickPreempt(), std::string(release) == "6.3") << release;
  }
}

// --- Full runs.
SchedOptions MainlineCfs(const std::string& release, GovernorKind gov = GovernorKind::kPerformance, int hz = 250) {
  SchedOptions o;
  o.policy = Policy::kCfs;
  o.kernel_version = release;
  o.hz = hz;
  o.governor.kind = gov;
  o.imbalance_pct = o.mc_imbalance_pct = 117;
  o.busy_factor = 16;
  return o;
}

using testing::RunOk;
using testing::Scalar;

// Always-runnable tasks share one CPU by weight (sched_prio_to_weight: nice
// -3 1991, 0 1024, 5 335): CFS keeps their vruntimes within a slice.
TEST(MainlineCfsModel, HogsShareByWeight) {
  for (const char* release : {"5.15", "6.1", "6.5"}) {
    testing::ExpectNiceHogShares(RunOk(FlatPlatform(1), testing::NiceHogs(10 * sim::kSec), MainlineCfs(release)),
                                 10000.0, 10.0, release);
  }
}

// The review's scenario on mainline CFS: one CPU, two nice-0 hogs, a task
// running 1 ms every 17.3 ms. At its wake-up min_vruntime is at most the
// running hog's vruntime (min of curr and leftmost, brought up to now by
// update_curr()), place_entity() credits latency / 2 = 3 ms below it, and
// the 3 ms lead beats the 1 ms wakeup granularity: it preempts at once.
TEST(MainlineCfsModel, LongSleeperPreemptsAtWakeUp) {
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.tasks.push_back(Task("a", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("b", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("p", 0, -1, {Runtime(1 * kMs), Timer(17300 * kUs)}, "periodic"));
  model::Result r = RunOk(FlatPlatform(1), w, MainlineCfs("6.1"));
  EXPECT_LT(Scalar(r, "task.p.wakeup_latency_p99_us"), 100.0);
  EXPECT_GT(Scalar(r, "task.p.cpu_time_ms"), 500.0);
}

// Mainline placement and PELT under CFS as under EEVDF (the same functions
// in 5.15 .. 6.18): a hog forked on an A53 of Juno starts at
// post_init_entity_util_avg()'s (447 - 0) / 2 = 223 and stops fitting the
// A53 (util * 1280 >= 447 * 1024) at util 357.6, after log_y(666.4 / 801)
// ~ 8.5 ms of PELT time, 447/1024 of wall time at the top OPP; the next
// tick's update_misfit_status() moves it to an idle A57, where it fits.
struct Moves : SchedObserver {
  std::vector<std::pair<sim::Time, int>> to;
  void OnMigration(sim::Time t, int, int, int cpu, MigrationKind) override { to.push_back({t, cpu}); }
};

TEST(MainlineCfsModel, MisfitTaskMovesFromLittleToBig) {
  workload::SchedWorkload w;
  w.duration_ns = 100 * kMs;
  w.tasks.push_back(Task("hog", 0, -1, {Runtime(1 * sim::kSec)}));
  Moves obs;
  model::Result r = RunOk(testing::Builtin("juno-r0"), w, MainlineCfs("6.1"), &obs);
  const double y = std::pow(0.5, 1.0 / 32);
  const double t_wall_ms = std::log((1024 - 357.6) / (1024 - 223.0)) / std::log(y) * 1024 / 447;
  ASSERT_EQ(obs.to.size(), 1u);
  EXPECT_GE(obs.to[0].second, 4);  // an A57
  EXPECT_GE(obs.to[0].first / 1e6, t_wall_ms);
  EXPECT_LE(obs.to[0].first / 1e6, t_wall_ms + 2.3 + 4 + 1);  // a PELT period, a tick, the idle exit
  EXPECT_EQ(Scalar(r, "migrations"), 1);  // it fits the A57: it stays
}

// Fork placement, sched_balance_find_dst_cpu() on Juno r0 (CPUs 0-3 A53,
// capacity 447; 4-5 A57, 1024), six hogs forked by the parent on CPU 0 at
// t = 0, each enqueued before the next fork (util 0 at placement: it fits
// everywhere; each placed task gets post_init util 223 on an A53, 512 on an
// A57, below imbalance_pct 117's spare-capacity limits, so a CPU with one
// task is a "has spare" group with no idle CPU):
//   T0: PKG: A53 4 idle vs A57 2: stay; MC: {1} has as many idle CPUs as
//       {0}: stay -> CPU 0.
//   T1: PKG: A53 3 idle vs 2: stay; MC: {1} (first of the idle ones) has
//       1 idle CPU, {0} none -> CPU 1.
//   T2: PKG: 2 vs 2: stay -> CPU 2.
//   T3: PKG: A53 1 idle vs A57 2 -> the A57s; find_dst_group_cpu(): both
//       idle in the same state since boot -> CPU 4; MC of CPU 4: {5} has no
//       more idle CPUs than {4}: stay -> CPU 4.
//   T4: PKG: 1 vs 1: stay; MC -> CPU 3.
//   T5: PKG: A53 0 idle vs A57 1 -> CPU 5.
// The simplified "first idle CPU from the parent's" rule would give 0..5.
struct FirstRun : SchedObserver {
  std::vector<int> cpu_of = std::vector<int>(16, -1);
  void OnRun(sim::Time, int cpu, int task) override {
    if (cpu_of[task] < 0) cpu_of[task] = cpu;
  }
};

TEST(MainlinePlacement, ForkWalksTheDomainsAsTheKernel) {
  workload::SchedWorkload w;
  w.duration_ns = 20 * kMs;
  for (int i = 0; i < 6; ++i) w.tasks.push_back(Task("t" + std::to_string(i), 0, -1, {Runtime(1 * sim::kSec)}));
  SchedOptions eevdf = MainlineCfs("6.12");
  eevdf.policy = Policy::kEevdf;
  for (const SchedOptions& o : {MainlineCfs("6.1"), eevdf}) {
    FirstRun obs;
    RunOk(testing::Builtin("juno-r0"), w, o, &obs);
    EXPECT_EQ(std::vector<int>(obs.cpu_of.begin(), obs.cpu_of.begin() + 6), (std::vector<int>{0, 1, 2, 4, 3, 5}))
        << o.kernel_version;
  }
}

// --- The registered model: the release picks the defaults; the other
// base's parameters are refused by name.
class CfsRegistered : public ::testing::Test {
 protected:
  void SetUp() override {
    p_ = testing::Builtin("juno-r0");
    w_.duration_ns = 300 * kMs;
    w_.tasks.push_back(Task("hog", 0, -1, {Runtime(1 * sim::kSec)}));
    w_.tasks.push_back(Task("p", 0, -1, {Runtime(2 * kMs), Timer(10300 * kUs)}, "periodic"));
    w_.tasks.push_back(Task("q", 5, -1, {Runtime(3 * kMs), testing::Sleep(7 * kMs)}, "interactive"));
  }
  StatusOr<model::Result> Run(const std::map<std::string, model::ParamValue>& given) { return model_.Run(p_, w_, given); }
  testing::RegisteredModel model_{"sched.cfs"};
  const model::ModelInfo* info_ = &model_.info();
  workload::Platform p_;
  workload::SchedWorkload w_;
};

bool SameScalars(const model::Result& a, const model::Result& b) {
  if (a.scalars.size() != b.scalars.size()) return false;
  for (const auto& [k, v] : a.scalars) {
    auto it = b.scalars.find(k);
    if (it == b.scalars.end() || it->second.value != v.value) return false;
  }
  return true;
}

// The documented release defaults: 3.10 hz 100, ondemand, imbalance_pct
// 125/125, busy_factor 64; mainline hz 250 (Kconfig.hz), schedutil,
// sd_init()'s 117/117 and 16.
TEST_F(CfsRegistered, DefaultsFollowTheRelease) {
  auto lsk = Run({});
  auto lsk_explicit = Run({{"hz", int64_t{100}}, {"governor", std::string("ondemand")},
                           {"imbalance_pct", int64_t{125}}, {"mc_imbalance_pct", int64_t{125}},
                           {"busy_factor", int64_t{64}}});
  ASSERT_TRUE(lsk.ok() && lsk_explicit.ok()) << lsk.status().ToString();
  EXPECT_TRUE(SameScalars(*lsk, *lsk_explicit));
  auto ml = Run({{"kernel_version", std::string("6.1")}});
  auto ml_explicit = Run({{"kernel_version", std::string("6.1")}, {"hz", int64_t{250}},
                          {"governor", std::string("schedutil")}, {"imbalance_pct", int64_t{117}},
                          {"mc_imbalance_pct", int64_t{117}}, {"busy_factor", int64_t{16}}});
  ASSERT_TRUE(ml.ok() && ml_explicit.ok()) << ml.status().ToString();
  EXPECT_TRUE(SameScalars(*ml, *ml_explicit));
  EXPECT_FALSE(SameScalars(*lsk, *ml));
  auto ml100 = Run({{"kernel_version", std::string("6.1")}, {"hz", int64_t{100}}});
  ASSERT_TRUE(ml100.ok());
  EXPECT_FALSE(SameScalars(*ml, *ml100));
  // Bit-identical on a second run.
  EXPECT_TRUE(SameScalars(*ml, *Run({{"kernel_version", std::string("6.1")}})));
}

TEST_F(CfsRegistered, ErrorsNameTheParameter) {
  struct Case {
    std::map<std::string, model::ParamValue> given;
    const char* want;
  } cases[] = {
      {{{"kernel_version", std::string("6.12")}}, "sched.eevdf"},
      {{{"kernel_version", std::string("5.10")}}, "5.15"},
      {{{"kernel_version", std::string("five")}}, "params.kernel_version"},
      {{{"kernel_version", std::string("6.1")}, {"up_rate_limit_us", int64_t{1000}}}, "params.up_rate_limit_us"},
      {{{"rate_limit_us", int64_t{1000}}}, "params.rate_limit_us"},
      {{{"hz", int64_t{10}}}, "params.hz"},
      {{{"imbalance_pct", int64_t{50}}}, "params.imbalance_pct"},
  };
  for (const Case& c : cases) {
    auto r = Run(c.given);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.want;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
  }
  EXPECT_TRUE(Run({{"kernel_version", std::string("6.1")}, {"rate_limit_us", int64_t{2000}}}).ok());
}

}  // namespace
}  // namespace kreplay::sched
