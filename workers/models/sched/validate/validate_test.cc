#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "services/workload/rtapp.h"
#include "workers/models/sched/family.h"
#include "workers/models/sched/validate/cgroup.h"
#include "workers/models/sched/validate/compare.h"
#include "workers/models/sched/validate/host_logs.h"
#include "workers/models/sched/validate/model_run.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/validate/scenarios.h"

namespace kreplay::sched::validate {
namespace {
namespace fs = std::filesystem;

// ------------------------------------------------------------------ parsers

constexpr char kLog[] =
    "# Policy : SCHED_OTHER priority : 0\n"
    "#idx     perf      run   period           start             end          rel_st      slack c_duration   c_period     wu_lat\n"
    "   1    33333      524    13870     10805278158     10805292028             410       9354       1000      10000       3986\n"
    "   1    33333      523     6075     10805292042     10805298118           14294      -5475       1000      10000         75\n";

TEST(RtAppLog, ParsesEveryColumn) {
  auto lines = ParseRtAppLog(kLog, "t.log");
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  ASSERT_EQ(lines->size(), 2u);
  const RtAppLogLine& l = (*lines)[1];
  EXPECT_EQ(l.idx, 1);
  EXPECT_EQ(l.perf, 33333);
  EXPECT_EQ(l.run_us, 523);
  EXPECT_EQ(l.period_us, 6075);
  EXPECT_EQ(l.start_us, 10805292042);
  EXPECT_EQ(l.end_us, 10805298118);
  EXPECT_EQ(l.rel_st_us, 14294);
  EXPECT_EQ(l.slack_us, -5475);
  EXPECT_EQ(l.c_duration_us, 1000);
  EXPECT_EQ(l.c_period_us, 10000);
  EXPECT_EQ(l.wu_lat_us, 75);
}

TEST(RtAppLog, RejectsShortLinesAndForeignHeaders) {
  auto bad = ParseRtAppLog("# x\n 1 2 3\n", "t.log");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.log:2: expected 11 columns, got 3"), std::string::npos)
      << bad.status().message();
  auto word = ParseRtAppLog(" 1 2 3 4 5 6 7 x 9 10 11\n", "t.log");
  ASSERT_FALSE(word.ok());
  EXPECT_NE(word.status().message().find("column 8"), std::string::npos) << word.status().message();
  auto header = ParseRtAppLog("#idx perf run period start end rel_st slack c_duration c_period wakeup\n", "t.log");
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.status().message().find("wakeup"), std::string::npos);
  auto empty = ParseRtAppLog("", "t.log");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Schedstat, ParsesAndSubtracts) {
  auto a = ParseSchedstat("1949713 2858379 6\n", "s");
  auto b = ParseSchedstat("2949713 2868379 9", "s");
  ASSERT_TRUE(a.ok() && b.ok());
  Schedstat d = Delta(*a, *b);
  EXPECT_EQ(d.run_ns, 1000000u);
  EXPECT_EQ(d.wait_ns, 10000u);
  EXPECT_EQ(d.timeslices, 3u);
  EXPECT_FALSE(ParseSchedstat("1 2\n", "s").ok());
  EXPECT_FALSE(ParseSchedstat("1 -2 3\n", "s").ok());
}

TEST(ProcStat, BusyExcludesIdleAndIowait) {
  const char* stat =
      "cpu  10 0 10 100 5 0 0 0 0 0\n"
      "cpu0 1 2 3 40 5 6 7 8 0 0\n"
      "cpu1 10 0 20 70 0 0 0 0 0 0\n";
  auto c0 = ParseProcStatCpu(stat, 0);
  ASSERT_TRUE(c0.ok());
  EXPECT_EQ(c0->busy, 1u + 2 + 3 + 6 + 7 + 8);
  EXPECT_EQ(c0->total, 1u + 2 + 3 + 40 + 5 + 6 + 7 + 8);
  auto c1 = ParseProcStatCpu(stat, 1);
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->busy, 30u);
  EXPECT_EQ(ParseProcStatCpu(stat, 2).status().code(), StatusCode::kNotFound);
}

