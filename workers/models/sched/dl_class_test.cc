// The deadline class (SCHED_DEADLINE) run through the whole mainline core,
// on both mainline runqueues (sched.eevdf 6.12 and sched.cfs 6.1). Every
// expectation is derived here, in the comments, from
// Documentation/scheduler/sched-deadline.rst and kernel/sched/deadline.c
// (update_curr_dl(), replenish_dl_entity(), update_dl_entity(),
// push_dl_task(), pull_dl_task(), __dl_overflow()), never read back from
// the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "services/model/params.h"
#include "workers/models/sched/dl_rq.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

namespace st = kreplay::sched::testing;
using workload::SchedPolicy;
constexpr int64_t kMs = sim::kMs;

using st::Mig;
using st::Recorder;
using st::RunAt;

enum class Core { kEevdf612, kCfs61 };

SchedOptions Opts(Core c, int hz, GovernorKind gov = GovernorKind::kPerformance) {
  SchedOptions o = st::Options(c == Core::kEevdf612 ? Policy::kEevdf : Policy::kCfs, gov);
  o.kernel_version = c == Core::kEevdf612 ? "6.12" : "6.1";
  o.hz = hz;
  return o;
}

workload::SchedTaskSpec Dl(const std::string& name, int64_t runtime, int64_t deadline, int64_t period, int64_t loops,
                           std::vector<workload::Phase> phases) {
  auto t = st::Task(name, 0, loops, std::move(phases), "periodic");
  t.policy = SchedPolicy::kDeadline;
  t.dl_runtime_ns = runtime;
  t.dl_deadline_ns = deadline;
  t.dl_period_ns = period;
  return t;
}

double Metric(const model::Result& r, const std::string& name) { return r.scalars.at(name).value; }

class DlClassTest : public ::testing::TestWithParam<Core> {
 protected:
  StatusOr<model::Result> Run(const workload::Platform& p, const workload::SchedWorkload& w, int hz,
                              SchedObserver* obs = nullptr, GovernorKind gov = GovernorKind::kPerformance) {
    return RunSchedSim(p, w, Opts(GetParam(), hz, gov), 1, nullptr, obs);
  }
};
INSTANTIATE_TEST_SUITE_P(Mainline, DlClassTest, ::testing::Values(Core::kEevdf612, Core::kCfs61),
                         [](const auto& info) { return std::string(info.param == Core::kEevdf612 ? "Eevdf612" : "Cfs61"); });

// A deadline hog (runtime 10 ms every 100 ms) beside two fair hogs on one
// CPU, HZ 250 (ticks every 4 ms, on the 100 ms period boundaries). It runs
// first (dl above fair); update_curr_dl() charges it at each tick:
// 10 -> 6 -> 2 -> -2 ms at t = 12 ms, where it is throttled (a tick of
// overrun, no HRTICK_DL) until dl_next_period() = 100 ms.
// replenish_dl_entity() then gives -2 + 10 = 8 ms (deadline 200 ms): it
// runs 100..108 and is throttled at exactly 0. So the periods alternate 12
// and 8 ms, 20 ms per two periods: over 1 s, 10 periods, exactly 100 ms
// and 10 throttles; the fair hogs share the other 900 ms. (The run stops
// at 999 ms, before the replenishment at 1 s.)
TEST_P(DlClassTest, DeadlineHogGetsItsRuntimePerPeriodAndTheOverrunIsPaidBack) {
  workload::SchedWorkload w;
  w.duration_ns = 999 * kMs;
  w.tasks.push_back(Dl("dl", 10 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(2000 * kMs)}));
  w.tasks.push_back(st::Task("hog0", 0, 1, {st::Runtime(2000 * kMs)}));
  w.tasks.push_back(st::Task("hog1", 0, 1, {st::Runtime(2000 * kMs)}));
  Recorder rec;
  auto r = Run(st::FlatPlatform(1), w, 250, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Metric(*r, "task.dl.cpu_time_ms"), 100.0);
  EXPECT_EQ(Metric(*r, "dl_throttles"), 10.0);
  EXPECT_EQ(Metric(*r, "task.hog0.cpu_time_ms") + Metric(*r, "task.hog1.cpu_time_ms"), 899.0);
  std::vector<sim::Time> dl_starts;
  for (const RunAt& x : rec.runs) {
    if (x.task == 0) dl_starts.push_back(x.t);
  }
  std::vector<sim::Time> want;
  for (int k = 0; k < 10; ++k) want.push_back(k * 100 * kMs);  // at each replenishment, preempting a hog
  EXPECT_EQ(dl_starts, want);
  EXPECT_EQ(Metric(*r, "migrations_dl_push"), 0.0);
  EXPECT_EQ(Metric(*r, "migrations_dl_pull"), 0.0);
}

