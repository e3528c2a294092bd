// The real-time class and the SCHED_IDLE/SCHED_BATCH rules, run through the
// whole core on both kernel bases (sched.cfs on LSK 3.10; the mainline core
// with EEVDF through RunSched()). Every expectation is derived here from
// sched(7), Documentation/scheduler/sched-rt-group.rst and kernel/sched/rt.c,
// never read back from the model.
#include <gtest/gtest.h>

#include <vector>

#include "workers/models/sched/eevdf_pick.h"
#include "workers/models/sched/rt_rq.h"
#include "workers/models/sched/sched_policy.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

namespace st = kreplay::sched::testing;
using workload::SchedPolicy;
constexpr int64_t kMs = sim::kMs;

// The fair placement on the mainline core is not under test: a task stays
// where it was (fork: the parent's CPU; wake: its previous CPU).
class StayPlacement final : public MainlinePlacementPolicy {
 public:
  StayPlacement() : MainlinePlacementPolicy("stay-test", KernelBase::kMainline, Needs{}) {}

 private:
  int DoSelectForkCpu(Task* t, int parent_cpu) override { return First(t, parent_cpu); }
  int DoSelectWakeCpu(Task* t, int) override { return First(t, t->cpu); }
  int First(const Task* t, int cpu) const {
    if (core().Allowed(t, cpu)) return cpu;
    for (int k = 0;; ++k) {
      if (core().Allowed(t, k)) return k;
    }
  }
};

enum class Base { kLsk310, kMainline };
const char* Name(Base b) { return b == Base::kLsk310 ? "lsk-3.10" : "mainline"; }

using st::Mig;
using st::Recorder;
using st::RunAt;

StatusOr<model::Result> RunOn(Base b, const workload::Platform& p, const workload::SchedWorkload& w, int hz,
                              SchedObserver* obs) {
  SchedOptions o = st::Options(Policy::kCfs, GovernorKind::kPerformance);
  o.hz = hz;
  if (b == Base::kLsk310) return RunSchedSim(p, w, o, 1, nullptr, obs);
  EevdfPick pick;
  StayPlacement placement;
  return RunSched(kMainlineTraits, MainlinePolicies{&placement, &pick}, p, w, o, 1, nullptr, obs);
}

workload::SchedTaskSpec Rt(const std::string& name, SchedPolicy policy, int prio, int64_t loops,
                           std::vector<workload::Phase> phases) {
  auto t = st::Task(name, 0, loops, std::move(phases), "interactive");
  t.policy = policy;
  t.rt_priority = prio;
  return t;
}

class RtClassTest : public ::testing::TestWithParam<Base> {};
INSTANTIATE_TEST_SUITE_P(Bases, RtClassTest, ::testing::Values(Base::kLsk310, Base::kMainline),
                         [](const auto& info) { return std::string(info.param == Base::kLsk310 ? "Lsk310" : "Mainline"); });

// A waking RT task preempts a fair curr at once (check_preempt_curr(): the
// RT class is above the fair one): on a CPU busy with a fair hog (so no idle
// exit) each activation runs at its wake-up time.
TEST_P(RtClassTest, RtWakeeOnFairHogRunsAtOnce) {
  workload::SchedWorkload w;
  w.tasks.push_back(st::Task("hog", -20, 1, {st::Runtime(500 * kMs)}));
  auto rt = Rt("rt", SchedPolicy::kFifo, 1, 5, {st::Runtime(1 * kMs), st::Sleep(10 * kMs)});
  rt.delay_ns = 5 * kMs;
  w.tasks.push_back(rt);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Fork, then a wake-up after each of the 5 sleeps (the last one to exit).
  std::vector<RunAt> runs = rec.Of(1);
  ASSERT_EQ(runs.size(), 6u);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(runs[k].t, 5 * kMs + k * 11 * kMs) << Name(GetParam()) << " activation " << k;
  EXPECT_EQ(r->scalars.at("task.rt.wakeup_latency_p99_us").value, 0.0);
  // The hog lost exactly the RT task's CPU time.
  EXPECT_EQ(r->scalars.at("task.hog.cpu_time_ms").value, 500.0);
  EXPECT_EQ(r->scalars.at("makespan_ms").value, 505.0);
}

