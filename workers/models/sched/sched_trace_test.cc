// The schedule a sched run reports to a model::SchedObserver: consistent with
// itself (each CPU's switches chain, no task on two CPUs) and with the run's
// own metrics, and never changing the result.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "services/model/sched_observer.h"
#include "workers/models/sched/sched_sim.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
using Kind = model::SchedTraceEvent::Kind;
constexpr int64_t kMs = sim::kMs;

// A copy of an event whose strings outlive the callback.
struct Ev {
  model::SchedTraceEvent e;
  std::string comm, next_comm;
};

class Recorder final : public model::SchedObserver {
 public:
  void On(const model::SchedTraceEvent& e) override {
    Ev ev{e, std::string(e.task.comm), std::string(e.next.comm)};
    ev.e.task.comm = {};
    ev.e.next.comm = {};
    events.push_back(std::move(ev));
  }
  std::vector<Ev> events;
};

// Interactive, periodic and batch tasks, a hog, and a wait/signal pair so
// that some wake-ups come from another CPU.
workload::SchedWorkload Mixed(int64_t duration) {
  workload::SchedWorkload w;
  w.duration_ns = duration;
  w.tasks.push_back(Task("hog-with-a-very-long-name", 0, -1, {Work(50 * kMs)}, "batch"));
  for (int i = 0; i < 4; ++i) {
    auto t = Task("periodic" + std::to_string(i), 0, -1, {Work(1 * kMs), Timer(16 * kMs)}, "periodic");
    t.delay_ns = i * 3 * kMs;
    w.tasks.push_back(t);
  }
  for (int i = 0; i < 3; ++i)
    w.tasks.push_back(Task("ui" + std::to_string(i), -2, -1, {Work((2 + i) * kMs), Sleep((20 + 7 * i) * kMs)}, "interactive"));
  w.tasks.push_back(Task("batch", 5, 3, {Work(100 * kMs)}, "batch"));
  w.tasks.push_back(Task("producer", 0, -1, {Work(2 * kMs), {workload::PhaseOp::kSignal, 7, 0}, Sleep(9 * kMs)}, "interactive"));
  w.tasks.push_back(Task("consumer", 0, -1, {{workload::PhaseOp::kWait, 7, 0}, Work(1 * kMs)}, "interactive"));
  return w;
}

double Scalar(const model::Result& r, const std::string& name) {
  auto it = r.scalars.find(name);
  EXPECT_NE(it, r.scalars.end()) << name;
  return it == r.scalars.end() ? -1 : it->second.value;
}

void ExpectSameResult(const model::Result& a, const model::Result& b) {
  EXPECT_EQ(a.sim_events, b.sim_events);
  EXPECT_EQ(a.sim_time_ns, b.sim_time_ns);
  EXPECT_EQ(a.scalars, b.scalars);
  EXPECT_EQ(a.histograms, b.histograms);
}

struct Case {
  Policy policy;
  GovernorKind governor;
};

class SchedTrace : public ::testing::TestWithParam<Case> {};