// A periodic deadline task (5 ms jobs every 100 ms, reservation 10/100)
// beside two fair hogs. Its timer is anchored at the end of its first job
// (rt-app starts a timer at its first use): it runs at 0, then wakes at
// 105, 205, ... 905, ten jobs in 1 s. At each wake-up update_dl_entity()
// finds the deadline passed (100 at 105) or reached (205 at 205: 0 ns
// left overflows) and starts a new period, and the task preempts the hog
// at once (dl above fair): wake-up latency 0, 5 ms per job, never throttled.
TEST_P(DlClassTest, PeriodicDeadlineTaskRunsAtEachActivation) {
  workload::SchedWorkload w;
  w.duration_ns = 1000 * kMs;
  w.tasks.push_back(Dl("dl", 10 * kMs, 100 * kMs, 100 * kMs, -1, {st::Runtime(5 * kMs), st::Timer(100 * kMs)}));
  w.tasks.push_back(st::Task("hog0", 0, 1, {st::Runtime(2000 * kMs)}));
  w.tasks.push_back(st::Task("hog1", 0, 1, {st::Runtime(2000 * kMs)}));
  auto r = Run(st::FlatPlatform(1), w, 250);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Metric(*r, "task.dl.cpu_time_ms"), 50.0);
  EXPECT_EQ(Metric(*r, "task.dl.wakeup_latency_p99_us"), 0.0);
  EXPECT_EQ(Metric(*r, "dl_throttles"), 0.0);
  EXPECT_EQ(Metric(*r, "deadline_misses"), 0.0);
}

