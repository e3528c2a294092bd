#include "controller/spec/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <set>

#include "controller/spec/run_key.h"
#include "services/core/digest.h"
#include "services/core/strings.h"

namespace kreplay::spec {
namespace {

using ::testing::HasSubstr;

// Two fake models, so the tests do not depend on the real scheduler models.
model::Registry TestRegistry() {
  model::Registry reg;
  auto common_params = [] {
    std::vector<model::ParamSpec> p;
    p.push_back({"governor", model::ParamType::kEnum, "", std::string("ondemand"), {}, {},
                 {"ondemand", "performance", "schedutil", "powersave"}, "DVFS governor"});
    p.push_back({"sched_latency", model::ParamType::kInt, "ns", int64_t{6000000}, 100000.0, 1e9, {}, "latency"});
    return p;
  };
  model::ModelInfo cfs;
  cfs.name = "test.cfs";
  cfs.family = "sched";
  cfs.version = "3";
  cfs.params = common_params();
  cfs.metrics = {{"energy", "J", model::Better::kLower, ""},
                 {"makespan_ms", "ms", model::Better::kLower, ""},
                 {"wakeup_latency_p99_us", "us", model::Better::kLower, ""}};
  cfs.run = [](const model::RunInput&) -> StatusOr<model::Result> { return model::Result{}; };
  model::ModelInfo hmp = cfs;
  hmp.name = "test.hmp";
  hmp.version = "7";
  hmp.params.push_back({"hmp_up_threshold", model::ParamType::kInt, "", int64_t{700}, 0.0, 1024.0, {}, "up"});
  hmp.metrics.push_back({"hmp_migrations", "", model::Better::kNone, ""});
  hmp.metrics.push_back({"cluster.<name>.utilization", "ratio", model::Better::kNone, ""});
  EXPECT_TRUE(reg.Register(std::move(cfs)).ok());
  EXPECT_TRUE(reg.Register(std::move(hmp)).ok());
  return reg;
}

constexpr const char* kGood = R"(study: biglittle-cfs-vs-hmp
description: "CFS against HMP"
seeds: 5
base_seed: 10
platforms: [juno-r0, tc2]
workloads:
  - name: mixed
    synthetic:
      duration: 1s
      groups:
        - kind: periodic
          count: 2
          period: 16ms
          run: 3ms
        - kind: interactive
          run: {dist: exponential, mean: 2ms}
          sleep: {dist: exponential, mean: 20ms}
  - name: video
    rtapp: video.json
variants:
  - name: cfs
    model: test.cfs
  - name: hmp
    model: test.hmp
    params: { hmp_up_threshold: 600, sched_latency: 4ms }
grid:
  governor: [performance, schedutil]
reference: cfs
metrics: [energy, makespan_ms]
)";

StatusOr<StudySpec> Parse(const std::string& yaml, const model::Registry& reg) {
  return ParseStudySpec(yaml, "study.yaml", KREPLAY_SPEC_TESTDATA, reg);
}

TEST(SpecTest, ParsesAndExpandsAGoodSpec) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "biglittle-cfs-vs-hmp");
  EXPECT_EQ(s->description, "CFS against HMP");
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{10, 11, 12, 13, 14}));
  ASSERT_EQ(s->platforms.size(), 2u);
  EXPECT_EQ(s->platforms[0].name, "juno-r0");
  EXPECT_EQ(s->platforms[0].source, "builtin:juno-r0");
  EXPECT_EQ(s->platforms[0].digest, Sha256Hex(CanonicalPlatformText(s->platforms[0].platform)));
  EXPECT_NE(s->platforms[0].digest, s->platforms[1].digest);
  ASSERT_EQ(s->workloads.size(), 2u);
  EXPECT_EQ(s->workloads[0].kind, WorkloadEntry::Kind::kSynthetic);
  EXPECT_EQ(s->workloads[0].synth.groups.size(), 2u);
  EXPECT_EQ(s->workloads[1].kind, WorkloadEntry::Kind::kRtApp);
  EXPECT_EQ(s->workloads[1].rtapp_path, std::string(KREPLAY_SPEC_TESTDATA) + "/video.json");
  EXPECT_EQ(s->workloads[1].rtapp.tasks.size(), 2u);

  // Grid: each base variant at each governor, first axis outermost.
  ASSERT_EQ(s->variants.size(), 4u);
  EXPECT_EQ(s->variants[0].name, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[1].name, "cfs[governor=schedutil]");
  EXPECT_EQ(s->variants[3].name, "hmp[governor=schedutil]");
  EXPECT_EQ(s->variants[3].base_name, "hmp");
  EXPECT_EQ(s->variants[3].grid_point, "governor=schedutil");
  EXPECT_EQ(s->variants[3].model, "test.hmp");
  EXPECT_EQ(s->variants[3].model_version, "7");
  // Resolved: given values, grid values, durations in ns, defaults filled in.
  const auto& p = s->variants[3].params;
  EXPECT_EQ(p.Str("governor"), "schedutil");
  EXPECT_EQ(p.Int("hmp_up_threshold"), 600);
  EXPECT_EQ(p.Int("sched_latency"), 4000000);
  EXPECT_EQ(s->variants[0].params.Int("sched_latency"), 6000000);
  // Compared with the reference at the same grid point.
  EXPECT_EQ(s->variants[0].compare_to, "");
  EXPECT_EQ(s->variants[2].compare_to, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[3].compare_to, "cfs[governor=schedutil]");
  EXPECT_EQ(s->metrics, (std::vector<std::string>{"energy", "makespan_ms"}));
  EXPECT_EQ(s->yaml, kGood);

  auto runs = ExpandRuns(*s);
  ASSERT_EQ(runs.size(), 4u * 2 * 2 * 5);
  // Canonical order: seed fastest, then workload, platform, variant.
  EXPECT_EQ(runs[0].seed, 10u);
  EXPECT_EQ(runs[1].seed, 11u);
  EXPECT_EQ(runs[5].workload, 1u);
  EXPECT_EQ(runs[10].platform, 1u);
  EXPECT_EQ(runs[20].variant, 1u);
  EXPECT_EQ(runs.back().variant, 3u);
  EXPECT_EQ(runs.back().model, "test.hmp");
  EXPECT_EQ(runs.back().params.Canonical(), p.Canonical());
}