// sched(7): a SCHED_FIFO thread runs until it blocks, yields or is
// preempted by a higher priority; a runnable thread of equal priority waits
// at the tail of the list (ticks do not rotate SCHED_FIFO).
TEST_P(RtClassTest, EqualFifoWaitsUntilTheFirstBlocks) {
  workload::SchedWorkload w;
  w.tasks.push_back(Rt("first", SchedPolicy::kFifo, 50, 1, {st::Runtime(300 * kMs), st::Sleep(100 * kMs)}));
  auto second = Rt("second", SchedPolicy::kFifo, 50, 1, {st::Runtime(10 * kMs)});
  second.delay_ns = 5 * kMs;
  w.tasks.push_back(second);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(rec.Of(0).size(), 2u);  // runs, and wakes after its sleep to exit
  EXPECT_EQ(rec.Of(0)[0].t, 0);
  ASSERT_EQ(rec.Of(1).size(), 1u);
  EXPECT_EQ(rec.Of(1)[0].t, 300 * kMs);
}

// sched_rr_get_interval(2): SCHED_RR peers of equal priority take turns of
// RR_TIMESLICE (100 ms, in ticks of the run's HZ): task_tick_rt() moves the
// task whose slice ran out to the tail of its list.
TEST_P(RtClassTest, RoundRobinPeersAlternateEverySlice) {
  for (int hz : {100, 250, 1000}) {
    workload::SchedWorkload w;
    w.tasks.push_back(Rt("a", SchedPolicy::kRr, 10, 1, {st::Runtime(400 * kMs)}));
    w.tasks.push_back(Rt("b", SchedPolicy::kRr, 10, 1, {st::Runtime(400 * kMs)}));
    Recorder rec;
    auto r = RunOn(GetParam(), st::FlatPlatform(1), w, hz, &rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    sim::Duration slice = RrTimesliceTicks(hz) * (sim::kSec / hz);
    ASSERT_EQ(slice, 100 * kMs);
    // a, b, a, b, ... until each has had 400 ms: 4 turns each.
    ASSERT_EQ(rec.runs.size(), 8u) << hz;
    for (int k = 0; k < 8; ++k) {
      EXPECT_EQ(rec.runs[k].t, k * slice) << hz << " turn " << k;
      EXPECT_EQ(rec.runs[k].task, k % 2) << hz << " turn " << k;
    }
    EXPECT_EQ(r->scalars.at("task.a.cpu_time_ms").value, 400.0);
  }
}

// check_preempt_curr_rt(): a strictly more urgent wakee preempts an RT
// curr; the preempted task keeps its place and resumes when it leaves; a
// less urgent wakee waits.
TEST_P(RtClassTest, MoreUrgentRtWakeePreempts) {
  workload::SchedWorkload w;
  w.tasks.push_back(Rt("low", SchedPolicy::kFifo, 10, 1, {st::Runtime(50 * kMs)}));
  auto high = Rt("high", SchedPolicy::kFifo, 20, 1, {st::Runtime(5 * kMs)});
  high.delay_ns = 10 * kMs;
  w.tasks.push_back(high);
  auto lower = Rt("lower", SchedPolicy::kRr, 5, 1, {st::Runtime(5 * kMs)});
  lower.delay_ns = 20 * kMs;
  w.tasks.push_back(lower);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(rec.runs.size(), 4u);
  EXPECT_EQ(rec.runs[0].task, 0);
  EXPECT_EQ(rec.runs[1].task, 1);
  EXPECT_EQ(rec.runs[1].t, 10 * kMs);  // preempts at its wake-up
  EXPECT_EQ(rec.runs[2].task, 0);
  EXPECT_EQ(rec.runs[2].t, 15 * kMs);
  EXPECT_EQ(rec.runs[3].task, 2);
  EXPECT_EQ(rec.runs[3].t, 55 * kMs);  // after low's 50 ms
}

// No RT throttling is modelled (sched-rt-group.rst: sched_rt_runtime_us
// would leave the fair class 5 %): a fair task whose only CPU runs an RT
// hog gets nothing until the hog leaves, even with another CPU idle.
TEST_P(RtClassTest, FairTaskStarvesBehindRtHogOnItsOnlyCpu) {
  workload::SchedWorkload w;
  auto hog = Rt("rthog", SchedPolicy::kFifo, 1, 1, {st::Runtime(200 * kMs)});
  hog.cpu_mask = 1;
  w.tasks.push_back(hog);
  auto fair = st::Task("fair", -20, 1, {st::Runtime(10 * kMs)});
  fair.cpu_mask = 1;
  fair.delay_ns = 1 * kMs;
  w.tasks.push_back(fair);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(2), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(rec.Of(1).size(), 1u);
  EXPECT_EQ(rec.Of(1)[0].t, 200 * kMs);
  EXPECT_EQ(rec.Of(1)[0].cpu, 0);
}

// select_task_rq_rt(): the CPU the wakee starts from (its parent's, CPU 0)
// runs a more urgent RT task, so find_lowest_rq(): the lowest cpupri level
// holding an allowed CPU. CPU 1 runs RT priority 30; CPUs 2 (idle) and 3
// (a fair task) have no RT task and share CPUPRI_NORMAL. Neither task_cpu
// (0) nor this CPU (0) is in that mask, so the first of it in the cluster.
TEST_P(RtClassTest, WakeeBehindMoreUrgentRtGoesToLowestCpu) {
  workload::SchedWorkload w;
  auto pinned = [](workload::SchedTaskSpec t, int cpu) {
    t.cpu_mask = uint64_t{1} << cpu;
    return t;
  };
  w.tasks.push_back(pinned(Rt("h0", SchedPolicy::kFifo, 60, 1, {st::Runtime(100 * kMs)}), 0));
  w.tasks.push_back(pinned(Rt("h1", SchedPolicy::kFifo, 30, 1, {st::Runtime(100 * kMs)}), 1));
  w.tasks.push_back(pinned(st::Task("fair", 0, 1, {st::Runtime(100 * kMs)}), 3));
  auto wakee = Rt("wakee", SchedPolicy::kFifo, 40, 2, {st::Runtime(1 * kMs), st::Sleep(10 * kMs)});
  wakee.delay_ns = 5 * kMs;
  w.tasks.push_back(wakee);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(4), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Levels: CPU 0 = prio 99-60, CPU 1 = 99-30, CPUs 2, 3 = none (MAX_RT_PRIO).
  // 3.10 takes the first CPU of the mask; 6.x's cpumask_any_and_distribute()
  // the first after the one it last returned on this CPU, none yet (0): CPU 0
  // is not in the mask, so the same CPU.
  int prio_levels[4] = {RtPrio(60), RtPrio(30), kMaxRtPrio, kMaxRtPrio};
  int lowest = 0;
  for (int level : prio_levels) lowest = std::max(lowest, level);
  ASSERT_GT(lowest, RtPrio(40));
  int expected = -1;
  for (int k = 0; k < 4 && expected < 0; ++k) {
    if (prio_levels[k] == lowest) expected = k;
  }
  std::vector<RunAt> runs = rec.Of(3);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].cpu, expected) << Name(GetParam());
  EXPECT_EQ(runs[0].t, 5 * kMs);
  // The second wake-up starts from CPU 2, whose curr is not RT: it stays.
  EXPECT_EQ(runs[1].cpu, expected);
  EXPECT_EQ(runs[1].t, 16 * kMs);
}