// EDF between two deadline tasks on one CPU. Each program is a timer then
// its job, so activations are whole periods from the task's start (rt-app
// anchors a timer at its first use):
//  B: reservation 50/100 ms, started at 0, 48 ms of work at 100, 200, ...;
//  A: reservation 20/50 ms, started at 5 ms, 10 ms of work at 55, 105, ...
// At each wake-up the deadline has come (deadline - now = 0 overflows):
// update_dl_entity() starts a new period, deadline = now + 100 (B) or + 50 (A).
// t=55 A alone (deadline 105): 55..65. t=100 B (200): runs. t=105 A (155
// < 200) preempts: 105..115; B resumes 115 and ends its 48 ms at 158.
// t=155 A (205 > 200) waits for B: runs 158..168, a 3 ms wake-up latency.
// t=200 B (300); t=205 A (255) preempts; B 215..258; t=255 A (305) waits
// until 258. No runtime is exhausted (B 48 of 50, A 10 of 20).
TEST_P(DlClassTest, TwoDeadlineTasksRunEarliestDeadlineFirst) {
  workload::SchedWorkload w;
  w.duration_ns = 299 * kMs;  // B's activation at 300 is left out
  w.tasks.push_back(Dl("B", 50 * kMs, 100 * kMs, 100 * kMs, -1, {st::Timer(100 * kMs), st::Runtime(48 * kMs)}));
  auto a = Dl("A", 20 * kMs, 50 * kMs, 50 * kMs, -1, {st::Timer(50 * kMs), st::Runtime(10 * kMs)});
  a.delay_ns = 5 * kMs;
  w.tasks.push_back(a);
  Recorder rec;
  auto r = Run(st::FlatPlatform(1), w, 250, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> want = {{55 * kMs, 0, 1}};
  for (int k = 1; k < 3; ++k) {
    sim::Time base = k * 100 * kMs;
    want.push_back({base, 0, 0});
    want.push_back({base + 5 * kMs, 0, 1});
    want.push_back({base + 15 * kMs, 0, 0});
    want.push_back({base + 58 * kMs, 0, 1});
  }
  EXPECT_EQ(rec.runs, want);
  EXPECT_EQ(Metric(*r, "task.A.wakeup_latency_p99_us"), 3000.0);
  EXPECT_EQ(Metric(*r, "task.B.wakeup_latency_p99_us"), 0.0);
  EXPECT_EQ(Metric(*r, "dl_throttles"), 0.0);
}

// Class order: a deadline task preempts a SCHED_FIFO 99 hog as it does a
// fair one (stop > dl > rt > fair). One CPU: the RT hog runs from 0; the
// deadline task (2 ms jobs, 10/50 ms) starts at 10 ms and runs at once,
// 10..12, then at 62, 112, 162 (its timer anchored at 12 ms). In 199 ms it
// gets 8 ms, the RT hog the other 191, and the fair task nothing.
TEST_P(DlClassTest, DeadlineTaskPreemptsRealTimeAndFair) {
  workload::SchedWorkload w;
  w.duration_ns = 199 * kMs;
  auto rt = st::Task("rt", 0, 1, {st::Runtime(1000 * kMs)});
  rt.policy = SchedPolicy::kFifo;
  rt.rt_priority = 99;
  w.tasks.push_back(rt);
  auto dl = Dl("dl", 10 * kMs, 50 * kMs, 50 * kMs, -1, {st::Runtime(2 * kMs), st::Timer(50 * kMs)});
  dl.delay_ns = 10 * kMs;
  w.tasks.push_back(dl);
  w.tasks.push_back(st::Task("fair", 0, 1, {st::Runtime(1000 * kMs)}));
  Recorder rec;
  auto r = Run(st::FlatPlatform(1), w, 250, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> want = {{0, 0, 0}};
  for (sim::Time t : {10, 62, 112, 162}) {
    want.push_back({t * kMs, 0, 1});
    want.push_back({(t + 2) * kMs, 0, 0});
  }
  EXPECT_EQ(rec.runs, want);
  EXPECT_EQ(Metric(*r, "task.dl.cpu_time_ms"), 8.0);
  EXPECT_EQ(Metric(*r, "task.rt.cpu_time_ms"), 191.0);
  EXPECT_EQ(Metric(*r, "task.fair.cpu_time_ms"), 0.0);
  EXPECT_EQ(Metric(*r, "task.dl.wakeup_latency_p99_us"), 0.0);
  EXPECT_EQ(r->scalars.count("migrations_rt_push"), 1u);  // both classes' metrics
  EXPECT_EQ(r->scalars.count("migrations_dl_push"), 1u);
}

// A job of 25 ms under a 10/50 ms reservation beside a fair hog: throttled
// when its runtime is out, the rest continues in the next periods.
// HZ 1000: runs 0..10 (throttled at 0 ms left), 50..60, 100..105: done at
// 105 ms, 2 throttles. HZ 250 (ticks at multiples of 4 ms): 0..12 (-2 ms
// left at the tick), replenished to 8 ms at 50 (deadline 100), charged at
// the ticks 52, 56, 60 (-2 again), replenished to 8 at 100: the last 3 ms,
// done at 103 ms, 2 throttles.
TEST_P(DlClassTest, WorkBeyondTheRuntimeContinuesInTheNextPeriods) {
  for (int hz : {1000, 250}) {
    workload::SchedWorkload w;
    w.tasks.push_back(Dl("dl", 10 * kMs, 50 * kMs, 50 * kMs, 1, {st::Runtime(25 * kMs)}));
    w.tasks[0].kind = "batch";
    w.tasks.push_back(st::Task("hog", 0, 1, {st::Runtime(300 * kMs)}));
    Recorder rec;
    auto r = Run(st::FlatPlatform(1), w, hz, &rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<RunAt> want = {{0, 0, 0}, {hz == 1000 ? 10 * kMs : 12 * kMs, 0, 1}, {50 * kMs, 0, 0},
                               {60 * kMs, 0, 1}, {100 * kMs, 0, 0}, {hz == 1000 ? 105 * kMs : 103 * kMs, 0, 1}};
    EXPECT_EQ(rec.runs, want) << hz;
    EXPECT_EQ(Metric(*r, "dl_throttles"), 2.0) << hz;
    EXPECT_EQ(Metric(*r, "task.dl.cpu_time_ms"), 25.0) << hz;
    EXPECT_EQ(Metric(*r, "makespan_ms"), 325.0) << hz;  // the hog's 300 ms after the 25
  }
}

// update_dl_entity() at a wake-up, reservation 10/100 ms, HZ 1000, alone.
// The task runs 8 ms (2 ms left, deadline 100) and sleeps.
//  - Woken at 10 ms: 2 / (100 - 10) < 10 / 100, no overflow (in 1024-ns
//    units: left 97656 x 1953 = 190722168 < right 87890 x 9765 =
//    858245850): it keeps 2 ms and deadline 100, runs 10..12, is throttled
//    and finishes its 8 ms at 100..106.
//  - Woken at 93 ms: 2 / 7 > 10 / 100 (right 6835 x 9765 = 66743775 <
//    left): a new period (deadline 193, 10 ms): it runs 93..101 at once.
TEST_P(DlClassTest, CbsWakeupRuleKeepsOrRenewsTheReservation) {
  struct Case {
    int64_t sleep;
    sim::Time done;
    double throttles;
  };
  for (const Case& c : {Case{2 * kMs, 106 * kMs, 1.0}, Case{85 * kMs, 101 * kMs, 0.0}}) {
    workload::SchedWorkload w;
    w.tasks.push_back(
        Dl("dl", 10 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(8 * kMs), st::Sleep(c.sleep), st::Runtime(8 * kMs)}));
    auto r = Run(st::FlatPlatform(1), w, 1000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Metric(*r, "makespan_ms"), c.done / 1e6) << c.sleep;
    EXPECT_EQ(Metric(*r, "dl_throttles"), c.throttles) << c.sleep;
  }
}

// Global EDF by push and pull on two CPUs. Three deadline tasks forked at
// t=0 on the parent's CPU 0 (A: 20/50 ms with 10 ms of work, B: 30/80 with
// 5, C: 40/100 with 30; each runs once). select_task_rq_dl() keeps each on
// CPU 0 (its curr is no deadline task yet). CPU 0 picks A (deadline 50);
// set_next_task_dl() pushes: its earliest pushable, B (80), goes to the
// free CPU 1 (cpudl free_cpus); then C (100) is later than every CPU's
// earliest (50, 80): it stays. t=5 B exits: balance_dl() on CPU 1 pulls C
// (CPU 0 is overloaded, C is its earliest pushable and not earlier than
// its curr A). t=10 A exits; nothing to pull. C ends at 35.
TEST_P(DlClassTest, TwoCpusRunTheTwoEarliestDeadlinesByPushAndPull) {
  workload::SchedWorkload w;
  w.tasks.push_back(Dl("A", 20 * kMs, 50 * kMs, 50 * kMs, 1, {st::Runtime(10 * kMs)}));
  w.tasks.push_back(Dl("B", 30 * kMs, 80 * kMs, 80 * kMs, 1, {st::Runtime(5 * kMs)}));
  w.tasks.push_back(Dl("C", 40 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(30 * kMs)}));
  Recorder rec;
  auto r = Run(st::FlatPlatform(2), w, 250, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> want = {{0, 0, 0}, {0, 1, 1}, {5 * kMs, 1, 2}};
  EXPECT_EQ(rec.runs, want);
  ASSERT_EQ(rec.migs.size(), 2u);
  EXPECT_EQ(rec.migs[0].kind, MigrationKind::kDlPush);
  EXPECT_EQ(rec.migs[0].task, 1);
  EXPECT_EQ(rec.migs[0].t, 0);
  EXPECT_EQ(rec.migs[1].kind, MigrationKind::kDlPull);
  EXPECT_EQ(rec.migs[1].task, 2);
  EXPECT_EQ(rec.migs[1].t, 5 * kMs);
  EXPECT_EQ(rec.migs[1].to, 1);
  EXPECT_EQ(Metric(*r, "migrations_dl_push"), 1.0);
  EXPECT_EQ(Metric(*r, "migrations_dl_pull"), 1.0);
  EXPECT_EQ(Metric(*r, "migrations"), 2.0);
  EXPECT_EQ(Metric(*r, "makespan_ms"), 35.0);
}

// A waking deadline task whose CPU runs an earlier deadline goes elsewhere:
// select_task_rq_dl() -> find_later_rq(). Two CPUs: X (10/20 ms hog-like,
// 15 ms of work every 20 ms) forked first runs on CPU 0; Y (5/100 ms,
// 2 ms of work, forked at 1 ms on the parent's CPU 0, deadline 101) would
// not preempt X (deadline 20): it goes to the free CPU 1 and runs at once.
TEST_P(DlClassTest, WakeupAvoidsACpuWhoseDeadlineIsEarlier) {
  workload::SchedWorkload w;
  w.tasks.push_back(Dl("X", 10 * kMs, 20 * kMs, 20 * kMs, 1, {st::Runtime(9 * kMs)}));
  auto y = Dl("Y", 5 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(2 * kMs)});
  y.delay_ns = 1 * kMs;
  w.tasks.push_back(y);
  Recorder rec;
  auto r = Run(st::FlatPlatform(2), w, 250, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<RunAt> want = {{0, 0, 0}, {1 * kMs, 1, 1}};
  EXPECT_EQ(rec.runs, want);
  EXPECT_EQ(Metric(*r, "migrations_fork"), 1.0);  // placed away from the parent's CPU
  EXPECT_EQ(Metric(*r, "task.Y.wakeup_latency_p99_us"), 0.0);
}

// dl_scaled_delta_exec(): the runtime is charged wall time x
// freq_cap / 1024 x cpu_capacity / 1024. A deadline hog with 10 ms every
// 100 ms, HZ 1000:
//  - on a CPU of capacity 512 at its top OPP (1 GHz, freq_cap 1024) each
//    1 ms tick charges 0.5 ms: 20 ms of wall time per period, throttled at
//    20 ms (exactly 0 left), 200 ms over 1 s;
//  - on a capacity-1024 CPU held at half its top frequency (powersave,
//    500 of 1000 MHz: freq_cap 512): the same 20 ms per period;
//  - at full capacity and frequency: 10 ms, 100 ms over 1 s.
TEST_P(DlClassTest, RuntimeIsChargedScaledByCapacityAndFrequency) {
  // Two single-CPU clusters, LITTLE (512) first. The hog is forked on
  // CPU 0 and fits there (cap_scale(100 ms, 512) = 50 ms >= 10 ms), so
  // select_task_rq_dl() keeps it; nothing pulls or pushes it.
  workload::Platform asym = st::FlatPlatform(1);
  asym.clusters[0].name = "little";
  asym.clusters[0].capacity = 512;
  asym.clusters[0].opps[0].capacity = 512;
  workload::Platform big = st::FlatPlatform(1);
  big.clusters[0].name = "big";
  asym.clusters.push_back(big.clusters[0]);
  workload::Platform slow = st::FlatPlatform(1);
  slow.clusters[0].opps.insert(slow.clusters[0].opps.begin(), workload::Opp{500000, 512, 40, 5});
  struct Case {
    const workload::Platform* p;
    GovernorKind gov;
    double cpu_ms;
  };
  for (const Case& c : {Case{&asym, GovernorKind::kPerformance, 200.0}, Case{&slow, GovernorKind::kPowersave, 200.0},
                        Case{&big, GovernorKind::kPerformance, 100.0}}) {
    workload::SchedWorkload w;
    w.duration_ns = 1000 * kMs;
    w.tasks.push_back(Dl("dl", 10 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(2000 * kMs)}));
    Recorder rec;
    auto r = Run(*c.p, w, 1000, &rec, c.gov);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Metric(*r, "task.dl.cpu_time_ms"), c.cpu_ms) << c.p->name << " " << GovernorName(c.gov);
    EXPECT_EQ(Metric(*r, "dl_throttles"), 10.0);
    for (const RunAt& x : rec.runs) EXPECT_EQ(x.cpu, 0);
  }
}

