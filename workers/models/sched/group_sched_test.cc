// Group scheduling (CONFIG_FAIR_GROUP_SCHED) on sched.eevdf: full runs whose
// expected shares are computed here from the kernel's documented rules, never
// read back from the model:
//  - Documentation/scheduler/sched-design-CFS.rst, group scheduling: CPU
//    time is divided fairly between groups by their shares, then among the
//    group's entities by weight;
//  - Documentation/admin-guide/cgroup-v2.rst, cpu controller: cpu.weight
//    (default 100) distributes CPU proportionally among siblings;
//  - fair.c calc_group_shares(): a group's entity on a CPU weighs
//    tg->shares * (load on that CPU) / (the group's load on all CPUs).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using testing::FlatPlatform;
using testing::Runtime;
using testing::Sleep;
using testing::Task;

constexpr double kRunMs = 10000.0;  // 10 s
// EEVDF bounds each entity's lag by about a slice at each level: a few ms
// over 10 s.
constexpr double kTolMs = 10.0;

SchedOptions Eevdf(const std::string& version) {
  SchedOptions o;
  o.policy = Policy::kEevdf;
  o.kernel_version = version;
  o.hz = 250;
  o.governor.kind = GovernorKind::kPerformance;
  return o;
}

workload::SchedTaskSpec Hog(const std::string& name, const std::string& group, int nice = 0, uint64_t mask = 0) {
  workload::SchedTaskSpec t = Task(name, nice, -1, {Runtime(1 * sim::kSec)});
  t.group = group;
  t.cpu_mask = mask;
  return t;
}

model::Result RunGrouped(const workload::Platform& p, const workload::SchedWorkload& w, const std::string& v) {
  auto r = RunSchedSim(p, w, Eevdf(v), 1, nullptr);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

double Ms(const model::Result& r, const std::string& task) {
  auto it = r.scalars.find("task." + task + ".cpu_time_ms");
  return it == r.scalars.end() ? -1.0 : it->second.value;
}

// nice -> weight (sched_prio_to_weight).
constexpr double kW0 = 1024.0, kWm5 = 3121.0;

TEST(GroupSched, SharesBetweenGroupsThenWithin) {
  // One CPU; A (cpu.shares 1024) has one hog, B (512) two: the groups split
  // the CPU 1024:512, B's half among its two equal tasks.
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    workload::SchedWorkload w;
    w.duration_ns = 10 * sim::kSec;
    w.groups = {{"/A", 1024}, {"/B", 512}};
    w.tasks = {Hog("a", "/A"), Hog("b1", "/B"), Hog("b2", "/B")};
    model::Result r = RunGrouped(FlatPlatform(1), w, v);
    const double a = 1024.0 / (1024 + 512), b = 512.0 / (1024 + 512);
    EXPECT_NEAR(Ms(r, "a"), kRunMs * a, kTolMs) << v;
    EXPECT_NEAR(Ms(r, "b1"), kRunMs * b / 2, kTolMs) << v;
    EXPECT_NEAR(Ms(r, "b2"), kRunMs * b / 2, kTolMs) << v;
  }
}

TEST(GroupSched, CgroupV2WeightsTwoToOne) {
  // cpu.weight 200 against 100: 2:1 between the siblings.
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.groups = {{"/x", workload::SharesFromCgroupWeight(200)}, {"/y", workload::SharesFromCgroupWeight(100)}};
  w.tasks = {Hog("x", "/x"), Hog("y", "/y")};
  model::Result r = RunGrouped(FlatPlatform(1), w, "6.12");
  EXPECT_NEAR(Ms(r, "x"), kRunMs * 2 / 3, kTolMs);
  EXPECT_NEAR(Ms(r, "y"), kRunMs * 1 / 3, kTolMs);
}