// ------------------------------------------------------------------ cgroups

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "kreplay-validate-test-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Put(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}
std::string Get(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Cgroup, FindsV1BeforeV2AndExplainsNone) {
  TempDir root;
  auto none = FindCpuController(root.path());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("cpu.shares"), std::string::npos);

  // A unified hierarchy without the cpu controller (this project's dev host) is not usable.
  Put(root.path() + "/unified/cgroup.controllers", "hugetlb\n");
  EXPECT_FALSE(FindCpuController(root.path()).ok());
  Put(root.path() + "/unified/cgroup.controllers", "cpuset cpu io memory\n");
  auto v2 = FindCpuController(root.path());
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, CgroupVersion::kV2);
  EXPECT_EQ(v2->mount, root.path() + "/unified");

  Put(root.path() + "/cpu,cpuacct/cpu.shares", "1024\n");
  Put(root.path() + "/cpu,cpuacct/tasks", "");
  auto v1 = FindCpuController(root.path());
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version, CgroupVersion::kV1);
  EXPECT_EQ(v1->mount, root.path() + "/cpu,cpuacct");
}

TEST(Cgroup, WeightsConvertAsTheKernelDocuments) {
  EXPECT_EQ(WeightValue(CgroupVersion::kV1, 512), 512u);
  EXPECT_EQ(WeightValue(CgroupVersion::kV1, 1), 2u);
  EXPECT_EQ(WeightValue(CgroupVersion::kV2, 1024), 100u);
  EXPECT_EQ(WeightValue(CgroupVersion::kV2, 512), 50u);
  EXPECT_EQ(WeightValue(CgroupVersion::kV2, 2), 1u);
  EXPECT_EQ(WeightValue(CgroupVersion::kV2, 1u << 30), 10000u);
  EXPECT_STREQ(WeightFile(CgroupVersion::kV2), "cpu.weight");
  EXPECT_STREQ(ThreadsFile(CgroupVersion::kV1), "tasks");
}

TEST(Cgroup, TreeWritesWeightsMovesThreadsAndCleansUp) {
  TempDir root;
  const std::string mount = root.path() + "/cpu";
  Put(mount + "/cpu.shares", "1024\n");
  Put(mount + "/tasks", "");
  CpuController c{CgroupVersion::kV1, mount};
  {
    auto tree = CgroupTree::Create(c, "kreplay-validate-1-x");
    ASSERT_TRUE(tree.ok()) << tree.status().message();
    EXPECT_EQ((*tree)->top(), mount + "/kreplay-validate-1-x");
    EXPECT_EQ(CgroupTree::Create(c, "kreplay-validate-1-x").status().code(), StatusCode::kAlreadyExists);
    ASSERT_TRUE((*tree)->AddGroup("A", 1024).ok());
    ASSERT_TRUE((*tree)->AddGroup("B", 512).ok());
    EXPECT_EQ(Get(mount + "/kreplay-validate-1-x/B/cpu.shares"), "512");
    ASSERT_TRUE((*tree)->MoveThread("B", 4242).ok());
    EXPECT_EQ(Get(mount + "/kreplay-validate-1-x/B/tasks"), "4242");
    EXPECT_FALSE(CgroupTree::Create(c, "a/b").ok());
  }
  // Gone, and the thread left inside went back to the root.
  EXPECT_FALSE(fs::exists(mount + "/kreplay-validate-1-x"));
  EXPECT_EQ(Get(mount + "/tasks"), "4242");
}

TEST(Cgroup, V2TreeIsThreadedWithCpuEnabled) {
  TempDir root;
  CpuController c{CgroupVersion::kV2, root.path()};
  {
    auto tree = CgroupTree::Create(c, "t");
    ASSERT_TRUE(tree.ok()) << tree.status().message();
    EXPECT_EQ(Get(root.path() + "/t/cgroup.subtree_control"), "+cpu");
    ASSERT_TRUE((*tree)->AddGroup("A", 512).ok());
    EXPECT_EQ(Get(root.path() + "/t/A/cgroup.type"), "threaded");
    EXPECT_EQ(Get(root.path() + "/t/A/cpu.weight"), "50");
    ASSERT_TRUE((*tree)->AdoptProcess(77).ok());
    ASSERT_TRUE((*tree)->MoveThread("A", 78).ok());
    EXPECT_EQ(Get(root.path() + "/t/A/cgroup.threads"), "78");
  }
  EXPECT_FALSE(fs::exists(root.path() + "/t"));
  EXPECT_EQ(Get(root.path() + "/cgroup.procs"), "77");
}

// ------------------------------------------------------------------ gating

