// sched.eevdf on the mainline core: full runs whose expectations are
// computed here from the kernel's rules (fair.c, pelt.c,
// cpufreq_schedutil.c of the release named), never from the model's output.
#include <gtest/gtest.h>

#include <cmath>

#include "services/model/params.h"
#include "workers/models/sched/cfs_pick.h"
#include "workers/models/sched/cfs_placement.h"
#include "workers/models/sched/eevdf_pick.h"
#include "workers/models/sched/mainline_placement.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using testing::FlatPlatform;
using testing::Runtime;
using testing::Task;
using testing::Timer;
using testing::Work;
constexpr int64_t kMs = sim::kMs;

SchedOptions Eevdf(const std::string& version, GovernorKind gov = GovernorKind::kPerformance, int hz = 250) {
  SchedOptions o;
  o.policy = Policy::kEevdf;
  o.kernel_version = version;
  o.hz = hz;
  o.governor.kind = gov;
  return o;
}

using testing::RunOk;
using testing::Scalar;

// --- CPU shares: EEVDF gives each always-runnable task service in
// proportion to its weight, its lag (service owed or overdrawn) bounded by
// about a slice; over 10 s the shares are the weights' shares
// (sched_prio_to_weight: nice -3 1991, 0 1024, 5 335).
TEST(EevdfModel, HogsShareByWeight) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    // Lag stays within max(2 * slice, TICK_NSEC) of virtual time, i.e. a few
    // ms of CPU per task: 0.1 % of 10 s, with room.
    testing::ExpectNiceHogShares(RunOk(FlatPlatform(1), testing::NiceHogs(10 * sim::kSec), Eevdf(v)), 10000.0, 10.0, v);
  }
}