TEST_P(SchedTrace, ScheduleIsConsistentAndMatchesTheMetrics) {
  const Case c = GetParam();
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w = Mixed(2 * sim::kSec);
  SchedOptions o = Options(c.policy, c.governor);
  auto plain = RunSchedSim(p, w, o, 1, nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  Recorder rec;
  auto traced = RunSchedSim(p, w, o, 1, nullptr, nullptr, &rec);
  ASSERT_TRUE(traced.ok()) << traced.status().ToString();
  ExpectSameResult(*plain, *traced);

  const int ncpus = static_cast<int>(p.total_cpus());
  const sim::Time end = traced->sim_time_ns;
  std::vector<int> running(ncpus, 0);            // pid per CPU, 0 = idle
  std::map<int, int> on_cpu;                     // pid -> CPU while running
  std::map<int, sim::Time> run_since;            // pid -> switch-in time
  std::map<int, int64_t> cpu_time;               // pid -> ns
  std::map<int, std::string> comm;               // pid -> comm
  std::vector<sim::Time> idle_since(ncpus, -1), idle_ns(ncpus, 0), freq_since(ncpus, 0);
  std::vector<uint32_t> khz(ncpus, 0);
  std::map<std::pair<int, uint32_t>, int64_t> time_at_khz;  // (cpu, khz) -> ns
  int64_t switches_from_task = 0, migrations = 0, new_tasks = 0, wakeups = 0;
  sim::Time last = 0;
  for (const Ev& ev : rec.events) {
    const auto& e = ev.e;
    ASSERT_GE(e.time_ns, last);
    last = e.time_ns;
    ASSERT_GE(e.cpu, 0);
    ASSERT_LT(e.cpu, ncpus);
    switch (e.kind) {
      case Kind::kSwitch: {
        ASSERT_EQ(e.task.pid, running[e.cpu]) << "CPU " << e.cpu << " at " << e.time_ns;
        ASSERT_NE(e.task.pid, e.next.pid);
        if (e.task.pid == 0) {
          EXPECT_EQ(ev.comm, "swapper/" + std::to_string(e.cpu));
          EXPECT_STREQ(e.prev_state, "R");
        } else {
          ++switches_from_task;
          on_cpu.erase(e.task.pid);
          cpu_time[e.task.pid] += e.time_ns - run_since[e.task.pid];
          EXPECT_TRUE(std::string(e.prev_state) == "R+" || std::string(e.prev_state) == "S" ||
                      std::string(e.prev_state) == "X")
              << e.prev_state;
        }
        if (e.next.pid != 0) {
          ASSERT_EQ(on_cpu.count(e.next.pid), 0u) << "pid " << e.next.pid << " on two CPUs at " << e.time_ns;
          on_cpu[e.next.pid] = e.cpu;
          run_since[e.next.pid] = e.time_ns;
          comm[e.next.pid] = ev.next_comm;
        }
        running[e.cpu] = e.next.pid;
        break;
      }
      case Kind::kMigrate:
        ++migrations;
        EXPECT_NE(e.orig_cpu, e.dest_cpu);
        break;
      case Kind::kWakeupNew:
        ++new_tasks;
        break;
      case Kind::kWakeup:
        ++wakeups;
        EXPECT_EQ(on_cpu.count(e.task.pid), 0u) << "a running task woken";
        break;
      case Kind::kCpuFrequency:
        if (khz[e.cpu]) time_at_khz[{e.cpu, khz[e.cpu]}] += e.time_ns - freq_since[e.cpu];
        khz[e.cpu] = e.khz;
        freq_since[e.cpu] = e.time_ns;
        break;
      case Kind::kCpuIdle:
        if (e.idle_state >= 0) {
          ASSERT_LT(idle_since[e.cpu], 0) << "entered idle twice";
          ASSERT_EQ(running[e.cpu], 0) << "idle with a task running";
          idle_since[e.cpu] = e.time_ns;
        } else {
          ASSERT_GE(idle_since[e.cpu], 0) << "left idle twice";
          idle_ns[e.cpu] += e.time_ns - idle_since[e.cpu];
          idle_since[e.cpu] = -1;
        }
        break;
    }
  }
  EXPECT_GT(switches_from_task, 0);
  EXPECT_GT(wakeups, 0);
  EXPECT_EQ(migrations, static_cast<int64_t>(Scalar(*traced, "migrations")));
  // Every task leaving a CPU is one context switch; the model counts none
  // that the trace omits (a task preempted and picked again at once).
  EXPECT_EQ(switches_from_task, static_cast<int64_t>(Scalar(*traced, "context_switches")));
  // Every task is forked runnable except "consumer", which starts by waiting
  // and is placed (sched_wakeup, not _new) when first signalled.
  EXPECT_EQ(new_tasks, static_cast<int64_t>(w.tasks.size()) - 1);

  // Running intervals add up to each task's CPU time.
  for (const auto& [pid, cpu] : on_cpu) cpu_time[pid] += end - run_since[pid];
  for (size_t i = 0; i < w.tasks.size(); ++i) {
    int pid = model::kSchedTaskPidBase + static_cast<int>(i);
    EXPECT_EQ(comm[pid], w.tasks[i].name.substr(0, 15));
    EXPECT_DOUBLE_EQ(cpu_time[pid] / 1e6, Scalar(*traced, "task." + w.tasks[i].name + ".cpu_time_ms")) << w.tasks[i].name;
  }
  // Busy share per cluster (idle exits count as busy, as in the metric).
  for (int cpu = 0; cpu < ncpus; ++cpu)
    if (idle_since[cpu] >= 0) idle_ns[cpu] += end - idle_since[cpu];
  for (int cpu = 0, ci = 0; ci < static_cast<int>(p.clusters.size()); ++ci) {
    int64_t n = p.clusters[ci].cpus, idle = 0;
    for (int k = 0; k < n; ++k) idle += idle_ns[cpu++];
    double util = static_cast<double>(n * end - idle) / (static_cast<double>(end) * n);
    EXPECT_NEAR(util, Scalar(*traced, "cluster." + p.clusters[ci].name + ".utilization"), 1e-12) << p.clusters[ci].name;
  }
  // Frequency residency per cluster (its first CPU) equals the OPP time metrics.
  for (int cpu = 0; cpu < ncpus; ++cpu) time_at_khz[{cpu, khz[cpu]}] += end - freq_since[cpu];
  int first = 0;
  for (const auto& cl : p.clusters) {
    for (const auto& opp : cl.opps) {
      auto it = time_at_khz.find({first, static_cast<uint32_t>(opp.khz)});
      int64_t ns = it == time_at_khz.end() ? 0 : it->second;
      EXPECT_DOUBLE_EQ(ns / 1e6, Scalar(*traced, "cluster." + cl.name + ".opp." + std::to_string(opp.khz) + ".time_ms"))
          << cl.name << " " << opp.khz;
    }
    first += static_cast<int>(cl.cpus);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SchedTrace,
                         ::testing::Values(Case{Policy::kCfs, GovernorKind::kOndemand},
                                           Case{Policy::kHmp, GovernorKind::kOndemand},
                                           Case{Policy::kHmp, GovernorKind::kSchedutil},
                                           Case{Policy::kCfs, GovernorKind::kInteractive}));

}  // namespace
}  // namespace kreplay::sched