Figure Fig(Gate g, std::optional<double> kernel, std::optional<double> model, double floor = 0) {
  Figure f;
  f.name = "f";
  f.unit = g == Gate::kShare ? "%" : "us";
  f.gate = g;
  f.kernel = kernel;
  f.model = model;
  f.floor = floor;
  return f;
}

TEST(Gating, SharesWithinTwoPointsPass) {
  std::vector<Figure> f = {Fig(Gate::kShare, 30.0, 31.9), Fig(Gate::kShare, 30.0, 27.9),
                           Fig(Gate::kShare, 30.0, 32.0)};
  Evaluate(f, {});
  EXPECT_EQ(f[0].verdict, Verdict::kPass);
  EXPECT_NEAR(*f[0].error, 1.9, 1e-9);
  EXPECT_EQ(f[1].verdict, Verdict::kFail);
  EXPECT_EQ(f[2].verdict, Verdict::kPass);  // exactly the tolerance
}

TEST(Gating, LatencyIsReportOnlyUnlessStrict) {
  std::vector<Figure> f = {Fig(Gate::kLatency, 100.0, 900.0, 250), Fig(Gate::kLatency, 100.0, 300.0, 250),
                           Fig(Gate::kLatency, 4000.0, 5900.0, 1000), Fig(Gate::kInfo, 1.0, 50.0)};
  Evaluate(f, {});
  for (const auto& x : f) EXPECT_EQ(x.verdict, Verdict::kReportOnly);
  GateOptions strict;
  strict.strict = true;
  Evaluate(f, strict);
  EXPECT_EQ(f[0].verdict, Verdict::kFail);  // 800 us off, tolerance max(250, 50) = 250
  EXPECT_EQ(f[1].verdict, Verdict::kPass);  // 200 us off
  EXPECT_EQ(f[2].verdict, Verdict::kPass);  // 1900 us off, tolerance max(1000, 2000)
  EXPECT_DOUBLE_EQ(*f[2].tolerance, 2000.0);
  EXPECT_EQ(f[3].verdict, Verdict::kReportOnly);
}

TEST(Gating, MissingValuesNeitherPassNorFail) {
  Figure nm = Fig(Gate::kShare, 66.0, std::nullopt);
  nm.model_note = "not modelled yet: task groups";
  std::vector<Figure> f = {nm, Fig(Gate::kShare, std::nullopt, 10.0), Fig(Gate::kShare, 50.0, 50.5)};
  Evaluate(f, {});
  EXPECT_EQ(f[0].verdict, Verdict::kNotModelled);
  EXPECT_EQ(f[1].verdict, Verdict::kNoData);
  ScenarioReport r{"s", "sum", {}, false, "", f};
  ScenarioReport skipped{"c", "sum", {}, true, "no controller", {}};
  Tally t = Count({r, skipped});
  EXPECT_EQ(t.passed, 1);
  EXPECT_EQ(t.failed, 0);
  EXPECT_EQ(t.not_modelled, 1);
  EXPECT_EQ(t.no_data, 1);
  EXPECT_EQ(t.skipped, 1);
  const std::string table = FormatTable(r);
  EXPECT_NE(table.find("not modelled yet: task groups"), std::string::npos) << table;
  EXPECT_NE(table.find("figure"), std::string::npos);
  EXPECT_NE(table.find("+0.50 pp"), std::string::npos) << table;
  auto j = nlohmann::json::parse(ToJson(RunInfo{"6.18", "sched.cfs", "", {1}, 4, false, ""}, {r, skipped}));
  EXPECT_EQ(j["scenarios"][0]["figures"][2]["verdict"], "pass");
  EXPECT_TRUE(j["scenarios"][0]["figures"][0]["model"].is_null());
  EXPECT_EQ(j["tally"]["passed"], 1);
}

TEST(Gating, NearestRankPercentile) {
  EXPECT_FALSE(Percentile({}, 0.5).has_value());
  EXPECT_EQ(*Percentile({5, 1, 3, 2, 4}, 0.5), 3);
  EXPECT_EQ(*Percentile({5, 1, 3, 2, 4}, 0.99), 5);
  EXPECT_EQ(*Percentile({5, 1, 3, 2, 4}, 0.0), 1);
  std::vector<double> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i + 1;
  EXPECT_EQ(*Percentile(v, 0.99), 99);
}

// ------------------------------------------------------------------ scenarios