// --- The periodic task against two hogs (validate's periodic-vs-hogs).
model::Result PeriodicVsHogs(const SchedOptions& o) {
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.tasks.push_back(Task("hog0", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("hog1", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("p", 0, -1, {Runtime(1 * kMs), Timer(10300 * sim::kUs)}, "periodic"));
  return RunOk(FlatPlatform(1), w, o);
}

// DELAY_DEQUEUE (6.12+, with DELAY_ZERO): a task that goes to sleep while
// ineligible (negative lag: it ran 1 ms while the hogs waited) stays queued
// until a pick reaches it and is then dequeued with its lag clipped to 0, so
// it wakes 9 ms later with lag >= 0, eligible at once. Without it (6.6, or
// 6.12 with the feature off) it keeps the negative lag (PLACE_LAG) and waits
// until V has caught up with its vruntime. The worst waits therefore shrink
// with the feature on. The period (10.3 ms) is not a multiple of the 4 ms
// tick, so wake-ups fall at every phase of the tick.
TEST(EevdfModel, DelayDequeueShortensTheWorstWakeUpWaits) {
  model::Result v66 = PeriodicVsHogs(Eevdf("6.6"));
  model::Result v612 = PeriodicVsHogs(Eevdf("6.12"));
  SchedOptions off = Eevdf("6.12");
  off.delay_dequeue = false;
  model::Result v612_off = PeriodicVsHogs(off);
  EXPECT_LT(Scalar(v612, "task.p.wakeup_latency_p99_us"), Scalar(v612_off, "task.p.wakeup_latency_p99_us"));
  EXPECT_LT(Scalar(v612, "wakeup_latency_mean_us"), Scalar(v612_off, "wakeup_latency_mean_us"));
  // On one CPU with equal slices, the rules 6.12 added besides DELAY_DEQUEUE
  // (PREEMPT_SHORT, PLACE_REL_DEADLINE) have nothing to act on: 6.6 is 6.12
  // without it.
  EXPECT_EQ(Scalar(v66, "task.p.wakeup_latency_p99_us"), Scalar(v612_off, "task.p.wakeup_latency_p99_us"));
  // Both still serve the task its 1 ms per period.
  EXPECT_NEAR(Scalar(v612, "task.p.cpu_time_ms"), 10000.0 / 10.3, 2.0);
}

// The wake-up wait under 6.12's rules. With lag >= 0 at the wake-up (see
// above) the task is eligible at once. It waits while (1) the running hog
// is protected (RUN_TO_PARITY: until its deadline, at most one slice after
// its pick; the expiry is seen by update_curr() at the wake-up itself or at
// the next tick: at most one tick) and then (2) while an entity with an
// earlier deadline runs: only the other hog, for one slice, again seen at
// the following tick. So at most 2 ticks, plus the slice the hog may still
// have left when the wake-up falls just before a tick. Base slice on one
// CPU: 0.75 ms x (1 + ilog2(1)); tick 4 ms (HZ 250).
TEST(EevdfModel, PeriodicWakeUpWaitIsBoundedBySliceAndTicks) {
  model::Result r = PeriodicVsHogs(Eevdf("6.12"));
  const double slice_us = 750, tick_us = 4000;
  EXPECT_LE(Scalar(r, "task.p.wakeup_latency_p99_us"), 2 * tick_us + slice_us);
  // And it is not preempting at every wake-up as 3.10 CFS would: curr's
  // protection and earlier deadlines make it wait.
  EXPECT_GT(Scalar(r, "task.p.wakeup_latency_p99_us"), 0.0);
}

// --- PELT and schedutil. A 1-CPU cluster with ten OPPs 100..1000 MHz
// (capacity proportional). A task doing 4 ms of top-speed work every 16 ms:
// in PELT time (invariant: clock_pelt runs at capacity x frequency) it is
// busy 4 ms of each 16 ms at any OPP, so util_avg swings between
// u_max = 1024 (1 - y^4) / (1 - y^16) at the end of the burst and
// u_min = u_max y^12 (y^32 = 1/2, per ms), around 256. util_est keeps the
// value at dequeue, u_max, and cpu_util() = max(util_avg, util_est) is
// u_max whenever schedutil looks (wake-ups and ticks, the task enqueued).
// get_next_freq(): 1.25 x f_max x util / 1024, then the lowest OPP >= that.
workload::Platform TenOpps() {
  workload::Platform p = FlatPlatform(1);
  p.clusters[0].opps.clear();
  for (int i = 1; i <= 10; ++i) {
    p.clusters[0].opps.push_back(workload::Opp{static_cast<uint64_t>(i) * 100000,
                                               static_cast<uint32_t>(i * 1024 / 10), 10, 1});
  }
  p.clusters[0].dvfs_transition_ns = 0;
  return p;
}

TEST(EevdfModel, SchedutilPicksTheOppForTheInvariantUtil) {
  const double y = std::pow(0.5, 1.0 / 32);
  const double u_max = 1024 * (1 - std::pow(y, 4)) / (1 - std::pow(y, 16));
  const double u_min = u_max * std::pow(y, 12);
  EXPECT_NEAR((u_max + u_min) / 2, 256, 3);  // the 25 % duty cycle
  const double f_khz = 1.25 * 1000000 * u_max / 1024;
  const uint64_t want = static_cast<uint64_t>(std::ceil(f_khz / 100000)) * 100000;  // lowest OPP >= f
  ASSERT_EQ(want, 400000u);  // u_max ~290: f ~354 MHz; 256 itself would give 313 MHz, also 400
  workload::SchedWorkload w;
  w.duration_ns = 5 * sim::kSec;
  w.tasks.push_back(Task("p", 0, -1, {Work(4 * kMs), Timer(16 * kMs)}, "periodic"));
  model::Result r = RunOk(TenOpps(), w, Eevdf("6.12", GovernorKind::kSchedutil));
  const double at_want = Scalar(r, "cluster.c0.opp." + std::to_string(want) + ".time_ms");
  EXPECT_GT(at_want, 0.95 * 5000) << "settles at " << want << " kHz";
  EXPECT_EQ(Scalar(r, "deadline_misses"), 0);
  // At 400 MHz the 4 ms of work take 10 ms: 62.5 % busy.
  EXPECT_NEAR(Scalar(r, "cluster.c0.utilization"), 0.625, 0.02);
}

// --- Asymmetric capacity (Juno r0: CPUs 0-3 A53 at 447, 4-5 A57 at 1024).

// A core whose runqueues and PELT signals the test sets by hand.
class HandMainlineCore final : public MainlineCore {
 public:
  HandMainlineCore(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o)
      : MainlineCore(p, w, o) {
    auto traits = MainlineEevdfTraits("6.12", static_cast<int>(p.total_cpus()));
    EXPECT_TRUE(traits.ok());
    int cpu = 0;
    for (size_t c = 0; c < p.clusters.size(); ++c) {
      ClusterRt cr;
      cr.first = cpu;
      cr.n = static_cast<int>(p.clusters[c].cpus);
      clusters_.push_back(cr);
      for (uint32_t i = 0; i < p.clusters[c].cpus; ++i, ++cpu) {
        MainlineCpu x(*traits);
        x.cluster = static_cast<int>(c);
        x.power = p.clusters[c].opps.back().capacity;  // arch_scale_cpu_capacity()
        cpus_.push_back(std::move(x));
      }
    }
    nclusters_ = static_cast<int>(clusters_.size());
    for (size_t i = 0; i < w.tasks.size(); ++i) {
      auto t = std::make_unique<MainlineTask>();
      t->SetSpec(&w.tasks[i]);
      t->index = static_cast<int>(i);
      t->se.id = static_cast<uint32_t>(i);
      t->state = TaskState::kBlocked;
      tasks_.push_back(std::move(t));
    }
  }
  void Migrate(MainlineTask*, int, MigrationKind) override {}
};

// select_idle_sibling() on asymmetric capacity: the previous CPU (idle) is
// kept only if the task fits it (asym_fits_cpu(): util * 1280 < capacity *
// 1024, i.e. util below 80 % of 447 = 357.6), else select_idle_capacity()
// takes the first idle CPU from prev on where it fits: the first A57.
TEST(MainlinePlacement, WakeUpLeavesALittleCpuTheTaskDoesNotFit) {
  workload::Platform p = testing::Builtin("juno-r0");
  workload::SchedWorkload w;
  w.tasks.push_back(Task("t", 0, -1, {Runtime(kMs)}));
  SchedOptions o = Eevdf("6.12");
  HandMainlineCore core(p, w, o);
  MainlineFairPlacement placement;
  placement.Attach(&core);
  MainlineTask* t = core.task(0);
  t->cpu = 1;
  ASSERT_EQ(core.cpu(1).power, 447u);
  ASSERT_EQ(core.cpu(4).power, 1024u);
  t->pelt.avg.util_avg = 357;  // 357 * 1280 = 456960 < 447 * 1024 = 457728: fits
  EXPECT_EQ(placement.SelectWakeCpu(t, 1), 1);
  t->pelt.avg.util_avg = 358;  // 458240 >= 457728: does not fit
  EXPECT_EQ(placement.SelectWakeCpu(t, 1), 4);
  t->pelt.avg.util_avg = 100;
  t->pelt.avg.util_est = 400;  // task_util_est() = max(util_avg, util_est)
  EXPECT_EQ(placement.SelectWakeCpu(t, 1), 4);
  EXPECT_TRUE(MainlineFairPlacement::FitsCapacity(357, 447));
  EXPECT_FALSE(MainlineFairPlacement::FitsCapacity(358, 447));
}

// Misfit: a CPU hog forked on CPU 0 (every CPU idle: the parent's) starts
// with post_init_entity_util_avg()'s half of the A53's spare capacity,
// (447 - 0) / 2 = 223, and its util_avg grows as 1024 - (1024 - 223) y^t
// in PELT time, which runs at 447/1024 of wall time on the A53 at its top
// OPP (performance). It stops fitting at util 357.6: t_pelt = log_y(666.4 /
// 801) ~ 8.5 ms, ~19.5 ms of wall time. update_misfit_status() sees it at
// the next tick (4 ms) once util_avg, refreshed at PELT period boundaries
// (1024 us of PELT time, ~2.3 ms of wall), shows it; the task then moves to
// an idle A57, where it fits.
struct Moves : SchedObserver {
  struct Move {
    sim::Time t;
    int task, from, to;
    MigrationKind kind;
  };
  std::vector<Move> moves;
  void OnMigration(sim::Time t, int task, int from, int to, MigrationKind k) override {
    moves.push_back({t, task, from, to, k});
  }
};

TEST(MainlinePlacement, MisfitTaskMovesFromLittleToAnIdleBigCpu) {
  workload::Platform p = testing::Builtin("juno-r0");
  workload::SchedWorkload w;
  w.duration_ns = 100 * kMs;
  w.tasks.push_back(Task("hog", 0, -1, {Runtime(1 * sim::kSec)}));
  Moves obs;
  model::Result r = RunOk(p, w, Eevdf("6.12"), &obs);
  const double y = std::pow(0.5, 1.0 / 32);
  const double t_pelt_ms = std::log((1024 - 357.6) / (1024 - 223.0)) / std::log(y);
  const double t_wall_ms = t_pelt_ms * 1024 / 447;
  ASSERT_FALSE(obs.moves.empty());
  const Moves::Move& m = obs.moves.front();
  EXPECT_EQ(m.from, 0);
  EXPECT_GE(m.to, 4);  // an A57
  EXPECT_EQ(m.kind, MigrationKind::kBalance);
  EXPECT_GE(m.t / 1e6, t_wall_ms);
  EXPECT_LE(m.t / 1e6, t_wall_ms + 2.3 + 4 + 1);  // a PELT period, a tick, the idle exit
  EXPECT_EQ(obs.moves.size(), 1u);  // it fits the A57: it stays
  EXPECT_EQ(Scalar(r, "migrations"), 1);
}

// --- The bases stay apart: 3.10 policies cannot run on the mainline core,
// mainline policies not on the 3.10 core, and a policy declaring the other
// base is refused too.
class Lsk310Declared final : public MainlinePlacementPolicy {
 public:
  Lsk310Declared() : BasicPlacementPolicy("lsk-declared", KernelBase::kLsk310, Needs{}) {}

 private:
  int DoSelectForkCpu(MainlineTask*, int parent) override { return parent; }
  int DoSelectWakeCpu(MainlineTask* t, int) override { return t->cpu; }
};

TEST(MainlineCore, BasesAreKeptApart) {
  workload::Platform p = testing::Builtin("juno-r0");
  workload::SchedWorkload w;
  w.duration_ns = 10 * kMs;
  w.tasks.push_back(Task("t", 0, -1, {Runtime(kMs)}));
  SchedOptions o = Eevdf("6.12");
  CfsPick cfs_pick;
  CfsPlacement cfs;
  EevdfPick eevdf;
  MainlineFairPlacement mainline;
  Lsk310Declared lsk_declared;
  EXPECT_EQ(RunSched(kMainlineTraits, SchedPolicies{&cfs, &cfs_pick}, p, w, o, 1, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSched(kLsk310Traits, MainlinePolicies{&mainline, &eevdf}, p, w, o, 1, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  auto r = RunSched(kMainlineTraits, MainlinePolicies{&lsk_declared, &eevdf}, p, w, o, 1, nullptr);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("placement policy 'lsk-declared' is for kernel base lsk-3.10"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(RunSched(kMainlineTraits, MainlinePolicies{&mainline, &eevdf}, p, w, o, 1, nullptr).ok());
}

// --- Registration: parameters and their errors, determinism.
class EevdfRegistered : public ::testing::Test {
 protected:
  void SetUp() override {
    p_ = testing::Builtin("juno-r0");
    w_.duration_ns = 200 * kMs;
    w_.tasks.push_back(Task("hog", 0, -1, {Runtime(1 * sim::kSec)}));
    w_.tasks.push_back(Task("p", 0, -1, {Work(2 * kMs), Timer(10300 * sim::kUs)}, "periodic"));
  }
  StatusOr<model::Result> Run(const std::map<std::string, model::ParamValue>& given) { return model_.Run(p_, w_, given); }
  testing::RegisteredModel model_{"sched.eevdf"};
  const model::ModelInfo* info_ = &model_.info();
  workload::Platform p_;
  workload::SchedWorkload w_;
};

TEST_F(EevdfRegistered, DefaultsAndErrorsNameTheParameter) {
  EXPECT_EQ(info_->family, "sched");
  EXPECT_EQ(info_->version, "1.1.0");
  auto defaults = model::ResolveParams(info_->params, {}, "params");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->Str("kernel_version"), "6.12");
  EXPECT_EQ(defaults->Int("hz"), 250);
  EXPECT_EQ(defaults->Str("governor"), "schedutil");
  ASSERT_TRUE(Run({}).ok());
  for (const char* bad : {"5.15", "6.19", "6.12.3", "six"}) {
    auto r = Run({{"kernel_version", std::string(bad)}});
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("kernel_version"), std::string::npos) << r.status().ToString();
  }
  auto dd = Run({{"kernel_version", std::string("6.6")}, {"delay_dequeue", std::string("on")}});
  ASSERT_EQ(dd.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dd.status().message().find("delay_dequeue"), std::string::npos) << dd.status().ToString();
  EXPECT_TRUE(Run({{"kernel_version", std::string("6.6")}, {"delay_dequeue", std::string("off")}}).ok());
  EXPECT_TRUE(Run({{"kernel_version", std::string("6.18")}, {"run_to_parity", std::string("off")},
                   {"place_lag", std::string("off")}}).ok());
}

TEST_F(EevdfRegistered, SameInputsSameResultsBitForBit) {
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    auto a = Run({{"kernel_version", std::string(v)}});
    auto b = Run({{"kernel_version", std::string(v)}});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->sim_events, b->sim_events);
    for (const auto& [k, s] : a->scalars) EXPECT_EQ(s.value, b->scalars.at(k).value) << v << " " << k;
  }
}

}  // namespace
}  // namespace kreplay::sched
