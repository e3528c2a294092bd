#include "workers/models/sched/sched_models.h"

#include <gtest/gtest.h>

#include "services/model/params.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;

// Periodic, interactive and batch tasks, plus one CPU hog.
workload::SchedWorkload Mixed(int64_t duration) {
  workload::SchedWorkload w;
  w.duration_ns = duration;
  w.tasks.push_back(Task("hog", 0, -1, {Work(50 * kMs)}, "batch"));
  for (int i = 0; i < 4; ++i) {
    auto t = Task("periodic" + std::to_string(i), 0, -1, {Work(1 * kMs), Timer(16 * kMs)}, "periodic");
    t.delay_ns = i * 3 * kMs;
    w.tasks.push_back(t);
  }
  for (int i = 0; i < 3; ++i) {
    w.tasks.push_back(Task("ui" + std::to_string(i), -2, -1, {Work((2 + i) * kMs), Sleep((20 + 7 * i) * kMs)}, "interactive"));
  }
  w.tasks.push_back(Task("batch", 5, 3, {Work(100 * kMs)}, "batch"));
  return w;
}

model::ParamSet Params(const model::ModelInfo& info, std::map<std::string, model::ParamValue> given = {}) {
  auto p = model::ResolveParams(info.params, given, "params");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : model::ParamSet{};
}