// push_rt_task() after a switch: CPU 0's RT task preempted by a more urgent
// wakee is pushed to the CPU running lower-priority (fair) work, which it
// preempts at once.
TEST_P(RtClassTest, PreemptedRtTaskIsPushedToALowerCpu) {
  workload::SchedWorkload w;
  auto fair = st::Task("fair", 0, 1, {st::Runtime(100 * kMs)});
  fair.cpu_mask = 2;
  w.tasks.push_back(fair);
  w.tasks.push_back(Rt("low", SchedPolicy::kFifo, 10, 1, {st::Runtime(50 * kMs)}));
  auto high = Rt("high", SchedPolicy::kFifo, 50, 1, {st::Runtime(20 * kMs)});
  high.delay_ns = 10 * kMs;
  w.tasks.push_back(high);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(2), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> low = rec.Of(1);
  ASSERT_EQ(low.size(), 2u);
  EXPECT_EQ(low[0].cpu, 0);
  EXPECT_EQ(low[1].cpu, 1);
  EXPECT_EQ(low[1].t, 10 * kMs);
  ASSERT_EQ(rec.Of(2).size(), 1u);
  EXPECT_EQ(rec.Of(2)[0].cpu, 0);
  EXPECT_EQ(r->scalars.at("migrations_rt_push").value, 1.0);
  EXPECT_EQ(r->scalars.at("migrations_rt_pull").value, 0.0);
}