TEST(GroupSched, NestedGroupSharesItsParentsPortion) {
  // /a and /c (1024 each) split the CPU; inside /a, task a1 (nice 0) and
  // group /a/b (1024) split /a's half; /a/b's two tasks split its quarter.
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.groups = {{"/a", 1024}, {"/a/b", 1024}, {"/c", 1024}};
  w.tasks = {Hog("a1", "/a"), Hog("b1", "/a/b"), Hog("b2", "/a/b"), Hog("c1", "/c")};
  model::Result r = RunGrouped(FlatPlatform(1), w, "6.12");
  const double half = 0.5, a_part = half * kW0 / (kW0 + 1024.0), b_part = half * 1024.0 / (kW0 + 1024.0);
  EXPECT_NEAR(Ms(r, "c1"), kRunMs * half, kTolMs);
  EXPECT_NEAR(Ms(r, "a1"), kRunMs * a_part, kTolMs);
  EXPECT_NEAR(Ms(r, "b1"), kRunMs * b_part / 2, kTolMs);
  EXPECT_NEAR(Ms(r, "b2"), kRunMs * b_part / 2, kTolMs);
}

TEST(GroupSched, GroupSplitsItsShareByNice) {
  // /g (nice -5 and nice 0 tasks) against /h (one task), equal shares: /g's
  // half goes 3121:1024.
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.groups = {{"/g", 1024}, {"/h", 1024}};
  w.tasks = {Hog("g5", "/g", -5), Hog("g0", "/g", 0), Hog("h", "/h")};
  model::Result r = RunGrouped(FlatPlatform(1), w, "6.12");
  EXPECT_NEAR(Ms(r, "h"), kRunMs * 0.5, kTolMs);
  EXPECT_NEAR(Ms(r, "g5"), kRunMs * 0.5 * kWm5 / (kWm5 + kW0), kTolMs);
  EXPECT_NEAR(Ms(r, "g0"), kRunMs * 0.5 * kW0 / (kWm5 + kW0), kTolMs);
}

TEST(GroupSched, RootTaskCompetesWithAGroupByWeight) {
  // A root task (nice 0, 1024) and a group of 4 hogs at shares 1024: the
  // group's entity weighs 1024, so 50/50, and each hog gets an eighth.
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.groups = {{"/g", 1024}};
  w.tasks = {Hog("root", ""), Hog("g1", "/g"), Hog("g2", "/g"), Hog("g3", "/g"), Hog("g4", "/g")};
  model::Result r = RunGrouped(FlatPlatform(1), w, "6.12");
  EXPECT_NEAR(Ms(r, "root"), kRunMs * 0.5, kTolMs);
  for (const char* t : {"g1", "g2", "g3", "g4"}) EXPECT_NEAR(Ms(r, t), kRunMs * 0.125, kTolMs) << t;
}

TEST(GroupSched, GroupWeightPerCpuFollowsItsLoad) {
  // Two CPUs; group /g (1024) has 3 hogs pinned to CPU 0 and 1 to CPU 1,
  // and a root hog is pinned to each CPU. calc_group_shares(): the group's
  // entity weighs 1024 * 3072 / 4096 = 768 on CPU 0 and 1024 * 1024 / 4096 =
  // 256 on CPU 1, each against a root task of 1024.
  workload::SchedWorkload w;
  w.duration_ns = 10 * sim::kSec;
  w.groups = {{"/g", 1024}};
  w.tasks = {Hog("g0a", "/g", 0, 1), Hog("g0b", "/g", 0, 1), Hog("g0c", "/g", 0, 1),
             Hog("g1", "/g", 0, 2),  Hog("r0", "", 0, 1),    Hog("r1", "", 0, 2)};
  model::Result r = RunGrouped(FlatPlatform(2), w, "6.12");
  const double cpu0_group = 768.0 / (768 + 1024), cpu1_group = 256.0 / (256 + 1024);
  // The weights settle within the first ticks; allow a little more.
  const double tol = 2 * kTolMs;
  EXPECT_NEAR(Ms(r, "r0"), kRunMs * (1 - cpu0_group), tol);
  for (const char* t : {"g0a", "g0b", "g0c"}) EXPECT_NEAR(Ms(r, t), kRunMs * cpu0_group / 3, tol) << t;
  EXPECT_NEAR(Ms(r, "r1"), kRunMs * (1 - cpu1_group), tol);
  EXPECT_NEAR(Ms(r, "g1"), kRunMs * cpu1_group, tol);
}