// schedutil: a deadline hog keeps its bandwidth in running_bw (a throttled
// task stays contending). Reservation 30/100 ms: cpu_bw_dl() = 314572 x
// 1024 >> 20 = 307. No fair utilisation. One CPU, OPPs 100..1000 MHz.
//  - 6.1 (effective_cpu_util() adds it): 1.25 x 1000 MHz x 307 / 1024 =
//    374.8 MHz -> the 400 MHz OPP;
//  - 6.12 (since 6.8 it is the floor, without the +25 %): 1000 x 307 /
//    1024 = 299.8 MHz -> 300 MHz.
// The governor starts at the lowest OPP and first acts at the 4 ms tick
// (rate_limit_us 1 ms from t = 0), so 4 ms at 100 MHz, the rest at the target.
TEST_P(DlClassTest, SchedutilRequestsTheRunningBandwidth) {
  workload::Platform p = st::FlatPlatform(1);
  p.clusters[0].opps.clear();
  for (int mhz = 100; mhz <= 1000; mhz += 100) {
    p.clusters[0].opps.push_back(workload::Opp{static_cast<uint64_t>(mhz) * 1000, static_cast<uint32_t>(mhz * 1024 / 1000), 100, 10});
  }
  p.clusters[0].opps.back().capacity = 1024;
  workload::SchedWorkload w;
  w.duration_ns = 1000 * kMs;
  w.tasks.push_back(Dl("dl", 30 * kMs, 100 * kMs, 100 * kMs, 1, {st::Runtime(2000 * kMs)}));
  auto r = Run(p, w, 250, nullptr, GovernorKind::kSchedutil);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const char* target = GetParam() == Core::kCfs61 ? "cluster.c0.opp.400000.time_ms" : "cluster.c0.opp.300000.time_ms";
  EXPECT_EQ(Metric(*r, target), 996.0);
  EXPECT_EQ(Metric(*r, "cluster.c0.opp.100000.time_ms"), 4.0);
}