TEST(SpecTest, DefaultsReferenceAndMetrics) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: [5, 2]
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.hmp}
  - {name: b, model: test.cfs, params: {governor: powersave}}
)", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{5, 2}));  // list order kept
  EXPECT_EQ(s->reference, "a");
  EXPECT_EQ(s->variants[1].compare_to, "a");
  // Default metrics: the first model's, restricted to those every model has.
  EXPECT_EQ(s->metrics, (std::vector<std::string>{"energy", "makespan_ms", "wakeup_latency_p99_us"}));
}

TEST(SpecTest, CollectsEveryErrorWithLineAndField) {
  auto reg = TestRegistry();
  const std::string yaml = R"(study: Bad Name
seed: 3
platforms: [juno-r1, tc2]
workloads:
  - name: w
    rtapp: missing.json
    extra: 1
variants:
  - name: a
    model: test.cfz
  - name: b
    model: test.hmp
    params: {hmp_up_threshold: 2000, governr: performance, governor: turbo}
metrics: [energy, hmp_migrations]
)";
  auto s = Parse(yaml, reg);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  const std::string m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:1: study: 'Bad Name' must match [a-z0-9._-]+"));
  EXPECT_THAT(m, HasSubstr("study.yaml:2: seed: unknown field (did you mean 'seeds'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:1: seeds: required field missing"));
  EXPECT_THAT(m, HasSubstr("study.yaml:3: platforms[0]: unknown platform 'juno-r1' (did you mean 'juno-r0'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:7: workloads[0].extra: unknown field"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: variants[0].model: unknown model 'test.cfz' (did you mean 'test.cfs'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.hmp_up_threshold: 2000 is out of bounds [0, 1024]"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.governr: unknown parameter (did you mean 'governor'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.governor: 'turbo' is not one of: ondemand, "
                           "performance, schedutil, powersave"));
  // The rt-app file is missing; the error names the spec field and the file.
  EXPECT_THAT(m, HasSubstr("study.yaml:6: workloads[0].rtapp: "));
  EXPECT_THAT(m, HasSubstr("missing.json: cannot open file"));
  // Every line has the file:line: field: shape.
  for (auto line : Split(m, '\n')) EXPECT_TRUE(std::string(line).rfind("study.yaml:", 0) == 0) << line;
}