const Scenario& Named(const std::string& name) {
  static const std::vector<Scenario> all = BuiltinScenarios();
  for (const auto& s : all)
    if (s.name == name) return s;
  ADD_FAILURE() << name;
  return all.front();
}

TEST(Scenarios, ModelCopyParsesWithTheRtAppKindsParser) {
  for (const auto& s : BuiltinScenarios()) {
    const std::string json = ScenarioJson(s, {3, 5}, 4, "/tmp/logs", s.name);
    // rt-app's own copy keeps host CPUs and the mutexes around wait/signal.
    auto host = nlohmann::ordered_json::parse(json);
    EXPECT_EQ(host["global"]["duration"], 4);
    EXPECT_EQ(host["global"]["logdir"], "/tmp/logs");
    auto model_json = ModelJson(json, {3, 5}, &s);
    ASSERT_TRUE(model_json.ok()) << model_json.status().message();
    EXPECT_EQ(host["global"].contains("kreplay_taskgroups"), false);  // the host's cgroups are validate's
    EXPECT_EQ(model_json->find("\"lock"), std::string::npos) << s.name;
    auto w = workload::ParseRtApp(*model_json, s.name);
    ASSERT_TRUE(w.ok()) << s.name << ": " << w.status().message();
    ASSERT_EQ(w->tasks.size(), s.tasks.size());
    EXPECT_EQ(w->duration_ns, 4'000'000'000);
    for (size_t i = 0; i < s.tasks.size(); ++i) {
      EXPECT_EQ(w->tasks[i].name, s.tasks[i].name);
      EXPECT_EQ(w->tasks[i].nice, s.tasks[i].nice);
      EXPECT_EQ(w->tasks[i].group, s.tasks[i].group.empty() ? "" : "/" + s.tasks[i].group);
      for (const auto& g : w->groups) {
        if (g.path == w->tasks[i].group) EXPECT_EQ(g.shares, s.tasks[i].group_shares);
      }
      // The model's platform numbers CPUs as the host: 3 and 5 stay.
      EXPECT_EQ(w->tasks[i].cpu_mask, uint64_t{1} << (s.tasks[i].cpu_index % 2 ? 5 : 3)) << s.tasks[i].name;
      EXPECT_EQ(host["tasks"][s.tasks[i].name]["cpus"][0], s.tasks[i].cpu_index % 2 ? 5 : 3);
    }
  }
  const Scenario& chain = Named("wakeup-chain");
  auto w = workload::ParseRtApp(*ModelJson(ScenarioJson(chain, {1}, 3, "/l", "c"), {1}), "c");
  ASSERT_TRUE(w.ok());
  // chain_1: wait on c1, run, signal c2.
  const auto& p = w->tasks[1].phases;
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].op, workload::PhaseOp::kWait);
  EXPECT_EQ(p[1].op, workload::PhaseOp::kRuntime);
  EXPECT_EQ(p[1].a, 300'000);
  EXPECT_EQ(p[2].op, workload::PhaseOp::kSignal);
  EXPECT_FALSE(ModelJson(ScenarioJson(chain, {1}, 3, "/l", "c"), {2}).ok());  // CPU 1 not validated
}

TEST(Scenarios, NiceOffByOneMovesEveryNonZeroNice) {
  workload::SchedWorkload w;
  for (int n : {-3, 0, 5, 19}) {
    workload::SchedTaskSpec t;
    t.nice = n;
    w.tasks.push_back(t);
  }
  InjectNiceOffByOne(w);
  EXPECT_EQ(w.tasks[0].nice, -2);
  EXPECT_EQ(w.tasks[1].nice, 0);
  EXPECT_EQ(w.tasks[2].nice, 6);
  EXPECT_EQ(w.tasks[3].nice, 19);  // no weaker level exists
}