TEST(SchedModels, RegistersBothWithParamsAndMetrics) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  ASSERT_NE(reg.Find("sched.cfs"), nullptr);
  const model::ModelInfo* hmp = reg.Find("sched.hmp");
  ASSERT_NE(hmp, nullptr);
  EXPECT_EQ(hmp->version, "1.2.0");
  EXPECT_EQ(reg.Find("sched.cfs")->version, "1.3.0");  // kernel_version: mainline CFS
  // The names the issue reserves for later scheduler models.
  for (const char* later : {"sched.eas", "sched.iks", "sched.walt"}) {
    EXPECT_EQ(reg.Find(later), nullptr) << later;
    EXPECT_NE(reg.Reserved(later), nullptr) << later;
  }
  model::ParamSet ps = Params(*hmp);
  EXPECT_EQ(ps.Int("hz"), 100);
  EXPECT_EQ(ps.Int("hmp_up_threshold"), 700);
  EXPECT_EQ(ps.Int("hmp_down_threshold"), 512);
  // hmp_next_up_threshold / hmp_next_down_threshold = 4096 in the kernel's
  // 1024-ns units, as SchedOptions has them (sched_policy_test runs the
  // registered defaults against SchedOptions{} bit for bit).
  EXPECT_EQ(ps.Int("hmp_next_up_threshold"), 4096);
  EXPECT_EQ(ps.Int("hmp_next_down_threshold"), 4096);
  EXPECT_EQ(SchedOptions{}.hmp_next_up_threshold, 4096u);
  EXPECT_EQ(SchedOptions{}.hmp_next_down_threshold, 4096u);
  EXPECT_EQ(ps.Int("load_avg_period_ms"), 32);
  EXPECT_TRUE(ps.Bool("frequency_invariant"));
  EXPECT_EQ(Params(*reg.Find("sched.cfs")).values().count("hmp_up_threshold"), 0u);
  for (const auto* info : reg.List()) {
    for (const auto& p : info->params) EXPECT_FALSE(p.help.empty()) << p.name;
    for (const auto& m : info->metrics) EXPECT_FALSE(m.help.empty()) << m.name;
  }
  // Every scalar a run reports is declared (per-name patterns included).
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w = Mixed(300 * kMs);
  model::ParamSet params = Params(*hmp);
  model::RunInput in{&params, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
  auto r = hmp->run(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto declared = [&](const std::string& name) {
    for (const auto& m : hmp->metrics) {
      if (m.name == name) return true;
      auto lt = m.name.find('<');
      if (lt != std::string::npos && name.compare(0, lt, m.name, 0, lt) == 0) {
        std::string tail = m.name.substr(m.name.rfind('>') + 1);
        if (name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return true;
      }
    }
    return false;
  };
  for (const auto& [name, _] : r->scalars) EXPECT_TRUE(declared(name)) << name;
  for (const auto& [name, _] : r->histograms) EXPECT_TRUE(declared(name)) << name;
}

TEST(SchedModels, RejectsBadInputs) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  const model::ModelInfo* hmp = reg.Find("sched.hmp");
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w = Mixed(10 * kMs);
  model::ParamSet bad = Params(*hmp, {{"hmp_down_threshold", int64_t{800}}});
  model::RunInput in{&bad, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
  EXPECT_EQ(hmp->run(in).status().code(), StatusCode::kInvalidArgument);
  model::ParamSet ok = Params(*hmp);
  w.tasks[0].cpu_mask = 1ull << 40;
  model::RunInput in2{&ok, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
  auto r = hmp->run(in2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tasks[0] (hog).cpu_mask"), std::string::npos);
  model::RunInput missing{&ok, 1, {}, model::AnyRef::Of(&w), nullptr};
  EXPECT_EQ(hmp->run(missing).status().code(), StatusCode::kInvalidArgument);
}

TEST(SchedModels, RefuseWhatTheyDoNotModel) {
  // Task groups are not in the LSK 3.10 models, nor an RT task without an RT
  // priority: a run with them is an error naming the task, never an
  // approximation. Real-time, batch and idle policies run.
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  workload::Platform p = Builtin("juno-r0");
  for (const char* name : {"sched.cfs", "sched.hmp"}) {
    const model::ModelInfo* m = reg.Find(name);
    model::ParamSet ok = Params(*m);
    workload::SchedWorkload w = Mixed(10 * kMs);
    w.tasks[1].policy = workload::SchedPolicy::kFifo;
    w.tasks[1].rt_priority = 10;
    w.tasks[2].policy = workload::SchedPolicy::kRr;
    w.tasks[2].rt_priority = 5;
    w.tasks[3].policy = workload::SchedPolicy::kIdle;
    w.tasks[4].policy = workload::SchedPolicy::kBatch;
    model::RunInput in{&ok, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
    auto r = m->run(in);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_TRUE(r->scalars.count("migrations_rt_push")) << name;
    w.tasks[1].rt_priority = 0;
    r = m->run(in);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find("task 'periodic0' has policy SCHED_FIFO with priority 0"), std::string::npos)
        << r.status().ToString();
    w = Mixed(10 * kMs);
    w.tasks[2].group = "/g";
    w.groups = {{"/g", 512}};
    model::RunInput in2{&ok, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
    r = m->run(in2);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find("task group '/g'"), std::string::npos) << r.status().ToString();
  }
  // ModelsTaskGroups() (what `kreplay validate` asks) says what each model's
  // run does with the same grouped workload.
  for (const char* name : {"sched.cfs", "sched.hmp", "sched.eevdf"}) {
    const model::ModelInfo* m = reg.Find(name);
    model::ParamSet ok = Params(*m);
    workload::SchedWorkload w = Mixed(10 * kMs);
    w.tasks[2].group = "/g";
    w.groups = {{"/g", 512}};
    model::RunInput in{&ok, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
    EXPECT_EQ(m->run(in).ok(), ModelsTaskGroups(name)) << name;
  }
  EXPECT_FALSE(ModelsTaskGroups("sched.nope"));
}

TEST(SchedModels, CancelFlagStopsTheRun) {
  std::atomic<bool> cancel{true};
  workload::Platform p = Builtin("juno-r0");
  auto r = RunSchedSim(p, Mixed(5 * sim::kSec), Options(Policy::kCfs, GovernorKind::kOndemand), 1, &cancel);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

TEST(SchedModels, SameInputsAndSeedGiveIdenticalResults) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  for (const char* name : {"sched.cfs", "sched.hmp"}) {
    for (const char* gov : {"ondemand", "schedutil", "interactive"}) {
      const model::ModelInfo* info = reg.Find(name);
      workload::Platform p = Builtin("tc2");
      workload::SchedWorkload w = Mixed(1 * sim::kSec);
      model::ParamSet ps = Params(*info, {{"governor", std::string(gov)}});
      model::RunInput in{&ps, 42, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
      auto a = info->run(in);
      auto b = info->run(in);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_GT(a->sim_events, 1000u);
      EXPECT_EQ(a->sim_events, b->sim_events);
      EXPECT_EQ(a->sim_time_ns, b->sim_time_ns);
      ASSERT_EQ(a->scalars.size(), b->scalars.size());
      for (const auto& [k, v] : a->scalars) {
        ASSERT_TRUE(b->scalars.count(k)) << k;
        EXPECT_EQ(v.value, b->scalars.at(k).value) << name << " " << gov << " " << k;  // bit-identical
      }
      ASSERT_EQ(a->histograms.size(), b->histograms.size());
      for (const auto& [k, h] : a->histograms) EXPECT_TRUE(h == b->histograms.at(k)) << k;
    }
  }
}

// Invariants every run must satisfy, on both shipped legacy-EAS boards.
TEST(SchedModels, SaneOutputOnJunoAndTc2) {
  for (const char* plat : {"juno-r0", "tc2"}) {
    for (Policy pol : {Policy::kCfs, Policy::kHmp}) {
      workload::Platform p = Builtin(plat);
      auto r = RunSchedSim(p, Mixed(2 * sim::kSec), Options(pol, GovernorKind::kOndemand), 3, nullptr);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const auto& s = r->scalars;
      EXPECT_EQ(r->sim_time_ns, 2 * sim::kSec);
      EXPECT_GT(s.at("energy").value, 0);
      double task_sum = 0;
      for (const auto& t : Mixed(1).tasks) task_sum += s.at("task." + t.name + ".cpu_time_ms").value;
      EXPECT_NEAR(task_sum, s.at("cpu_time_ms").value, 1e-6);
      EXPECT_LE(s.at("cpu_time_ms").value, 2000.0 * p.total_cpus());
      double migs = 0;
      for (const char* k : {"fork", "wake", "forced", "idle_pull", "offload", "balance"}) migs += s.at(std::string("migrations_") + k).value;
      EXPECT_EQ(migs, s.at("migrations").value);
      for (const auto& c : p.clusters) {
        double u = s.at("cluster." + c.name + ".utilization").value;
        EXPECT_GE(u, 0.0);
        EXPECT_LE(u, 1.0);
        double opp_ms = 0, idle_ms = 0;
        for (const auto& o : c.opps) opp_ms += s.at("cluster." + c.name + ".opp." + std::to_string(o.khz) + ".time_ms").value;
        for (const auto& i : c.idle_states) idle_ms += s.at("cluster." + c.name + ".idle." + i.name + ".time_ms").value;
        EXPECT_NEAR(opp_ms, 2000.0, 1e-6);
        EXPECT_NEAR(idle_ms + u * 2000.0 * c.cpus, 2000.0 * c.cpus, 1e-3);
      }
      // 4 periodic tasks x 2 s / 16 ms = 500 activations, all met with 5+ CPUs.
      EXPECT_LT(s.at("deadline_misses").value, 10);
      EXPECT_GT(r->histograms.at("response_time").count(), 400u);
      EXPECT_GT(s.at("wakeup_latency_p99_us").value, 0);
      if (pol == Policy::kCfs) {
        EXPECT_EQ(s.at("migrations_forced").value + s.at("migrations_idle_pull").value + s.at("migrations_offload").value, 0);
      }
    }
  }
}

// batch_makespan_ms on a flat platform with no idle exit latency, each task
// pinned to a CPU of its own so nothing contends: b1 runs 3 x 50 ms from 0 and
// ends at 150 ms; b2 starts at 100 ms and runs 30 ms, sleeps 10 ms, twice, so
// it exits at its last wake-up, 100 + 2 x 40 = 180 ms. An interactive task
// with 10 s of finite work is unfinished at 1 s, which keeps makespan_ms at
// the run length.
TEST(SchedModels, BatchMakespanIsWhenTheLastBatchTaskFinished) {
  workload::Platform p = FlatPlatform(4);
  workload::SchedWorkload w;
  w.duration_ns = 1 * sim::kSec;
  auto frame = Task("frame", 0, -1, {Runtime(1 * kMs), Timer(10 * kMs)}, "periodic");
  frame.cpu_mask = 1;
  auto b1 = Task("b1", 0, 3, {Runtime(50 * kMs)}, "batch");
  b1.cpu_mask = 2;
  auto b2 = Task("b2", 0, 2, {Runtime(30 * kMs), Sleep(10 * kMs)}, "batch");
  b2.cpu_mask = 4;
  b2.delay_ns = 100 * kMs;
  auto ui = Task("ui", 0, 1000, {Runtime(1 * kMs), Sleep(9 * kMs)}, "interactive");
  ui.cpu_mask = 8;
  w.tasks = {frame, b1, b2, ui};
  for (Policy pol : {Policy::kCfs, Policy::kHmp}) {
    auto r = RunSchedSim(p, w, Options(pol, GovernorKind::kPerformance), 1, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->scalars.at("batch_makespan_ms").value, 180.0);
    EXPECT_EQ(r->scalars.at("makespan_ms").value, 1000.0);
  }
  // A batch task still running at the end: the run length. No batch task: 0.
  workload::SchedWorkload endless = w;
  endless.tasks[1].loops = -1;
  auto r1 = RunSchedSim(p, endless, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->scalars.at("batch_makespan_ms").value, 1000.0);
  workload::SchedWorkload none = w;
  none.tasks = {frame, ui};
  auto r2 = RunSchedSim(p, none, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->scalars.at("batch_makespan_ms").value, 0.0);
}

// HMP keeps the heavy task on big and the light ones on LITTLE.
struct PlacementCounter : SchedObserver {
  std::map<int, std::pair<int, int>> runs;  // task -> (runs on LITTLE, runs on big)
  std::map<int, int> last_cpu;
  sim::Time after = 0;
  int first_big = 0;
  void OnRun(sim::Time t, int cpu, int task) override {
    last_cpu[task] = cpu;
    if (t < after) return;
    auto& c = runs[task];
    (cpu >= first_big ? c.second : c.first)++;
  }
};

TEST(SchedModels, HmpPutsHeavyTaskOnBig) {
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w;
  w.duration_ns = 2 * sim::kSec;
  w.tasks.push_back(Task("hog", 0, -1, {Work(50 * kMs)}, "batch"));
  for (int i = 0; i < 4; ++i) w.tasks.push_back(Task("light" + std::to_string(i), 0, -1, {Work(1 * kMs), Timer(16 * kMs)}, "periodic"));
  PlacementCounter pc;
  pc.after = 300 * kMs;
  pc.first_big = 4;
  auto r = RunSchedSim(p, w, Options(Policy::kHmp, GovernorKind::kOndemand), 1, nullptr, &pc);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(pc.runs[0].first, 0);  // the hog never starts on LITTLE after warm-up
  EXPECT_GE(pc.last_cpu[0], 4);    // and ends on big
  for (int i = 1; i <= 4; ++i) {
    EXPECT_GE(pc.runs[i].first, 9 * pc.runs[i].second) << i;  // light tasks stay LITTLE
  }
  EXPECT_GT(r->scalars.at("cluster.a57.utilization").value, 0.45);
}

model::Result RunHogs(int n) {
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w;
  w.duration_ns = 2 * sim::kSec;
  for (int i = 0; i < n; ++i) w.tasks.push_back(Task("hog" + std::to_string(i), 0, -1, {Runtime(100 * kMs)}));
  auto r = RunSchedSim(p, w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : model::Result{};
}

// Four hogs: find_idlest_group() alternates clusters by power-scaled load
// (cpu_power A57 1456, A53 591), so each hog gets a CPU of its own.
TEST(SchedModels, CfsSpreadsHogsOverBothClusters) {
  model::Result r = RunHogs(4);
  EXPECT_NEAR(r.scalars.at("cluster.a57.utilization").value, 1.0, 0.01);
  EXPECT_NEAR(r.scalars.at("cluster.a53.utilization").value, 0.5, 0.01);
  for (int i = 0; i < 4; ++i) EXPECT_GT(r.scalars.at("task.hog" + std::to_string(i) + ".cpu_time_ms").value, 1980);
}

// Six hogs on six CPUs: 3.10's cpu_power scaling (no task fit) keeps three on
// the two A57s. From the idle A53 the DIE balancer sees its own group at
// 3 x 1024 x 1024 / (4 x 591) = 1330 and the A57 group at
// 3 x 1024 x 1024 / (2 x 1456) = 1080, so find_busiest_group() says balanced.
TEST(SchedModels, CfsCpuPowerKeepsThreeHogsOnTwoBigCpus) {
  model::Result r = RunHogs(6);
  EXPECT_NEAR(r.scalars.at("cluster.a57.utilization").value, 1.0, 0.01);
  EXPECT_NEAR(r.scalars.at("cluster.a53.utilization").value, 0.75, 0.01);
  // Five busy CPUs, each first leaving cluster-sleep (exit 1.2 ms).
  EXPECT_NEAR(r.scalars.at("cpu_time_ms").value, 5 * (2000.0 - 1.2), 1e-6);
}

}  // namespace
}  // namespace kreplay::sched