TEST(SpecTest, MetricMustBeDeclaredByEveryModel) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.hmp}
metrics: [energy, hmp_migrations, energy]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:8: metrics[1]: 'hmp_migrations' is not a metric of model test.cfs (only of "
                        "test.hmp; every variant's model must declare it)"));
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:8: metrics[2]: duplicate metric 'energy'"));
}

TEST(SpecTest, MetricPlaceholders) {
  auto reg = TestRegistry();
  const std::string head = R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: b, model: test.hmp}]
)";
  auto ok = Parse(head + "metrics: [cluster.a15.utilization]\n", reg);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->metrics, (std::vector<std::string>{"cluster.a15.utilization"}));
  for (const char* bad : {"cluster.utilization", "cluster..utilization", "cluster.a15.x.utilization"}) {
    auto s = Parse(head + "metrics: [\"" + bad + "\"]\n", reg);
    EXPECT_FALSE(s.ok()) << bad;
  }
  // Defaults never include a pattern.
  auto def = Parse(head, reg);
  ASSERT_TRUE(def.ok());
  for (const auto& m : def->metrics) EXPECT_EQ(m.find('<'), std::string::npos) << m;
}

TEST(SpecTest, UnknownParameterNamesTheModelThatHasIt) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs, params: {hmp_up_threshold: 600}}]
metrics: [energy, wakeup_p99]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:5: variants[0].params.hmp_up_threshold: unknown parameter "
                                              "(a parameter of model test.hmp) (known: governor, sched_latency)"));
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:6: metrics[1]: 'wakeup_p99' is not a metric of model "
                                              "test.cfs (declared: energy, makespan_ms, wakeup_latency_p99_us)"));
}

TEST(SpecTest, SeedRules) {
  auto reg = TestRegistry();
  const std::string rest = R"(
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs}]
)";
  auto dup = Parse("study: s\nseeds: [1, 2, 1]\nbase_seed: 4" + rest, reg);
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("study.yaml:2: seeds[2]: duplicate seed 1"));
  EXPECT_THAT(dup.status().message(), HasSubstr("study.yaml:3: base_seed: only allowed when seeds is a count"));
  auto zero = Parse("study: s\nseeds: 0" + rest, reg);
  EXPECT_THAT(zero.status().message(), HasSubstr("study.yaml:2: seeds: count must be in [1, 100000]"));
  auto neg = Parse("study: s\nseeds: [-1]" + rest, reg);
  EXPECT_THAT(neg.status().message(), HasSubstr("seeds[0]: expected a non-negative integer, got '-1'"));
  auto def = Parse("study: s\nseeds: 3" + rest, reg);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->seeds, (std::vector<uint64_t>{1, 2, 3}));  // base_seed defaults to 1
}

TEST(SpecTest, QuotedScalarsStayStrings) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.hmp, params: {hmp_up_threshold: "600"}}]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:5: variants[0].params.hmp_up_threshold: expected int, got '600'"));
}

TEST(SpecTest, GridErrors) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.hmp, params: {governor: performance}}
grid:
  hmp_up_threshold: [500, 600]
  governor: [performance, performance]
)", reg);
  ASSERT_FALSE(s.ok());
  const std::string m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:9: grid.hmp_up_threshold: not a parameter of model test.cfs (variant 'a')"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: grid.governor[1]: duplicate value 'performance'"));

  auto conflict = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: b, model: test.hmp, params: {governor: performance}}
grid:
  governor: [performance, powersave, turbo]
)", reg);
  ASSERT_FALSE(conflict.ok());
  EXPECT_THAT(conflict.status().message(),
              HasSubstr("study.yaml:6: variants[0].params.governor: also set by grid.governor (line 8)"));
}

TEST(SpecTest, GridValueErrorsNameTheGrid) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: b, model: test.hmp}]
grid:
  governor: [performance, turbo]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:7: grid.governor: 'turbo' is not one of"));
}

TEST(SpecTest, ReferenceRules) {
  auto reg = TestRegistry();
  const std::string head = R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs}, {name: b, model: test.hmp}]