// Admission control (__dl_overflow()): the limit is to_ratio(1 s, 0.95 s)
// = 996147 (of 1 << 20) times dl_bw_capacity() / 1024.
//  - one CPU: 95/100 ms is to_ratio = 996147, not above: admitted;
//    96/100 ms is 1006632: refused, naming the total and the limit;
//  - 0.5 + 0.46 on one CPU: the second task is refused;
//  - two symmetric CPUs (capacity 2 x 1024): 0.95 + 0.95 admitted;
//  - CPUs of capacity 512 and 1024 (asymmetric: the sum, 1536): limit
//    996147 x 1536 >> 10 = 1494220; 0.7 + 0.7 (2 x 734003 = 1468006)
//    admitted, 0.715 + 0.715 (2 x 749731 = 1499462) refused, which two
//    symmetric CPUs (limit 1992294) would admit.
TEST_P(DlClassTest, AdmissionControlRefusesMoreThanTheRootDomainsBandwidth) {
  auto run = [&](const workload::Platform& p, std::vector<int64_t> runtimes_us) {
    workload::SchedWorkload w;
    w.duration_ns = 10 * kMs;
    for (size_t i = 0; i < runtimes_us.size(); ++i) {
      w.tasks.push_back(Dl("d" + std::to_string(i), runtimes_us[i] * 1000, 100 * kMs, 100 * kMs, 1, {st::Runtime(1 * kMs)}));
    }
    return Run(p, w, 250);
  };
  workload::Platform one = st::FlatPlatform(1), two = st::FlatPlatform(2);
  workload::Platform asym = st::FlatPlatform(1);
  asym.clusters[0].capacity = 512;
  asym.clusters[0].opps[0].capacity = 512;
  asym.clusters.push_back(st::FlatPlatform(1).clusters[0]);
  asym.clusters[1].name = "big";
  EXPECT_TRUE(run(one, {95000}).ok());
  auto refused = run(one, {96000});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("task 'd0'"), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("total bandwidth 0.9600"), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("limit 0.9500"), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("EBUSY"), std::string::npos);
  auto second = run(one, {50000, 46000});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("task 'd1'"), std::string::npos) << second.status().ToString();
  EXPECT_TRUE(run(two, {95000, 95000}).ok());
  EXPECT_TRUE(run(asym, {70000, 70000}).ok());
  auto capped = run(asym, {71500, 71500});
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.status().message().find("capacity-weighted"), std::string::npos) << capped.status().ToString();
  EXPECT_TRUE(run(two, {71500, 71500}).ok());
}