TEST(Scenarios, FiguresFromHostAndModel) {
  const Scenario& s = Named("nice-shares");
  HostData h;
  h.tasks["nice_m3"].delta.run_ns = 600;
  h.tasks["nice_0"].delta.run_ns = 300;
  h.tasks["nice_5"].delta.run_ns = 100;
  model::Result m;
  m.Set("task.nice_m3.cpu_time_ms", 59, "ms");
  m.Set("task.nice_0.cpu_time_ms", 31, "ms");
  m.Set("task.nice_5.cpu_time_ms", 10, "ms");
  auto f = BuildFigures(s, &h, &m, "");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(*f[0].kernel, 60.0);
  EXPECT_DOUBLE_EQ(*f[0].model, 59.0);
  EXPECT_NE(f[2].name.find("nice 5"), std::string::npos);

  // Task groups: without a model result (sched.cfs), "not modelled yet";
  // with one (sched.eevdf), shares per task and per group.
  const Scenario& g = Named("cgroup-shares");
  HostData gh;
  gh.tasks["grpA_0"].delta.run_ns = 2;
  gh.tasks["grpB_0"].delta.run_ns = 1;
  gh.tasks["grpB_1"].delta.run_ns = 1;
  auto gf = BuildFigures(g, &gh, nullptr, "");
  ASSERT_EQ(gf.size(), 5u);  // three tasks, two groups
  EXPECT_EQ(gf[4].name, "CPU share group B (shares 512)");
  EXPECT_DOUBLE_EQ(*gf[4].kernel, 50.0);
  for (const auto& x : gf) {
    EXPECT_FALSE(x.model.has_value());
    EXPECT_EQ(x.model_note, "not modelled yet: task groups");
  }
  model::Result gm;
  gm.Set("task.grpA_0.cpu_time_ms", 20, "ms");
  gm.Set("task.grpB_0.cpu_time_ms", 10, "ms");
  gm.Set("task.grpB_1.cpu_time_ms", 10, "ms");
  auto gmf = BuildFigures(g, &gh, &gm, "");
  ASSERT_EQ(gmf.size(), 5u);
  EXPECT_DOUBLE_EQ(*gmf[0].model, 50.0);
  EXPECT_DOUBLE_EQ(*gmf[4].model, 50.0);
  EXPECT_TRUE(gmf[4].model_note.empty());
  EXPECT_TRUE(sched::ModelsTaskGroups("sched.eevdf"));
  EXPECT_FALSE(sched::ModelsTaskGroups("sched.cfs"));
}

TEST(Scenarios, ChainLatencyPairsEachWakeWithTheSignalBeforeIt) {
  const Scenario& s = Named("wakeup-chain");
  HostData h;
  auto line = [](int64_t start, int64_t run) {
    RtAppLogLine l;
    l.start_us = start;
    l.run_us = run;
    return l;
  };
  // Head: bursts at 0 and 10000 (300 us each) then its timer phase.
  auto& head = h.tasks["chain_0"];
  head.lines = {line(0, 300), line(300, 0), line(10000, 300), line(10300, 0)};
  head.phase_of_line = {0, 1, 0, 1};
  // Link 1 wakes 20 us and 50 us after the head signalled.
  auto& l1 = h.tasks["chain_1"];
  l1.lines = {line(0, 0), line(320, 300), line(620, 0), line(10350, 300)};
  l1.phase_of_line = {0, 1, 0, 1};
  // Link 2 wakes 10 us after link 1 signalled (620), once.
  auto& l2 = h.tasks["chain_2"];
  l2.lines = {line(0, 0), line(630, 300)};
  l2.phase_of_line = {0, 1};
  h.tasks["hog_0"].delta.run_ns = 1;
  auto f = BuildFigures(s, &h, nullptr, "model not run");
  const Figure* p50 = nullptr;
  const Figure* p99 = nullptr;
  for (const auto& x : f) {
    if (x.name == "chain wake-up latency p50") p50 = &x;
    if (x.name == "chain wake-up latency p99") p99 = &x;
  }
  ASSERT_TRUE(p50 && p99);
  EXPECT_DOUBLE_EQ(*p50->kernel, 20.0);  // samples 20, 50, 10
  EXPECT_DOUBLE_EQ(*p99->kernel, 50.0);
  EXPECT_FALSE(p50->model.has_value());
}

// ------------------------------------------------------------------ model side