grid: {governor: [performance, schedutil]}
)";
  // One expanded name: every other variant compares with it.
  auto s = Parse(head + "reference: b[governor=schedutil]\n", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (const auto& v : s->variants)
    EXPECT_EQ(v.compare_to, v.name == "b[governor=schedutil]" ? "" : "b[governor=schedutil]") << v.name;
  auto bad = Parse(head + "reference: c\n", reg);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("study.yaml:7: reference: unknown variant 'c'"));
}

TEST(SpecTest, IdenticalVariantsAreRejected) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.cfs, params: {governor: ondemand}}
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:7: variants[1]: 'b' has the same model and parameters as 'a'"));
}

TEST(SpecTest, SyntaxAndShapeErrors) {
  auto reg = TestRegistry();
  auto syn = Parse("study: s\nseeds: [1, 2\n", reg);
  ASSERT_FALSE(syn.ok());
  EXPECT_THAT(syn.status().message(), HasSubstr("study.yaml:"));
  EXPECT_THAT(syn.status().message(), HasSubstr("YAML syntax error"));
  auto list = Parse("- a\n- b\n", reg);
  EXPECT_THAT(list.status().message(), HasSubstr("study.yaml:1: (document): expected a mapping"));
  auto empty = Parse("", reg);
  EXPECT_FALSE(empty.ok());
}

TEST(SpecTest, SyntheticErrorsKeepTheirLine) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads:
  - name: w
    synthetic:
      duration: 1s
      groups:
        - kind: sporadic
          run: 1ms
variants: [{name: a, model: test.cfs}]
)", reg);
  ASSERT_FALSE(s.ok());
  // The synthetic parser reports line 9 and its own field path.
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:9: workloads[0].synthetic.groups[0].kind"));
}

TEST(SpecTest, LoadsFilesRelativeToTheSpec) {
  auto reg = TestRegistry();
  auto s = LoadStudySpec(std::string(KREPLAY_SPEC_TESTDATA) + "/study.yaml", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->platforms.size(), 1u);
  EXPECT_EQ(s->platforms[0].name, "toy-soc");
  EXPECT_EQ(s->platforms[0].source, std::string(KREPLAY_SPEC_TESTDATA) + "/platforms/toy.yaml");
  ASSERT_EQ(s->platforms[0].platform.clusters.size(), 2u);
  EXPECT_EQ(s->platforms[0].platform.clusters[1].opps[0].cpu_power, 600);
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{3, 1, 2}));
  EXPECT_EQ(s->workloads[0].rtapp.tasks.size(), 2u);

  auto missing = LoadStudySpec("/nonexistent/study.yaml", reg);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(SpecTest, BuildWorkloadPerSeed) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto a1 = BuildWorkload(*s, 0, 1), a1b = BuildWorkload(*s, 0, 1), a2 = BuildWorkload(*s, 0, 2);
  ASSERT_TRUE(a1.ok() && a1b.ok() && a2.ok());
  EXPECT_EQ(*a1, *a1b);
  EXPECT_EQ(WorkloadDigest(*a1), WorkloadDigest(*a1b));
  // Interactive bursts are drawn from the seed.
  EXPECT_NE(WorkloadDigest(*a1), WorkloadDigest(*a2));
  auto r1 = BuildWorkload(*s, 1, 1), r2 = BuildWorkload(*s, 1, 2);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(WorkloadDigest(*r1), WorkloadDigest(*r2));  // rt-app: the same for every seed
  EXPECT_EQ(BuildWorkload(*s, 2, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(SpecTest, WorkloadTransport) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->workloads[0].transport, WorkloadEntry::Transport::kGenerate);  // synthetic default
  EXPECT_EQ(s->workloads[1].transport, WorkloadEntry::Transport::kTrace);     // rt-app: always a trace
  // The kept YAML re-parses to the same generator spec, so a worker generates
  // the same workload as the controller.
  auto again = workload::ParseSynthSpec(YAML::Load(s->workloads[0].synth_yaml), "synthetic");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(workload::GenerateSynthetic(*again, 7), workload::GenerateSynthetic(s->workloads[0].synth, 7));

  std::string traced = kGood;
  traced.replace(traced.find("  - name: mixed\n"), 16, "  - name: mixed\n    transport: trace\n");
  auto t = Parse(traced, reg);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->workloads[0].transport, WorkloadEntry::Transport::kTrace);

  std::string bad = kGood;
  bad.replace(bad.find("  - name: mixed\n"), 16, "  - name: mixed\n    transport: carrier-pigeon\n");
  bad.replace(bad.find("    rtapp: video.json"), 21, "    rtapp: video.json\n    transport: generate");
  auto b = Parse(bad, reg);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("study.yaml:8: workloads[0].transport: unknown transport 'carrier-pigeon' (allowed: generate, trace)"));
  EXPECT_THAT(b.status().message(), HasSubstr("workloads[1].transport: an rt-app workload travels as a trace"));
}