// An RT task queued behind a more urgent pinned one (no CPU ran below it)
// moves when another CPU's RT task leaves: 3.10 pulls it (pull_rt_task()),
// 6.x has its CPU push it (RT_PUSH_IPI).
TEST_P(RtClassTest, QueuedRtTaskMovesWhenAnotherCpuDrops) {
  workload::SchedWorkload w;
  auto x = Rt("x", SchedPolicy::kFifo, 60, 1, {st::Runtime(20 * kMs)});
  x.cpu_mask = 2;
  w.tasks.push_back(x);
  auto h = Rt("h", SchedPolicy::kFifo, 50, 1, {st::Runtime(50 * kMs)});
  h.cpu_mask = 1;
  w.tasks.push_back(h);
  auto m = Rt("m", SchedPolicy::kFifo, 30, 1, {st::Runtime(10 * kMs)});
  m.delay_ns = 5 * kMs;
  w.tasks.push_back(m);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(2), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(rec.Of(2).size(), 1u);
  EXPECT_EQ(rec.Of(2)[0].cpu, 1);
  EXPECT_EQ(rec.Of(2)[0].t, 20 * kMs);
  const char* kind = GetParam() == Base::kLsk310 ? "migrations_rt_pull" : "migrations_rt_push";
  EXPECT_EQ(r->scalars.at(kind).value, 1.0);
}