// Bad deadline tasks are refused by the run with the task and field named:
// __checkparam_dl() (a workload from a trace has not been through the
// rt-app parser) and an affinity short of every CPU (EPERM).
TEST_P(DlClassTest, BadDeadlineTasksAreRefusedByName) {
  workload::SchedWorkload w;
  w.tasks.push_back(Dl("short", 1000, 10 * kMs, 10 * kMs, 1, {st::Runtime(1 * kMs)}));
  auto r = Run(st::FlatPlatform(2), w, 250);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("task 'short': dl_runtime_ns: 1000 ns is below 1024 ns"), std::string::npos)
      << r.status().ToString();
  w.tasks[0] = Dl("pinned", 1 * kMs, 10 * kMs, 10 * kMs, 1, {st::Runtime(1 * kMs)});
  w.tasks[0].cpu_mask = 1;
  r = Run(st::FlatPlatform(2), w, 250);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("task 'pinned': cpu_mask"), std::string::npos) << r.status().ToString();
  w.tasks[0].cpu_mask = 3;  // every CPU: allowed
  EXPECT_TRUE(Run(st::FlatPlatform(2), w, 250).ok());
}

// LSK 3.10 predates SCHED_DEADLINE (3.14): sched.cfs at 3.10 and sched.hmp
// refuse a deadline task by name, through the registry as through
// RunSchedSim(); sched.eevdf and sched.cfs 6.1 run it.
TEST(DlClassLsk, Lsk310ModelsRefuseDeadlineTasks) {
  workload::SchedWorkload w;
  w.tasks.push_back(Dl("dl", 1 * kMs, 10 * kMs, 10 * kMs, 1, {st::Runtime(1 * kMs)}));
  auto direct = RunSchedSim(st::FlatPlatform(1), w, st::Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_FALSE(direct.ok());
  EXPECT_NE(direct.status().message().find("3.14"), std::string::npos) << direct.status().ToString();
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  workload::Platform p = st::FlatPlatform(1);
  struct Case {
    const char* model;
    const char* release;  // "" = the default
    bool runs;
  };
  for (const Case& c : {Case{"sched.hmp", "", false}, Case{"sched.cfs", "", false}, Case{"sched.cfs", "6.1", true},
                        Case{"sched.eevdf", "", true}}) {
    const model::ModelInfo* m = reg.Find(c.model);
    std::map<std::string, model::ParamValue> given;
    if (*c.release) given["kernel_version"] = std::string(c.release);
    auto ps = model::ResolveParams(m->params, given, "params");
    ASSERT_TRUE(ps.ok()) << ps.status().ToString();
    model::RunInput in{&*ps, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
    auto r = m->run(in);
    EXPECT_EQ(r.ok(), c.runs) << c.model << " " << c.release << ": " << r.status().ToString();
    if (!c.runs) {
      EXPECT_NE(r.status().message().find("task 'dl' has policy SCHED_DEADLINE"), std::string::npos);
      EXPECT_NE(r.status().message().find("3.14"), std::string::npos);
    } else {
      EXPECT_EQ(r->scalars.count("dl_throttles"), 1u);
    }
  }
}

// Juno r0 (4 x A53 of capacity 447, 2 x A57 of 1024, asymmetric): a
// 50/100 ms deadline task does not fit an A53 (cap_scale(100 ms, 447) =
// 43.6 ms < 50 ms), so select_task_rq_dl() looks further at its start and
// find_later_rq() keeps the free CPUs where it fits, the A57s; neither is
// task_cpu (0) nor in CPU 0's cluster, and cpumask_any_and_distribute()
// from CPU 0's cursor (0) gives CPU 4. Beside it deadline, RT and fair
// tasks of every kind run under schedutil for 2 s: the run completes,
// CPU time stays within the platform's, and a second run gives the same
// numbers bit for bit.
TEST_P(DlClassTest, MixedClassesOnJunoPlaceByCapacityAndRepeat) {
  workload::SchedWorkload w;
  w.duration_ns = 2000 * kMs;
  w.tasks.push_back(Dl("big", 50 * kMs, 100 * kMs, 100 * kMs, -1, {st::Work(20 * kMs), st::Timer(100 * kMs)}));
  for (int i = 0; i < 3; ++i) {
    auto small = Dl("small" + std::to_string(i), 5 * kMs, 30 * kMs, 50 * kMs, -1, {st::Work(2 * kMs), st::Timer(50 * kMs)});
    small.delay_ns = (i + 1) * 3 * kMs;
    w.tasks.push_back(small);
  }
  auto hog = Dl("dlhog", 10 * kMs, 40 * kMs, 40 * kMs, 1, {st::Runtime(3000 * kMs)});
  w.tasks.push_back(hog);
  auto rt = st::Task("rt", 0, -1, {st::Work(1 * kMs), st::Sleep(7 * kMs)});
  rt.policy = SchedPolicy::kFifo;
  rt.rt_priority = 50;
  w.tasks.push_back(rt);
  for (int i = 0; i < 4; ++i) {
    w.tasks.push_back(st::Task("fair" + std::to_string(i), i - 2, -1, {st::Work((3 + i) * kMs), st::Sleep((5 + 2 * i) * kMs)}));
  }
  w.tasks.push_back(st::Task("fairhog", 0, 1, {st::Work(5000 * kMs)}));
  workload::Platform juno = st::Builtin("juno-r0");
  Recorder rec;
  auto r = Run(juno, w, 250, &rec, GovernorKind::kSchedutil);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto first = std::find_if(rec.runs.begin(), rec.runs.end(), [](const RunAt& x) { return x.task == 0; });
  ASSERT_NE(first, rec.runs.end());
  EXPECT_EQ(first->cpu, 4);
  EXPECT_LE(Metric(*r, "cpu_time_ms"), 6 * 2000.0);
  EXPECT_GT(Metric(*r, "dl_throttles"), 0.0);  // the hog is out of runtime every period
  auto again = Run(juno, w, 250, nullptr, GovernorKind::kSchedutil);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->scalars.size(), r->scalars.size());
  for (const auto& [name, v] : r->scalars) EXPECT_EQ(again->scalars.at(name).value, v.value) << name;
}

// A workload without deadline tasks reports no deadline metrics (and runs
// none of the class's paths: the goldens pin its results).
TEST_P(DlClassTest, NoDeadlineMetricsWithoutDeadlineTasks) {
  workload::SchedWorkload w;
  w.tasks.push_back(st::Task("hog", 0, 1, {st::Runtime(10 * kMs)}));
  auto r = Run(st::FlatPlatform(1), w, 250);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalars.count("dl_throttles"), 0u);
  EXPECT_EQ(r->scalars.count("migrations_dl_push"), 0u);
}

}  // namespace
}  // namespace kreplay::sched