TEST(SpecTest, WorkloadDigestCoversEveryField) {
  workload::SchedWorkload w;
  w.duration_ns = 1000;
  w.tasks.push_back({"t", 0, 0, 1, 0, false, "batch", {{workload::PhaseOp::kRun, 5, 0}}});
  const std::string base = WorkloadDigest(w);
  EXPECT_EQ(base.size(), 64u);
  auto changed = [&](auto mutate) {
    workload::SchedWorkload c = w;
    mutate(c);
    return WorkloadDigest(c) != base;
  };
  EXPECT_TRUE(changed([](auto& c) { c.duration_ns = 1001; }));
  EXPECT_TRUE(changed([](auto& c) { c.calibration_khz = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.calibration_cpu = "big"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].name = "u"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].nice = -1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].delay_ns = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].loops = -1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].cpu_mask = 2; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].periodic = true; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].kind = "x"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].op = workload::PhaseOp::kSleep; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].a = 6; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].b = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases.push_back({}); }));
}

TEST(SpecTest, CanonicalPlatformText) {
  workload::Platform p;
  p.name = "soc";
  p.description = "a";
  p.power_unit = "mW";
  workload::Cluster c;
  c.name = "little";
  c.cpus = 2;
  c.opps.push_back({500000, 512, 0.1, 20});
  c.idle_states.push_back({"wfi", 1, 2, 3, 4});
  p.clusters.push_back(c);
  const std::string text = CanonicalPlatformText(p);
  EXPECT_THAT(text, HasSubstr("platform name=3:soc power_unit=2:mW clusters=1\n"));
  EXPECT_THAT(text, HasSubstr("opp khz=500000 capacity=512 cpu_power=0.1 cluster_power=20\n"));
  EXPECT_THAT(text, HasSubstr("idle name=3:wfi cpu_power=1 cluster_power=2 exit_latency_ns=3 min_residency_ns=4\n"));
  workload::Platform doc = p;
  doc.description = "other words";
  doc.source = "elsewhere";
  EXPECT_EQ(CanonicalPlatformText(doc), text);  // documentation only
  workload::Platform power = p;
  power.clusters[0].opps[0].cpu_power = 0.1000000000000001;
  EXPECT_NE(CanonicalPlatformText(power), text);  // round-trip precision
}

TEST(SpecTest, RunKey) {
  const std::string k = ComputeRunKey("m", "1", "a=1", "pd", "wd", 7);
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k, ComputeRunKey("m", "1", "a=1", "pd", "wd", 7));
  std::set<std::string> keys = {k,
                                ComputeRunKey("n", "1", "a=1", "pd", "wd", 7),
                                ComputeRunKey("m", "2", "a=1", "pd", "wd", 7),
                                ComputeRunKey("m", "1", "a=2", "pd", "wd", 7),
                                ComputeRunKey("m", "1", "a=1", "pe", "wd", 7),
                                ComputeRunKey("m", "1", "a=1", "pd", "we", 7),
                                ComputeRunKey("m", "1", "a=1", "pd", "wd", 8),
                                // Field boundaries matter: ("m1", "") vs ("m", "1").
                                ComputeRunKey("m1", "", "a=1", "pd", "wd", 7)};
  EXPECT_EQ(keys.size(), 8u);
  // The layout, spelled out independently with the same primitives.
  Sha256 h;
  for (const char* f : {"kreplay.run_key.v1", "m", "1", "a=1", "pd", "wd"}) h.UpdateField(f);
  h.UpdateU64(7);
  EXPECT_EQ(k, h.HexDigest());
}

}  // namespace
}  // namespace kreplay::spec