// can_migrate_task() sees only fair tasks: in a busy mixed run the fair
// balancer (and HMP's tick-time moves) move fair tasks and never an RT one;
// RT tasks move only at wake-up/fork placement or by push/pull. LSK 3.10
// only: the mainline core of c8e8a56 traps in EevdfRq::Erase() under fair
// load balancing of this mix even without RT tasks (reported).
TEST(RtClass, FairBalancingNeverMovesRtTasks) {
  for (Policy policy : {Policy::kCfs, Policy::kHmp}) {
    workload::SchedWorkload w;
    w.duration_ns = 2 * sim::kSec;
    for (int i = 0; i < 8; ++i) w.tasks.push_back(st::Task("hog" + std::to_string(i), 0, -1, {st::Work(30 * kMs), st::Sleep(2 * kMs)}));
    for (int i = 0; i < 4; ++i) {
      auto t = Rt("rt" + std::to_string(i), i % 2 ? SchedPolicy::kRr : SchedPolicy::kFifo, 10 + i, -1,
                  {st::Work(3 * kMs), st::Sleep((7 + i) * kMs)});
      t.delay_ns = i * kMs;
      w.tasks.push_back(t);
    }
    Recorder rec;
    auto r = RunSchedSim(st::Builtin("juno-r0"), w, st::Options(policy, GovernorKind::kOndemand), 1, nullptr, &rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    int fair_balanced = 0;
    for (const Mig& m : rec.migs) {
      bool rt = m.task >= 8;
      bool placement = m.kind == MigrationKind::kFork || m.kind == MigrationKind::kWake ||
                       m.kind == MigrationKind::kRtPush || m.kind == MigrationKind::kRtPull;
      if (rt) EXPECT_TRUE(placement) << MigrationKindName(m.kind) << " moved " << m.task << " at " << m.t;
      if (!rt && !placement) ++fair_balanced;
      if (!rt) EXPECT_FALSE(m.kind == MigrationKind::kRtPush || m.kind == MigrationKind::kRtPull);
    }
    EXPECT_GT(fair_balanced, 0) << "the run should exercise fair balancing";
    for (int i = 0; i < 4; ++i) EXPECT_GT(r->scalars.at("task.rt" + std::to_string(i) + ".cpu_time_ms").value, 0.0);
  }
}

// SCHED_BATCH never preempts at wake-up (check_preempt_wakeup(): a
// non-SCHED_NORMAL wakee returns early): behind a fair hog it starts only
// when the tick preempts the hog, so at a tick boundary. As SCHED_NORMAL
// the same task would be able to start between ticks.
TEST_P(RtClassTest, BatchWakeeWaitsForATick) {
  for (SchedPolicy policy : {SchedPolicy::kBatch, SchedPolicy::kNormal}) {
    workload::SchedWorkload w;
    w.tasks.push_back(st::Task("hog", 0, 1, {st::Runtime(600 * kMs)}));
    auto t = st::Task("waker", 0, 10, {st::Runtime(1 * kMs), st::Sleep(23 * kMs + 300 * sim::kUs)}, "interactive");
    t.policy = policy;
    t.delay_ns = 2 * kMs + 500 * sim::kUs;
    w.tasks.push_back(t);
    Recorder rec;
    auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, &rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<RunAt> runs = rec.Of(1);
    ASSERT_EQ(runs.size(), 11u);
    int off_tick = 0;
    for (const RunAt& x : runs) off_tick += x.t % (10 * kMs) != 0 ? 1 : 0;
    if (policy == SchedPolicy::kBatch) {
      EXPECT_EQ(off_tick, 0) << Name(GetParam());
    } else if (GetParam() == Base::kLsk310) {
      // 3.10 (one CPU: sched_latency 6 ms, wakeup_granularity 1 ms): the
      // sleeper is placed sched_latency / 2 behind min_vruntime and preempts
      // at once; so does the fork, placed one 3 ms slice ahead of a
      // min_vruntime that the hog left 6 ms behind it (its own START_DEBIT).
      EXPECT_EQ(off_tick, 11);
    }
  }
}

// set_load_weight(): SCHED_IDLE weighs WEIGHT_IDLEPRIO (3) whatever its
// nice: against a nice-0 hog it gets its weight's share, 3 / (1024 + 3),
// plus at most a few ticks (it runs whole ticks when picked).
TEST_P(RtClassTest, IdlePolicyWeighsThree) {
  workload::SchedWorkload w;
  w.duration_ns = 1 * sim::kSec;
  auto idle = st::Task("idle", -20, -1, {st::Runtime(50 * kMs)});
  idle.policy = SchedPolicy::kIdle;
  w.tasks.push_back(idle);
  w.tasks.push_back(st::Task("normal", 0, -1, {st::Runtime(50 * kMs)}));
  auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  double idle_ms = r->scalars.at("task.idle.cpu_time_ms").value;
  double normal_ms = r->scalars.at("task.normal.cpu_time_ms").value;
  EXPECT_LT(idle_ms, 1000.0 * 3 / (1024 + 3) + 3 * 10.0) << Name(GetParam());
  EXPECT_NEAR(normal_ms, 1000.0 - idle_ms, 1e-6);
}

// check_preempt_wakeup() / check_preempt_wakeup_fair(): an idle-policy curr
// is preempted by a non-idle wakee at once, fork included.
TEST_P(RtClassTest, IdlePolicyCurrYieldsToWakees) {
  workload::SchedWorkload w;
  auto idle = st::Task("idle", -20, 1, {st::Runtime(2 * sim::kSec)});
  idle.policy = SchedPolicy::kIdle;
  w.tasks.push_back(idle);
  auto waker = st::Task("waker", 0, 20, {st::Runtime(1 * kMs), st::Sleep(37 * kMs)}, "interactive");
  waker.delay_ns = 300 * sim::kUs;
  w.tasks.push_back(waker);
  Recorder rec;
  auto r = RunOn(GetParam(), st::FlatPlatform(1), w, 100, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> runs = rec.Of(1);
  ASSERT_EQ(runs.size(), 21u);
  for (int k = 0; k < 21; ++k) EXPECT_EQ(runs[k].t, waker.delay_ns + k * 38 * kMs) << Name(GetParam()) << " " << k;
  EXPECT_EQ(r->scalars.at("task.waker.wakeup_latency_p99_us").value, 0.0);
}

}  // namespace
}  // namespace kreplay::sched