TEST(ModelSide, KernelVersionChoosesTheModel) {
  family::Catalog catalog;
  ASSERT_TRUE(RegisterSchedFamily(catalog).ok());
  ASSERT_EQ(KernelVersion("6.18.44-fc-v1300"), std::make_pair(6, 18));
  EXPECT_FALSE(KernelVersion("x").has_value());
  auto old = ChooseModel("5.15.0-91-generic", catalog.models(), "");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->model, "sched.cfs");
  EXPECT_TRUE(old->note.empty());
  auto recent = ChooseModel("6.18.44", catalog.models(), "");
  ASSERT_TRUE(recent.ok());
  if (catalog.models().Find("sched.eevdf")) {
    EXPECT_EQ(recent->model, "sched.eevdf");
  } else {
    EXPECT_EQ(recent->model, "sched.cfs");
    EXPECT_NE(recent->note.find("sched.eevdf"), std::string::npos) << recent->note;
  }
  EXPECT_EQ(ChooseModel("6.18", catalog.models(), "sched.hmp")->model, "sched.hmp");
  EXPECT_EQ(ChooseModel("6.18", catalog.models(), "sched.nope").status().code(), StatusCode::kNotFound);
}

// The whole model path on the nice-shares scenario: shares follow the nice
// weights (sched_prio_to_weight: -3 1991, 0 1024, 5 335), and the injected
// fault moves them by more than the 2-point gate.
TEST(ModelSide, NiceSharesThroughTheFamilyAndExecutor) {
  family::Catalog catalog;
  ASSERT_TRUE(RegisterSchedFamily(catalog).ok());
  TempDir dir;
  const Scenario& s = Named("nice-shares");
  const std::string json = dir.path() + "/m.json";
  const std::string plat = dir.path() + "/p.yaml";
  Put(json, *ModelJson(ScenarioJson(s, {1}, 3, dir.path(), "x"), {1}));
  Put(plat, HostPlatformYaml(2, 2596148));  // a two-CPU host, tasks pinned to CPU 1
  ModelRunInput in;
  in.model = "sched.cfs";
  in.workload_json_path = json;
  in.platform_yaml_path = plat;
  in.params = {{"governor", std::string("performance")}, {"hz", int64_t{250}}, {"no_such_param", int64_t{1}}};
  auto r = RunModel(catalog, in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto f = BuildFigures(s, nullptr, &*r, "");
  const double total = 1991 + 1024 + 335;
  EXPECT_NEAR(*f[0].model, 100 * 1991 / total, 1.0);
  EXPECT_NEAR(*f[1].model, 100 * 1024 / total, 1.0);
  EXPECT_NEAR(*f[2].model, 100 * 335 / total, 1.0);

  in.nice_off_by_one = true;
  auto faulty = RunModel(catalog, in);
  ASSERT_TRUE(faulty.ok());
  auto ff = BuildFigures(s, nullptr, &*faulty, "");
  const double ftotal = 1586 + 1024 + 272;
  EXPECT_NEAR(*ff[0].model, 100 * 1586 / ftotal, 1.0);
  EXPECT_GT(std::fabs(*ff[0].model - *f[0].model), 2.0);

  Put(plat, "name: [");
  EXPECT_FALSE(RunModel(catalog, in).ok());
}

// The cgroup-shares scenario through sched.eevdf: group A (1024) against
// group B (512) on one CPU, B's two hogs equal (sched-design-CFS.rst group
// scheduling): 2/3, 1/6, 1/6.
TEST(ModelSide, CgroupSharesThroughSchedEevdf) {
  family::Catalog catalog;
  ASSERT_TRUE(RegisterSchedFamily(catalog).ok());
  if (!catalog.models().Find("sched.eevdf")) GTEST_SKIP() << "sched.eevdf not built";
  TempDir dir;
  const Scenario& s = Named("cgroup-shares");
  const std::string json = dir.path() + "/m.json";
  const std::string plat = dir.path() + "/p.yaml";
  Put(json, *ModelJson(ScenarioJson(s, {1}, 3, dir.path(), "x"), {1}, &s));
  Put(plat, HostPlatformYaml(2, 2596148));
  ModelRunInput in;
  in.model = "sched.eevdf";
  in.workload_json_path = json;
  in.platform_yaml_path = plat;
  in.params = {{"governor", std::string("performance")}, {"hz", int64_t{250}}};
  auto r = RunModel(catalog, in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto f = BuildFigures(s, nullptr, &*r, "");
  ASSERT_EQ(f.size(), 5u);
  EXPECT_NEAR(*f[0].model, 100.0 * 2 / 3, 1.0);
  EXPECT_NEAR(*f[1].model, 100.0 / 6, 1.0);
  EXPECT_NEAR(*f[2].model, 100.0 / 6, 1.0);
  EXPECT_NEAR(*f[4].model, 100.0 / 3, 1.0);
}

}  // namespace
}  // namespace kreplay::sched::validate