TEST(GroupSched, PeriodicTaskInAGroupGetsItsDemand) {
  // One CPU: group /p (1024) holds a task running 1 ms every 10.3 ms, group
  // /h (1024) a hog. /p is entitled to half the CPU and asks for less, so it
  // gets all it asks (1/10.3 of the run); each wake-up competes with the
  // hog's group entity at the root (find_matching_se()), and waits at most
  // a tick plus a base slice (RUN_TO_PARITY protects the running entity up
  // to its deadline, which the tick's update_curr() finds passed).
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    workload::SchedWorkload w;
    w.duration_ns = 10 * sim::kSec;
    w.groups = {{"/p", 1024}, {"/h", 1024}};
    workload::SchedTaskSpec p = Task("per", 0, -1, {Runtime(1 * sim::kMs), testing::Timer(10300 * sim::kUs)}, "periodic");
    p.group = "/p";
    w.tasks = {p, Hog("hog", "/h")};
    model::Result r = RunGrouped(FlatPlatform(1), w, v);
    EXPECT_NEAR(Ms(r, "per"), kRunMs / 10.3, 2.0) << v;
    EXPECT_NEAR(Ms(r, "hog"), kRunMs - kRunMs / 10.3, 2.0) << v;
    const double bound_us = (4000 + 750) * 1.0;  // TICK_NSEC at HZ 250 + base slice (1 CPU)
    EXPECT_LE(r.scalars.at("task.per.wakeup_latency_p99_us").value, bound_us) << v;
  }
}

TEST(GroupSched, SleepersMigrationAndDelayedDequeueStayConsistent) {
  // Tasks that sleep and wake in nested groups on 4 CPUs, unpinned (wake-up
  // placement, balancing, DELAY_DEQUEUE on group runqueues): no CPU runs
  // more than the run's length, nothing is lost, and the run repeats bit
  // for bit.
  for (const char* v : {"6.6", "6.12", "6.18"}) {
    workload::SchedWorkload w;
    w.duration_ns = 3 * sim::kSec;
    w.groups = {{"/a", 2048}, {"/a/b", 300}, {"/c", 100}};
    const char* groups[] = {"", "/a", "/a/b", "/c"};
    for (int i = 0; i < 12; ++i) {
      workload::SchedTaskSpec t =
          Task("t" + std::to_string(i), (i % 5) - 2, -1,
               {Runtime((1 + i % 4) * sim::kMs), Sleep((2 + (i * 7) % 5) * sim::kMs)});
      t.group = groups[i % 4];
      w.tasks.push_back(t);
    }
    w.tasks.push_back(Hog("hog", "/a/b"));
    model::Result r1 = RunGrouped(FlatPlatform(4), w, v);
    model::Result r2 = RunGrouped(FlatPlatform(4), w, v);
    double total = 0;
    for (const auto& t : w.tasks) {
      double ms = Ms(r1, t.name);
      EXPECT_GT(ms, 0.0) << v << " " << t.name;
      EXPECT_EQ(ms, Ms(r2, t.name)) << v << " " << t.name;
      total += ms;
    }
    EXPECT_LE(total, 4 * 3000.0 + 1e-6) << v;
    EXPECT_GT(total, 3000.0) << v;
  }
}

TEST(GroupSched, Lsk310CoreRefusesGroups) {
  workload::SchedWorkload w;
  w.duration_ns = 100 * sim::kMs;
  w.groups = {{"/g", 1024}};
  w.tasks = {Hog("a", "/g")};
  // LSK 3.10 and mainline CFS (6.1) alike: group entities exist only on
  // the EEVDF runqueue.
  for (const char* release : {"3.10", "6.1"}) {
    SchedOptions o = Eevdf("6.12");
    o.policy = Policy::kCfs;
    o.kernel_version = release;
    auto r = RunSchedSim(FlatPlatform(1), w, o, 1, nullptr);
    ASSERT_FALSE(r.ok()) << release;
    EXPECT_NE(r.status().message().find("group scheduling"), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace kreplay::sched
